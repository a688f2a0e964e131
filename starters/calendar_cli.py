"""`desk calendar`: the business calendar from the command line.

    desk calendar show                      where the holidays come from, the newest announced year, gaps,
                                            the stored corrections and the calendar file's
    desk calendar import FILE.ics [--calendar CN] [--dry-run]
                                            an iCal holiday feed: which open complaints' deadlines move,
                                            then stored and sent to every open complaint (unless --dry-run)

Exit code 0 on success, 1 when the file is refused (the reason is printed), 2 when the database or
Temporal cannot be reached.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from activities import calendar_store
from core.db import create_pool
from core.settings import Settings
from core.temporal import connect
from domain.calendar_edits import CalendarEdits, CalendarFileError, parse_ics
from domain.public_holidays import last_confirmed_year, library_version
from starters.calendars import CalendarBook


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desk calendar", description="The business calendar.")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("show", help="holiday data, unconfirmed years, corrections")
    imp = sub.add_parser("import", help="import an iCal (.ics) holiday feed")
    imp.add_argument("file", type=Path)
    imp.add_argument("--calendar", default="CN", help="a region (CN, HK) or a calendar name (warehouse)")
    imp.add_argument("--dry-run", action="store_true", help="only show which deadlines would move")
    return parser


def _say(line: str) -> None:
    print(line, flush=True)


async def show(settings: Settings, pool: asyncpg.Pool | None) -> int:
    book = CalendarBook(settings, pool)
    _say(f"holidays: {library_version()}, announced PRC schedules up to {last_confirmed_year('CN')}")
    for gap in await book.gaps(datetime.now(UTC).date()):
        _say(f"warning: {gap.message()}")
    edits = await book.edits()
    for e in edits.days:
        _say(f"{e.calendar}\t{e.day.isoformat()}\t{e.kind}\t{e.note}\t({e.source})")
    for c in edits.confirmed:
        _say(f"{c.calendar}\t{c.year}\tconfirmed\t{c.note}")
    return 0


async def import_ics(settings: Settings, pool: asyncpg.Pool, args: argparse.Namespace) -> int:
    try:
        raw = args.file.read_bytes()
        days = parse_ics(raw, calendar=args.calendar, source=f"ics:{args.file.name}")
    except OSError as e:
        _say(f"{args.file}: {e.strerror or e}")
        return 1
    except CalendarFileError as e:
        _say(f"{args.file}: {e}")
        return 1
    book = CalendarBook(settings, pool)
    now = datetime.now(UTC)
    moved = await book.preview((await book.edits()).plus(CalendarEdits(days=days)), now)
    _say(f"{len(days)} days in {args.file.name} for {args.calendar}")
    for m in moved:
        _say(
            f"moves: {m.complaint_id} {m.obligation.value} {m.due_at.isoformat()} → {m.new_due_at.isoformat()}"
        )
    if not moved:
        _say("no open complaint's deadline moves")
    if args.dry_run:
        return 0
    await calendar_store.put_days(pool, days)
    reached = await book.push(await connect(settings), now, f"ics import {args.file.name}")
    _say(f"stored; sent to {reached} open complaints")
    return 0


async def main(argv: list[str], settings: Settings | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings or Settings()
    if not settings.database_url:
        if args.action == "show":
            return await show(settings, None)
        print("desk calendar: DESK_DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        pool = await create_pool(settings.database_url)
    except (OSError, asyncpg.PostgresError) as e:
        print(f"desk calendar: the database cannot be reached: {e}", file=sys.stderr)
        return 2
    try:
        if args.action == "show":
            return await show(settings, pool)
        return await import_ics(settings, pool, args)
    except CalendarFileError as e:
        print(f"desk calendar: {e}", file=sys.stderr)
        return 1
    finally:
        await pool.close()
