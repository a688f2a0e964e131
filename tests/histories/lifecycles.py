"""Typical complaint lives, scripted once: recorded for replay (record.py) and counted (test_history_budget).

Each takes a Desk (tests/workflows/harness.py) and returns the finished (or, for the investigation, the
resolved) complaint. Actions happen between timer moments, never exactly on one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from domain import actions as a
from domain.calendar import SIGNAL_CALENDARS_CHANGED, CalendarChange
from domain.calendar_edits import CalendarEdits, DayEdit, YearConfirmed, resolve_calendars
from domain.models import Category, Channel, ComplaintType, Department, Tier
from domain.policy import preset
from tests.workflows.harness import (
    ENGINEER,
    HEAD,
    LOGISTICS,
    SENIOR,
    SH,
    SPECIALIST,
    SUPERVISOR,
    Complaint,
    Desk,
)

M, H = timedelta(minutes=1), timedelta(hours=1)


async def general_consultation(desk: Desk) -> Complaint:
    c = await desk.start(
        tier=Tier.GENERAL, complaint_type=ComplaintType.CONSULTATION, description="发票怎么开?"
    )
    await c.until(3 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST, message="您好"))
    await c.until(8 * M)
    await c.do(a.UPDATE_ANSWER, a.AnswerDirectly(actor=SPECIALIST, answer="在订单页申请电子发票"))
    await c.until(40 * M)
    await c.do(a.UPDATE_RATE, a.Rate(score=5))
    await c.result()
    return c


async def general_complaint(desk: Desk) -> Complaint:
    c = await desk.start(tier=Tier.GENERAL, category=Category.QUALITY)
    await c.until(2 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.until(20 * M)
    await c.do(
        a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.TECHNICAL], assignees=["eng-1"])
    )
    await c.until(70 * M)
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=ENGINEER, plan="上门检修"))
    await c.until(95 * M)
    await c.do(a.UPDATE_START_HANDLING, a.StaffAction(actor=ENGINEER))
    await c.until(5 * H)
    await c.do(a.UPDATE_WORK_DONE, a.WorkDone(actor=ENGINEER, summary="已修复"))
    await c.until(5 * H + 10 * M)
    await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="零件老化", solution="更换零件"))
    await c.until(26 * H)
    await c.do(a.UPDATE_RATE, a.Rate(score=4))
    await c.result()
    return c


async def important_complaint(desk: Desk) -> Complaint:
    c = await desk.start(tier=Tier.IMPORTANT, category=Category.DELAYED, order_number="SF1234567890")
    await c.until(3 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.until(10 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    await c.until(30 * M)
    await c.do(
        a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.LOGISTICS], assignees=["log-1"])
    )
    await c.until(65 * M)
    await c.do(a.UPDATE_START_HANDLING, a.StaffAction(actor=LOGISTICS))
    await c.until(4 * H)
    await c.do(a.UPDATE_PROGRESS, a.PostProgress(actor=LOGISTICS, message="已定位包裹", to_customer=True))
    await c.until(7 * H + 30 * M)  # automatic reports at 3:05 and then from 4:00 at 6:00
    await c.do(a.UPDATE_WORK_DONE, a.WorkDone(actor=LOGISTICS, summary="已送达"))
    await c.until(8 * H)
    await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="中转延误", solution="已送达并致歉"))
    await c.until(30 * H)
    await c.do(a.UPDATE_RATE, a.Rate(score=5))
    await c.result()
    return c


async def urgent_complaint(desk: Desk) -> Complaint:
    c = await desk.start(tier=Tier.URGENT, category=Category.SPOILED, order_number="SF5550001")
    await c.until(2 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.until(9 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR, note="应急小组成立"))
    await c.until(20 * M)
    await c.do(a.UPDATE_ASSIGN, a.Assign(actor=SUPERVISOR, departments=[Department.WAREHOUSE]))
    await c.until(50 * M)
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=SUPERVISOR, plan="补发新鲜货物", compensation=200))
    await c.do(a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))
    await c.until(2 * H + 15 * M)  # customer updates at 0:30, 1:00, 1:30, 2:00
    await c.do(
        a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="冷链中断", solution="已补发", compensation=200)
    )
    await c.until(3 * H)
    await c.do(a.UPDATE_RATE, a.Rate(score=5))
    await c.result()
    return c


async def urgent_reopened(desk: Desk) -> Complaint:
    c = await desk.start(tier=Tier.URGENT, category=Category.SPOILED)
    await c.until(2 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    await c.until(40 * M)
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=SUPERVISOR, plan="补发"))
    await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SUPERVISOR, cause="冷链中断", solution="已补发"))
    await c.until(50 * M)
    await c.do(a.UPDATE_RATE, a.Rate(score=2, demand="全额退款"))
    await c.until(100 * M)
    await c.do(a.UPDATE_WAIT, a.WaitOnCustomer(actor=SENIOR, reason="等待退款账户"))
    await c.until(5 * H)
    await c.do(a.UPDATE_RESUME, a.Resume(actor=SENIOR))
    await c.do(
        a.UPDATE_RESOLVE, a.Resolve(actor=SENIOR, cause="冷链中断", solution="全额退款", compensation=300)
    )
    await c.do(a.UPDATE_RATE, a.Rate(score=5))
    await c.result()
    return c


async def lost_goods_investigation(desk: Desk) -> Complaint:
    """Joint investigation with a late department (escalated to its head), then a supervisor's override."""
    c = await desk.start(tier=Tier.IMPORTANT, category=Category.LOST, order_number="SF0000001")
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    await c.until(20 * M)
    await c.do(a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.WAREHOUSE]))
    await c.until(1 * H)
    await c.do(a.UPDATE_START_HANDLING, a.StaffAction(actor=LOGISTICS))
    await c.do(
        a.UPDATE_DEPARTMENT_REPORT,
        a.DepartmentReport(actor=HEAD, department=Department.WAREHOUSE, findings="正常"),
    )
    await c.do(
        a.UPDATE_DEPARTMENT_REPORT,
        a.DepartmentReport(actor=HEAD, department=Department.TRANSPORT, findings="缺扫"),
    )
    await c.until(4 * H + 30 * M)
    await c.do(
        a.UPDATE_OVERRIDE_INVESTIGATION, a.OverrideInvestigation(actor=SUPERVISOR, reason="派送部门未回复")
    )
    await c.do(
        a.UPDATE_RESOLVE, a.Resolve(actor=SUPERVISOR, cause="运输丢失", solution="全额赔付", compensation=800)
    )
    await c.do(a.UPDATE_RATE, a.Rate(score=4))
    await c.result()
    return c


