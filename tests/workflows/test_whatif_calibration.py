"""The what-if replay reproduces what real complaints recorded (issue 17, calibration).

Complaints of every tier run through the real workflow on the time-skipping server; what the workflow asked
the ledger to write goes into real PostgreSQL through `ledger.writes.write_batch`; the what-if reads the
period back (`ledger.whatif.period`) and replays it under the policy in force. Every obligation row the
workflow recorded — met, met late, breached, waived, with its moments — must come out of the replay.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain import actions as act
from domain.models import Actor, Category, ComplaintType, Department, Role, Tier
from domain.policy import preset
from domain.whatif import in_force, what_if
from ledger.whatif import period
from ledger.writes import write_batch
from tests.workflows.harness import ENGINEER, HEAD, LOGISTICS, SPECIALIST, SUPERVISOR, Complaint, Desk

SH = ZoneInfo("Asia/Shanghai")
M, H = timedelta(minutes=1), timedelta(hours=1)
SENIOR = Actor(id="senior-1", role=Role.SENIOR_SUPERVISOR)


async def _at(c: Complaint, offset: timedelta, update: str, arg: object) -> None:
    await c.until(offset)
    await c.do(update, arg)


async def _general_late_assignment(desk: Desk) -> None:
    c = await desk.start(tier=Tier.GENERAL, at=datetime(2026, 11, 2, 9, 0, tzinfo=SH))
    await _at(c, 3 * M, act.UPDATE_ACKNOWLEDGE, act.Acknowledge(actor=SPECIALIST))
    await _at(c, 41 * M, act.UPDATE_ASSIGN, act.Assign(actor=SPECIALIST, departments=[Department.TECHNICAL]))
    await _at(c, 90 * M, act.UPDATE_PROPOSE_PLAN, act.ProposePlan(actor=ENGINEER, plan="换货"))
    await _at(c, 5 * H, act.UPDATE_RESOLVE, act.Resolve(actor=SPECIALIST, cause="破损", solution="已换货"))
    await _at(c, 6 * H, act.UPDATE_RATE, act.Rate(score=5))


async def _important_reopened(desk: Desk) -> None:
    c = await desk.start(
        tier=Tier.IMPORTANT, classified_by="staff", at=datetime(2026, 11, 3, 14, 0, tzinfo=SH)
    )
    await _at(c, 2 * M, act.UPDATE_ACKNOWLEDGE, act.Acknowledge(actor=SPECIALIST))
    await _at(c, 20 * M, act.UPDATE_ACKNOWLEDGE, act.Acknowledge(actor=SUPERVISOR))
    await _at(c, 30 * M, act.UPDATE_ASSIGN, act.Assign(actor=SUPERVISOR, departments=[Department.TECHNICAL]))
    await _at(c, 1 * H, act.UPDATE_START_HANDLING, act.StaffAction(actor=ENGINEER))
    await _at(c, 5 * H, act.UPDATE_PROGRESS, act.PostProgress(actor=ENGINEER, message="检测中"))
    await _at(c, 20 * H, act.UPDATE_WORK_DONE, act.WorkDone(actor=ENGINEER, summary="修好了"))
    await _at(c, 21 * H, act.UPDATE_RESOLVE, act.Resolve(actor=SUPERVISOR, cause="故障", solution="维修"))
    await _at(c, 22 * H, act.UPDATE_RATE, act.Rate(score=2, demand="要退款"))
    await _at(c, 60 * H, act.UPDATE_RESOLVE, act.Resolve(actor=SENIOR, cause="故障", solution="退款"))
    await _at(c, 61 * H, act.UPDATE_RATE, act.Rate(score=5))


async def _urgent_waits_unrated(desk: Desk) -> None:
    c = await desk.start(tier=Tier.URGENT, classified_by="staff", at=datetime(2026, 11, 7, 22, 0, tzinfo=SH))
    await _at(c, 9 * M, act.UPDATE_ACKNOWLEDGE, act.Acknowledge(actor=SUPERVISOR))
    await _at(c, 50 * M, act.UPDATE_WAIT, act.WaitOnCustomer(actor=SUPERVISOR, reason="等照片"))
    await _at(c, 3 * H, act.UPDATE_RESUME, act.Resume(actor=SUPERVISOR))
    await _at(c, 6 * H, act.UPDATE_RESOLVE, act.Resolve(actor=SUPERVISOR, cause="错发", solution="补发"))
    await c.until(6 * H + 73 * H)  # no rating: the survey window closes it


async def _consultation_reclassified(desk: Desk) -> None:
    c = await desk.start(
        tier=Tier.GENERAL,
        complaint_type=ComplaintType.CONSULTATION,
        category=Category.OTHER,
        at=datetime(2026, 11, 10, 10, 0, tzinfo=SH),
    )
    await _at(
        c,
        4 * M,
        act.UPDATE_CLASSIFY,
        act.Classify(actor=SUPERVISOR, tier=Tier.IMPORTANT, complaint_type=ComplaintType.COMPLAINT),
    )
    await _at(c, 30 * M, act.UPDATE_ACKNOWLEDGE, act.Acknowledge(actor=SUPERVISOR))
    await _at(c, 26 * H, act.UPDATE_RESOLVE, act.Resolve(actor=SUPERVISOR, cause="说明", solution="已解释"))
    await _at(c, 27 * H, act.UPDATE_RATE, act.Rate(score=4))


async def _lost_goods_one_department_late(desk: Desk) -> None:
    """A joint investigation: two departments report in time, delivery's report breaches and comes late."""
    c = await desk.start(
        tier=Tier.IMPORTANT,
        category=Category.LOST,
        order_number="SF0000001",
        at=datetime(2026, 11, 16, 9, 0, tzinfo=SH),
    )
    await _at(c, 1 * M, act.UPDATE_ACKNOWLEDGE, act.Acknowledge(actor=SUPERVISOR))
    await _at(c, 20 * M, act.UPDATE_ASSIGN, act.Assign(actor=SPECIALIST, departments=[Department.WAREHOUSE]))
    await _at(c, 1 * H, act.UPDATE_START_HANDLING, act.StaffAction(actor=LOGISTICS))
    report = act.DepartmentReport(actor=LOGISTICS, department=Department.WAREHOUSE, findings="出库正常")
    await _at(c, 70 * M, act.UPDATE_DEPARTMENT_REPORT, report)
    report = act.DepartmentReport(actor=LOGISTICS, department=Department.TRANSPORT, findings="扫描缺失")
    await _at(c, 2 * H, act.UPDATE_DEPARTMENT_REPORT, report)
    report = act.DepartmentReport(actor=HEAD, department=Department.DELIVERY, findings="误投")
    await _at(c, 5 * H, act.UPDATE_DEPARTMENT_REPORT, report)
    await _at(c, 6 * H, act.UPDATE_RESOLVE, act.Resolve(actor=SPECIALIST, cause="误投", solution="已找回"))
    await _at(c, 7 * H, act.UPDATE_RATE, act.Rate(score=5))


