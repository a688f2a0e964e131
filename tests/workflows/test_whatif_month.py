"""A seeded month, replayed under the policy in force and a proposed one (issue 17).

The month's complaints run through the real workflow (bench/whatif.py `record`: time-skipping server) with
known staff timings, their ledger writes go into real PostgreSQL, and the what-if reads them back. What the
replay must find is computed here from the timings alone, by arithmetic on the standard policy's numbers
(docs/rules.md) — never by calling the replay: all timings are business minutes after the moment received.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from bench.whatif import MONTH_END, MONTH_START, SH, Script, month_scripts, proposed_policy, record, seed
from desk import whatif as whatif_cli
from domain.models import Tier
from domain.whatif import Side, Staffing, in_force, what_if
from ledger.whatif import period
from ui import whatif_report

# The standard policy's windows (minutes) — and the proposal: important resolution 12 h instead of 24 h.
FIRST_RESPONSE, SUPERVISOR_ACK, ASSIGNMENT, PLAN, HANDLING = 5, 15, 30, 120, 240
RESOLUTION = {Tier.GENERAL: 24 * 60, Tier.IMPORTANT: 24 * 60, Tier.URGENT: 4 * 60}
RESULT_FEEDBACK = 24 * 60


def expected_breaches(s: Script, important_resolution: int) -> list[str]:
    out = []
    if s.ack > FIRST_RESPONSE:
        out.append("first_response")
    if s.tier != Tier.GENERAL and s.ack > SUPERVISOR_ACK:
        out.append("supervisor_ack")
    if s.tier == Tier.GENERAL:
        out += ["assignment"] if s.assign > ASSIGNMENT else []
        out += ["preliminary_plan"] if s.plan - s.assign > PLAN else []
    if s.tier == Tier.URGENT and s.plan > PLAN:
        out.append("preliminary_plan")
    if s.tier == Tier.IMPORTANT:
        out += ["handling_start"] if s.handling > HANDLING else []
        out += ["result_feedback"] if s.resolve - s.work_done > RESULT_FEEDBACK else []
    window = important_resolution if s.tier == Tier.IMPORTANT else RESOLUTION[s.tier]
    out += ["resolution"] if s.resolve > window else []
    return out


def expected(scripts: list[Script], important_resolution: int) -> Counter[tuple[str, str]]:
    return Counter(
        (name, s.tier.value) for s in scripts for name in expected_breaches(s, important_resolution)
    )


def found(side: Side) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for (name, tier, _dept, _hour), n in side.breaches.items():
        out[(name, tier)] += n
    return out


def automatic(scripts: list[Script]) -> dict[str, int]:
    """Reports the system writes when staff post none: important every 2 h from handling until work done,
    urgent customer updates every 30 min from intake until the result (a moment on the result's own second
    comes first: the action was recorded to the second, so it came in a fraction later)."""
    reports = sum(len(range(120, s.work_done - s.handling, 120)) for s in scripts if s.tier == Tier.IMPORTANT)
    updates = sum(s.resolve // 30 for s in scripts if s.tier == Tier.URGENT)
    return {"progress_report": reports, "customer_update": updates}


async def test_a_seeded_month_gives_the_breaches_its_timings_imply_under_both_policies(
    ledger_pool, ledger_url, tmp_path: Path
) -> None:
    scripts = month_scripts(15, seed=5)
    await seed(ledger_pool, await record(scripts))
    records = await period(ledger_pool, MONTH_START, MONTH_END)
    assert len(records) == len(scripts)

    report = what_if(
        records,
        proposed_policy(),
        in_force,
        start=MONTH_START.date(),
        end=(MONTH_END - timedelta(days=1)).date(),
        as_of=datetime(2026, 12, 31, tzinfo=SH),
        staffing=Staffing(faster=0.5),
        staff_steps=2,
    )
    now, proposed, faster = report.sides
    assert report.calibration.mismatches == [], "\n".join(map(str, report.calibration.mismatches))
    assert report.calibration.share == 1.0 and report.calibration.total > 100

    want_now, want_proposed = expected(scripts, 24 * 60), expected(scripts, 12 * 60)
    assert want_proposed != want_now  # the month does tell the two policies apart
    assert found(now) == want_now
    assert found(proposed) == want_proposed
    assert dict(now.automatic) == automatic(scripts) == dict(proposed.automatic)
    half = [
        Script(
            s.tier,
            s.received,
            *(v / 2 for v in (s.ack, s.assign, s.plan, s.handling, s.work_done, s.resolve)),
        )
        for s in scripts
    ]
    assert faster.breach_total <= proposed.breach_total
    assert found(faster)[("first_response", "general")] == sum(
        1 for s in half if s.tier == Tier.GENERAL and s.ack > FIRST_RESPONSE
    )

    # The CSV says the same, read back.
    rows = list(csv.DictReader(io.StringIO(whatif_report.csv_text(report))))
    breaches = Counter()
    for r in rows:
        if r["measure"] == "breaches":
            breaches[(r["obligation"], r["tier"])] += int(r["proposed"])
            assert int(r["difference"]) == int(r["proposed"]) - int(r["in force"])
    assert breaches == want_proposed
    share = next(r for r in rows if r["measure"] == "calibration_share")
    assert float(share["in force"]) == 1.0

    # The command writes the same report to files.
    yaml_file = tmp_path / "proposed.json"
    yaml_file.write_text(proposed_policy().model_dump_json(), encoding="utf-8")
    out = tmp_path / "report"
    code = await _cli(
        [
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--policy",
            str(yaml_file),
            "--out",
            str(out),
            "--database-url",
            ledger_url,
            "--extra-staff",
            "2",
            "--locale",
            "en",
            "--against",
            "standard",
        ]
    )
    assert code == 0
    written = list(csv.DictReader(io.StringIO((out / "what-if.csv").read_text(encoding="utf-8"))))
    assert sum(int(r["proposed"]) for r in written if r["measure"] == "breaches") == sum(
        want_proposed.values()
    )
    assert sum(int(r["standard"]) for r in written if r["measure"] == "breaches") == sum(want_now.values())
    cal_row = next(r for r in written if r["measure"] == "calibration_share")
    assert float(cal_row["standard"]) == 1.0  # calibrated on the policy in force, whatever the comparison
    html = (out / "what-if.html").read_text(encoding="utf-8")
    assert "<svg" in html and "Calibration" in html


async def _cli(argv: list[str]) -> int:
    """`desk what-if` in a thread: it runs its own event loop."""
    return await asyncio.to_thread(whatif_cli.main, argv)