async def continued_as_new(desk: Desk) -> Complaint:
    c = await desk.start(tier=Tier.URGENT, history_limit=100)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    for i in range(4):
        await c.until((i + 1) * 7 * M)
        await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SENIOR, cause="c", solution=f"方案{i}"))
        await c.do(a.UPDATE_RATE, a.Rate(score=1, demand="不满意"))
    await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SENIOR, cause="c", solution="最终方案"))
    await c.do(a.UPDATE_RATE, a.Rate(score=5))
    await c.result()
    return c


async def calendar_changed(desk: Desk) -> Complaint:
    """Filed before the 2027 Spring Festival on the days intake resolved (statutory days by rule); the
    announced schedule arrives as a calendar change and the resolution clock re-plans (issue 13)."""
    filed = datetime(2027, 2, 4, 17, tzinfo=SH)
    policy = preset("standard")
    c = await desk.start(
        tier=Tier.GENERAL, at=filed, calendars=resolve_calendars(policy, filed, CalendarEdits())
    )
    await c.until(2 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    announced = CalendarEdits(
        days=[DayEdit(day=date(2027, 2, d), kind="holiday") for d in range(11, 14)],
        confirmed=[YearConfirmed(year=2027)],
    )
    change = CalendarChange(calendars=resolve_calendars(policy, filed, announced), reason="announced")
    await c.handle.signal(SIGNAL_CALENDARS_CHANGED, change)
    await c.until(3 * M)
    await c.do(
        a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.TECHNICAL], assignees=["eng-1"])
    )
    await c.until(10 * M)
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=ENGINEER, plan="节后补发"))
    await c.until(11 * 24 * H)
    await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="漏发", solution="补发"))
    await c.until(11 * 24 * H + 30 * M)
    await c.do(a.UPDATE_RATE, a.Rate(score=5))
    await c.result()
    return c


TYPICAL: dict[str, Callable[[Desk], Awaitable[Complaint]]] = {
    "general_consultation": general_consultation,
    "general_complaint": general_complaint,
    "important_complaint": important_complaint,
    "urgent_complaint": urgent_complaint,
}


async def urgent_conversation(desk: Desk) -> Complaint:
    """The conversation's Updates, an untouched stretch (automatic updates without progress, alerted) and a
    plan with a compensation sent once after approval: the code paths behind this branch's patches."""
    c = await desk.start(tier=Tier.URGENT, category=Category.DAMAGED)
    await c.until(70 * M)  # nobody acts: updates at 0:30 and 1:00 say where it stands, the supervisor is told
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    await c.do(a.UPDATE_NOTE, a.AddNote(actor=SUPERVISOR, note="客户很着急"))
    await c.do(a.UPDATE_REPLY, a.ReplyToCustomer(actor=SUPERVISOR, message="请发来破损照片。"))
    await c.do(a.UPDATE_WAIT, a.WaitOnCustomer(actor=SUPERVISOR, reason="等待照片"))
    await c.until(80 * M)
    await c.do(
        a.UPDATE_CUSTOMER_MESSAGE,
        a.CustomerMessage(channel=Channel.WEB, message="照片已上传", received_at=c.at.isoformat()),
    )
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=SUPERVISOR, plan="补发", compensation=50))
    await c.do(a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))
    await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SUPERVISOR, cause="运输挤压", solution="已补发"))
    await c.until(90 * M)
    await c.do(a.UPDATE_RATE, a.Rate(score=5))
    await c.result()
    return c


ALL: dict[str, Callable[[Desk], Awaitable[Complaint]]] = {
    **TYPICAL,
    "urgent_reopened": urgent_reopened,
    "lost_goods_investigation": lost_goods_investigation,
    "continued_as_new": continued_as_new,
    "calendar_changed": calendar_changed,
    "urgent_conversation": urgent_conversation,
}