async def test_the_replay_under_the_policy_in_force_reproduces_every_recorded_obligation(
    desk: Desk, ledger_pool
) -> None:
    for script in (
        _lost_goods_one_department_late,
        _general_late_assignment,
        _important_reopened,
        _urgent_waits_unrated,
        _consultation_reclassified,
    ):
        await script(desk)
    async with ledger_pool.acquire() as conn:
        for batch in desk.world.ledger:
            await write_batch(conn, batch)

    start, end = datetime(2026, 11, 1, tzinfo=SH), datetime(2026, 12, 1, tzinfo=SH)
    records = await period(ledger_pool, start, end)
    assert len(records) == 5
    statuses = {o.status for r in records for o in r.outcomes.values()}
    assert {"met", "met_late", "breached", "waived"} <= statuses, statuses  # the record has every kind
    late = [o for r in records for k, o in r.outcomes.items() if k == ("department_report", 1, "delivery")]
    assert [(o.status, o.breached_at is not None) for o in late] == [("met_late", True)]

    report = what_if(
        records,
        preset("standard"),
        in_force,
        start=start.date(),
        end=end.date(),
        as_of=datetime(2026, 12, 5, tzinfo=SH),
        staff_steps=0,
    )
    cal = report.calibration
    assert cal.total >= 30
    assert cal.mismatches == [], "\n".join(map(str, cal.mismatches))
    assert cal.share == 1.0

    # The check can fail: replayed under another policy than the one in force, the record is not reproduced.
    other = what_if(
        records,
        preset("standard"),
        in_force,
        start=start.date(),
        end=end.date(),
        as_of=datetime(2026, 12, 5, tzinfo=SH),
        in_force=lambda _name: preset("after-sales"),
        staff_steps=0,
    )
    assert other.calibration.mismatches and other.calibration.share < 1.0
