"""Whole lives of complaints, one per tier, on the time-skipping server with recording fakes."""

from __future__ import annotations

from datetime import timedelta

from domain import actions as a
from domain.messages import Audience, TemplateKey
from domain.models import (
    Category,
    ComplaintType,
    Department,
    ObligationName,
    ObligationStatus,
    Role,
    State,
    Tier,
)
from tests.workflows.harness import ENGINEER, LOGISTICS, MONDAY_9, SENIOR, SPECIALIST, SUPERVISOR, Desk

N, S = ObligationName, ObligationStatus
M, H = timedelta(minutes=1), timedelta(hours=1)


def statuses(view) -> dict[str, str]:
    """The newest occurrence of each obligation → its status."""
    out: dict[str, tuple[int, str]] = {}
    for o in view.obligations:
        key = o.name.value + (f":{o.department.value}" if o.department else "")
        if key not in out or o.occurrence >= out[key][0]:
            out[key] = (o.occurrence, o.status.value)
    return {k: v for k, (_, v) in out.items()}


async def test_general_consultation_answered_directly_then_rated_closes(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL, complaint_type=ComplaintType.CONSULTATION)
    view = await c.view()
    assert view.state == State.RECEIVED
    assert statuses(view) == {
        "first_response": "open",
        "direct_answer": "open",
        "assignment": "open",
        "resolution": "open",
    }
    # B §4: the confirmation with number, status link and promised times goes out at once.
    [conf] = desk.world.sent(TemplateKey.CONFIRMATION, Audience.CUSTOMER, c.id)
    assert conf.context["status_token"] == c.input.status_token
    assert set(conf.context["promised"]) >= {"first_response", "direct_answer", "resolution"}

    await c.until(3 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST, message="您好,我们正在查看"))
    await c.until(8 * M)
    res = await c.do(a.UPDATE_ANSWER, a.AnswerDirectly(actor=SPECIALIST, answer="发票将在三个工作日内寄出"))
    assert res.state == State.ANSWERED.value and res.next_due == N.RATING

    view = await c.view()
    assert statuses(view) | {} == {
        "first_response": "met",
        "direct_answer": "met",
        "assignment": "waived",
        "resolution": "met",
        "rating": "open",
    }
    assert desk.world.sent(TemplateKey.ANSWER, Audience.CUSTOMER, c.id)
    assert desk.world.sent(TemplateKey.RATING_REQUEST, Audience.CUSTOMER, c.id)

    await c.until(20 * M)
    res = await c.do(a.UPDATE_RATE, a.Rate(score=5, comment="很快"))
    assert res.state == State.CLOSED.value
    final = await c.result()
    assert final.state == State.CLOSED and final.ratings[0].score == 5 and final.breach_count == 0
    assert final.closed_at is not None
    assert desk.world.sent(TemplateKey.CLOSED, Audience.CUSTOMER, c.id)


async def test_general_complaint_assigned_planned_resolved(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL, complaint_type=ComplaintType.COMPLAINT)
    assert "direct_answer" not in statuses(await c.view())
    await c.until(2 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.until(20 * M)
    res = await c.do(
        a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.TECHNICAL], assignees=["eng-1"])
    )
    assert res.state == State.ASSIGNED.value
    plan = await c.obligation(N.PRELIMINARY_PLAN)
    assert plan.due_at == MONDAY_9 + 20 * M + 2 * H  # A §3.2: 2 h from the assignment
    [assignment] = desk.world.sent(TemplateKey.ASSIGNMENT, Audience.STAFF, c.id)
    assert assignment.departments == [Department.TECHNICAL] and assignment.staff_ids == ["eng-1"]

    await c.until(1 * H)
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=ENGINEER, plan="更换配件"))
    await c.until(90 * M)
    await c.do(a.UPDATE_START_HANDLING, a.StaffAction(actor=ENGINEER))
    await c.until(5 * H)
    await c.do(a.UPDATE_WORK_DONE, a.WorkDone(actor=ENGINEER, summary="配件已更换"))
    await c.until(5 * H + 10 * M)
    res = await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="配件松动", solution="已更换配件"))
    assert res.state == State.AWAITING_RATING.value
    view = await c.view()
    assert statuses(view) == {
        "first_response": "met",
        "assignment": "met",
        "preliminary_plan": "met",
        "resolution": "met",
        "rating": "open",
    }
    [result] = desk.world.sent(TemplateKey.RESULT, Audience.CUSTOMER, c.id)
    assert result.context["cause"] == "配件松动" and result.context["solution"] == "已更换配件"
    await c.do(a.UPDATE_RATE, a.Rate(score=4))
    final = await c.result()
    assert final.state == State.CLOSED and final.breach_count == 0
    kinds = [e.kind for e in desk.world.events(c.id)]
    for kind in (
        "received",
        "acknowledged",
        "assigned",
        "plan_proposed",
        "handling_started",
        "work_done",
        "resolved",
        "rated",
        "closed",
    ):
        assert kind in kinds


