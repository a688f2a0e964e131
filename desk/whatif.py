"""`desk what-if`: last period's complaints from the ledger, replayed under a proposed policy (docs/what-if.md).

    desk what-if --from 2026-11-01 --to 2026-11-30 --policy proposed.yaml [--against standard]
                 [--faster 20%] [--extra-staff N] [--out DIR] [--locale en]

Writes DIR/what-if.html and DIR/what-if.csv and prints the totals and the calibration share.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.db import create_pool
from core.settings import Settings
from domain.policy import load_policy
from domain.whatif import LOCAL, Staffing, WhatIf, against_policy, in_force, percent, what_if
from ledger.whatif import period
from ui import whatif_report


def _day(text: str) -> date:
    return date.fromisoformat(text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="desk what-if", description=__doc__.split("\n\n")[0])
    p.add_argument("--from", dest="start", type=_day, required=True, help="first day (local), YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=_day, required=True, help="last day, included")
    p.add_argument("--policy", required=True, help="the proposed policy: a .yaml/.json file or a preset name")
    p.add_argument("--against", default=None, help="a preset to compare with (default: the policy in force)")
    p.add_argument("--faster", type=percent, default=0.0, help="staff actions this much sooner, e.g. 20%%")
    p.add_argument("--extra-staff", type=int, default=0, help="people added to every shift")
    p.add_argument("--out", type=Path, default=Path("what-if"), help="folder for what-if.html and .csv")
    p.add_argument("--locale", default="zh-CN", help="report language: zh-CN or en")
    p.add_argument("--database-url", default=None, help="default: DESK_DATABASE_URL")
    return p


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Local days [start, end] as moments [from, to)."""
    return (
        datetime.combine(start, time(0), LOCAL).astimezone(UTC),
        datetime.combine(end + timedelta(days=1), time(0), LOCAL).astimezone(UTC),
    )


async def run(args: argparse.Namespace, console: Console) -> WhatIf:
    proposed = load_policy(args.policy)
    against, label = against_policy(args.against)
    start, end = bounds(args.start, args.end)
    pool = await create_pool(args.database_url or Settings().database_url, min_size=1, max_size=2)
    try:
        records = await period(pool, start, end)
    finally:
        await pool.close()
    staffing = Staffing(faster=args.faster, extra_staff=args.extra_staff)
    with Progress(
        TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("replay", total=len(records))
        return what_if(
            records,
            proposed,
            against,
            start=args.start,
            end=args.end,
            as_of=datetime.now(UTC),
            against_label=label,
            staffing=staffing,
            in_force=in_force,
            progress=lambda n: bar.update(task, completed=n),
        )


def main(argv: Sequence[str]) -> int:
    p = parser()
    args = p.parse_args(list(argv))
    if args.end < args.start:
        p.error("--to: before --from")
    if args.extra_staff < 0:
        p.error("--extra-staff: not below 0")
    console = Console(stderr=True)
    try:
        report = asyncio.run(run(args, console))
    except (KeyError, ValueError, OSError) as e:
        print(f"desk what-if: {e}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "what-if.html").write_text(whatif_report.page(report, args.locale), encoding="utf-8")
    (args.out / "what-if.csv").write_text(whatif_report.csv_text(report), encoding="utf-8")
    cal = report.calibration
    for s in report.sides:
        print(f"{s.label}: {s.breach_total} breaches, {s.warning_total} warnings")
    share = f"{cal.share:.1%}" if cal.share is not None else "—"
    print(f"calibration: {cal.reproduced}/{cal.total} obligations reproduced ({share})")
    print(f"report: {args.out / 'what-if.html'}, {args.out / 'what-if.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