async def test_important_complaint_with_supervisor_ack_reports_and_result_feedback(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT, category=Category.DELAYED, order_number="SF1234567890")
    [alert] = desk.world.sent(TemplateKey.NEW_COMPLAINT, Audience.STAFF, c.id)
    assert Role.SUPERVISOR in alert.roles  # A §3.2: the supervisor hears of it at intake
    assert statuses(await c.view())["supervisor_ack"] == "open"

    await c.until(3 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    assert statuses(await c.view())["supervisor_ack"] == "open"  # a specialist's ack is not the supervisor's
    await c.until(10 * M)
    res = await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR, note="开会处理"))
    assert "Supervisor" in res.message
    assert statuses(await c.view())["supervisor_ack"] == "met"

    await c.until(30 * M)
    await c.do(
        a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.LOGISTICS], assignees=["log-1"])
    )
    # B §2.3: the parcel trail is linked at intake and again when logistics takes it.
    assert [t.waybill for t in desk.world.tracking if t.complaint_id == c.id] == [
        "SF1234567890",
        "SF1234567890",
    ]
    assert (await c.view()).tracking.found

    await c.until(1 * H)
    await c.do(a.UPDATE_START_HANDLING, a.StaffAction(actor=LOGISTICS))
    report = await c.obligation(N.PROGRESS_REPORT)
    assert report.due_at == MONDAY_9 + 3 * H and statuses(await c.view())["handling_start"] == "met"

    # Every 2 h while handled the system reports to the supervisor from the complaint's state.
    await c.until(3 * H + 1 * M)
    [auto] = desk.world.sent(TemplateKey.PROGRESS_REPORT, Audience.STAFF, c.id)
    assert auto.roles == [Role.SUPERVISOR] and auto.context["tier"] == "important"
    second = await c.obligation(N.PROGRESS_REPORT)
    assert second.occurrence == 2 and second.due_at == MONDAY_9 + 5 * H

    # A manual post resets the period.
    await c.until(4 * H)
    await c.do(a.UPDATE_PROGRESS, a.PostProgress(actor=LOGISTICS, message="已找到包裹", to_customer=True))
    third = await c.obligation(N.PROGRESS_REPORT)
    assert third.occurrence == 3 and third.due_at == MONDAY_9 + 6 * H

    await c.until(5 * H)
    await c.do(a.UPDATE_WORK_DONE, a.WorkDone(actor=LOGISTICS, summary="包裹已送达"))
    view = await c.view()
    assert view.state == State.WORK_DONE
    assert statuses(view)["progress_report"] == "waived"  # reports stop when handling is done
    feedback = await c.obligation(N.RESULT_FEEDBACK)
    # 24 business hours from Monday 14:00: Monday 4 h + Tuesday 9 h + Wednesday 9 h + Thursday 2 h
    assert feedback.status == S.OPEN and feedback.due_at.astimezone(MONDAY_9.tzinfo).isoformat().startswith(
        "2026-03-05T11:00"
    )

    await c.until(6 * H)
    await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="分拣错误", solution="已重新派送"))
    assert statuses(await c.view()) | {} == {
        "first_response": "met",
        "supervisor_ack": "met",
        "handling_start": "met",
        "progress_report": "waived",
        "result_feedback": "met",
        "resolution": "met",
        "rating": "open",
    }
    await c.do(a.UPDATE_RATE, a.Rate(score=5))
    final = await c.result()
    assert final.state == State.CLOSED and final.breach_count == 0


async def test_urgent_complaint_with_customer_updates_reopened_until_satisfied(desk: Desk):
    c = await desk.start(tier=Tier.URGENT, category=Category.SPOILED, order_number="SF5550001")
    [alert] = desk.world.sent(TemplateKey.NEW_COMPLAINT, Audience.STAFF, c.id)
    assert {Role.SUPERVISOR, Role.DEPARTMENT_HEAD} <= set(alert.roles)  # A §3.2, B green channel
    await c.until(2 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.until(10 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR, note="应急小组成立"))
    await c.until(20 * M)
    await c.do(a.UPDATE_ASSIGN, a.Assign(actor=SUPERVISOR, departments=[Department.WAREHOUSE]))
    # Every 30 min while open the customer hears how it stands, written from the complaint's state.
    await c.until(31 * M)
    assert len(desk.world.sent(TemplateKey.CUSTOMER_UPDATE, Audience.CUSTOMER, c.id)) == 1
    await c.until(65 * M)
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=SUPERVISOR, plan="补发新鲜货物", compensation=200))
    await c.do(a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))
    await c.until(2 * H + 5 * M)
    assert len(desk.world.sent(TemplateKey.CUSTOMER_UPDATE, Audience.CUSTOMER, c.id)) == 4  # 30, 60, 90, 120
    await c.do(
        a.UPDATE_RESOLVE,
        a.Resolve(actor=SPECIALIST, cause="冷链中断", solution="已补发", compensation=200),
    )
    await c.until(2 * H + 10 * M)
    res = await c.do(a.UPDATE_RATE, a.Rate(score=2, demand="全额退款"))
    assert res.state == State.IN_PROGRESS.value

    view = await c.view()
    assert view.reopen_count == 1 and view.holder_role == Role.SENIOR_SUPERVISOR
    assert view.ratings[-1].demand == "全额退款"
    resolution = await c.obligation(N.RESOLUTION)
    assert resolution.occurrence == 2 and resolution.status == S.OPEN
    assert resolution.due_at == c.at + 2 * H + 10 * M + 4 * H  # re-opened from the reopening, 4 h
    assert (await c.obligation(N.CUSTOMER_UPDATE)).status == S.OPEN  # updates resume while open again
    assert desk.world.sent(TemplateKey.REOPENED, Audience.CUSTOMER, c.id)
    [esc] = [
        n for n in desk.world.sent(TemplateKey.ESCALATION, Audience.STAFF, c.id) if n.context.get("demand")
    ]
    assert esc.roles == [Role.SENIOR_SUPERVISOR]

    await c.until(3 * H)
    await c.do(
        a.UPDATE_RESOLVE, a.Resolve(actor=SENIOR, cause="冷链中断", solution="全额退款", compensation=500)
    )
    await c.do(a.UPDATE_RATE, a.Rate(score=5))
    final = await c.result()
    assert final.state == State.CLOSED and [r.score for r in final.ratings] == [2, 5]
    assert final.breach_count == 0


async def test_reopen_loop_repeats_until_the_customer_is_satisfied(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL, complaint_type=ComplaintType.CONSULTATION)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.do(a.UPDATE_ANSWER, a.AnswerDirectly(actor=SPECIALIST, answer="请参考说明书"))
    for round_, score in enumerate((1, 3), start=1):
        await c.until(round_ * H)
        res = await c.do(a.UPDATE_RATE, a.Rate(score=score, demand=f"第{round_}次不满意"))
        assert res.state == State.IN_PROGRESS.value
        view = await c.view()
        assert view.reopen_count == round_ and view.holder_role == Role.SENIOR_SUPERVISOR
        assert (await c.obligation(N.RESOLUTION)).occurrence == round_ + 1
        await c.do(
            a.UPDATE_RESOLVE, a.Resolve(actor=SENIOR, cause="说明不清", solution=f"第{round_}次上门讲解")
        )
    await c.do(a.UPDATE_RATE, a.Rate(score=4))
    final = await c.result()
    assert final.state == State.CLOSED and final.reopen_count == 2
    assert [r.score for r in final.ratings] == [1, 3, 4]
    assert len(desk.world.sent(TemplateKey.RATING_REQUEST, Audience.CUSTOMER, c.id)) == 3


async def test_rating_window_expiry_closes_without_rating_and_is_no_breach(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    await c.until(10 * M)
    await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SUPERVISOR, cause="c", solution="s"))
    final = await c.result()  # the test server skips the 72 h survey window
    assert final.state == State.CLOSED and final.ratings == []
    assert final.closed_at == c.at + 10 * M + 72 * H
    assert final.breach_count == 0
    rating = [o for o in final.obligations if o.name == N.RATING][0]
    assert rating.status == S.WAIVED
    assert any(e.kind == "closed" and e.data.get("rated") is False for e in desk.world.events(c.id))


async def test_cancel_by_supervisor_with_reason_ends_the_complaint(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT)
    await c.do(a.UPDATE_CANCEL, a.Cancel(actor=SUPERVISOR, reason="客户撤回投诉"))
    final = await c.result()
    assert final.state == State.CANCELLED and final.cancel_reason == "客户撤回投诉"
    assert all(o.status in (S.WAIVED, S.MET) for o in final.obligations)


async def test_merge_into_another_complaint(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    res = await c.do(a.UPDATE_MERGE, a.MergeInto(actor=SPECIALIST, target_complaint_id="C-OTHER-1"))
    assert res.state == State.MERGED.value
    final = await c.result()
    assert final.merged_into == "C-OTHER-1"
    [joined] = desk.world.sent(TemplateKey.DUPLICATE_JOINED, Audience.CUSTOMER, c.id)
    assert joined.context["target_complaint_id"] == "C-OTHER-1"
