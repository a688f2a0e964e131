"""Wrong role, wrong state, bad data: refused by the validator with a sentence a person can act on, before
anything enters the complaint's history."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain import actions as a
from domain.models import (
    Actor,
    Category,
    ComplaintType,
    Department,
    ObligationName,
    ObligationStatus,
    Role,
    State,
    Tier,
)
from tests.workflows.harness import ENGINEER, HEAD, SPECIALIST, SUPERVISOR, Complaint, Desk


def _message(err: WorkflowUpdateFailedError) -> str:
    cause = err.cause
    return getattr(cause, "message", None) or str(cause)


async def refused(c: Complaint, update: str, arg: Any) -> str:
    """Send an Update that must be refused; return the refusal and check nothing reached the history."""
    before = await c.handle.fetch_history()
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await c.handle.execute_update(update, arg, result_type=a.ActionResult)
    after = await c.handle.fetch_history()
    accepted = [
        e for e in after.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert len(accepted) == len(
        [e for e in before.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    ), "a refused Update must not enter history"
    return _message(info.value)


async def test_only_a_supervisor_can_approve_a_plan(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=SPECIALIST, plan="补发"))
    msg = await refused(c, a.UPDATE_APPROVE, a.Approve(actor=SPECIALIST))
    assert msg == "Only a supervisor can approve a plan; you are signed in as specialist."
    await c.do(a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))
    msg = await refused(c, a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))
    assert "already approved by sup-1" in msg


async def test_approving_without_a_plan_is_refused(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    assert "no plan to approve" in await refused(c, a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))


async def test_only_a_supervisor_can_cancel_and_only_with_a_reason(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    msg = await refused(c, a.UPDATE_CANCEL, a.Cancel(actor=SPECIALIST, reason="重复"))
    assert msg == "Only a supervisor can cancel a complaint; you are signed in as specialist."
    # No reason: the input model itself refuses it (the field is required, at least one character).
    with pytest.raises(WorkflowUpdateFailedError):
        await c.handle.execute_update(
            a.UPDATE_CANCEL, {"actor": SUPERVISOR.model_dump(), "reason": ""}, result_type=a.ActionResult
        )
    assert (await c.view()).state == State.RECEIVED


async def test_customers_cannot_take_staff_actions(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    customer = Actor(id="cust", role=Role.CUSTOMER)
    msg = await refused(c, a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=customer))
    assert msg == "Only staff can acknowledge a complaint; you are signed in as customer."


async def test_rating_before_the_result_is_refused(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    msg = await refused(c, a.UPDATE_RATE, a.Rate(score=5))
    assert msg == "Cannot rate while the complaint is received. A rating comes after the result."


async def test_a_low_rating_needs_the_customers_demand(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL, complaint_type=ComplaintType.CONSULTATION)
    await c.do(a.UPDATE_ANSWER, a.AnswerDirectly(actor=SPECIALIST, answer="答复"))
    msg = await refused(c, a.UPDATE_RATE, a.Rate(score=2))
    assert "tell us what you expect (demand) when rating below 4" in msg


async def test_rating_out_of_range_is_bad_data(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL, complaint_type=ComplaintType.CONSULTATION)
    await c.do(a.UPDATE_ANSWER, a.AnswerDirectly(actor=SPECIALIST, answer="答复"))
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await c.handle.execute_update(a.UPDATE_RATE, {"score": 9}, result_type=a.ActionResult)
    detail = str(info.value.cause.__cause__)  # the input model names the field and the reason
    assert "score" in detail and "less than or equal to 5" in detail
    assert (await c.view()).state == State.ANSWERED


async def test_a_direct_answer_is_only_for_general_consultations(desk: Desk):
    c = await desk.start(tier=Tier.URGENT, category=Category.SPOILED)
    msg = await refused(c, a.UPDATE_ANSWER, a.AnswerDirectly(actor=SPECIALIST, answer="请稍候"))
    assert msg.startswith("A direct answer is only for general consultations; this is an urgent complaint.")


async def test_handling_cannot_start_before_assignment(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT)
    msg = await refused(c, a.UPDATE_START_HANDLING, a.StaffAction(actor=ENGINEER))
    assert msg == "Cannot start handling while the complaint is received. Assign it to a department first."


async def test_resolving_while_waiting_on_the_customer_asks_to_resume_first(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.do(a.UPDATE_WAIT, a.WaitOnCustomer(actor=SPECIALIST, reason="等照片"))
    msg = await refused(c, a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="c", solution="s"))
    assert "Resume it first" in msg
    msg = await refused(c, a.UPDATE_WAIT, a.WaitOnCustomer(actor=SPECIALIST, reason="x"))
    assert msg == "Cannot wait on the customer while the complaint is waiting on customer."


async def test_compensation_needs_a_supervisors_approval(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    await c.do(a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.SALES]))
    msg = await refused(
        c, a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="c", solution="s", compensation=300)
    )
    assert msg.startswith("A compensation of 300 needs a supervisor's approval")
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=SPECIALIST, plan="赔偿", compensation=300))
    await c.do(a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))
    res = await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="c", solution="s", compensation=300))
    assert res.state == State.AWAITING_RATING.value


async def test_an_important_complaint_waits_for_a_supervisors_acknowledgement(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    msg = await refused(c, a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=HEAD))
    assert msg == (
        "The first response is done; this complaint now waits for a supervisor's acknowledgement,"
        " and you are signed in as department head."
    )
    urgent = await desk.start(tier=Tier.URGENT)
    await urgent.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    msg = await refused(urgent, a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    assert "waits for a supervisor or department head's acknowledgement" in msg
    await urgent.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=HEAD))  # A §3.2: heads respond to urgent ones
    assert (await urgent.obligation(ObligationName.SUPERVISOR_ACK)).status == ObligationStatus.MET


async def test_nothing_left_to_acknowledge(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    assert "Already acknowledged" in await refused(c, a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))


async def test_a_finished_complaint_takes_no_more_actions(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    await c.do(a.UPDATE_CANCEL, a.Cancel(actor=SUPERVISOR, reason="测试"))
    assert (await c.result()).state == State.CANCELLED
    with pytest.raises(RPCError) as info:  # the run is over: the server itself refuses
        await c.handle.execute_update(
            a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST), result_type=a.ActionResult
        )
    assert info.value.status == RPCStatusCode.NOT_FOUND


async def test_merge_into_itself_is_refused(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    msg = await refused(c, a.UPDATE_MERGE, a.MergeInto(actor=SPECIALIST, target_complaint_id=c.id))
    assert msg.startswith("A complaint cannot be merged into itself")


async def test_escalating_past_the_top_of_the_ladder_is_refused(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    await c.do(a.UPDATE_ESCALATE, a.Escalate(actor=SPECIALIST, reason="r"))
    await c.do(a.UPDATE_ESCALATE, a.Escalate(actor=SPECIALIST, reason="r"))
    msg = await refused(c, a.UPDATE_ESCALATE, a.Escalate(actor=SPECIALIST, reason="r"))
    assert msg == "Already with a senior supervisor, the top of the escalation ladder."


async def test_only_supervisors_department_heads_or_the_holder_reassign(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))  # agent-1 holds it
    other = Actor(id="agent-2", role=Role.SPECIALIST)
    msg = await refused(
        c, a.UPDATE_REASSIGN, a.Reassign(actor=other, holder_id="agent-3", holder_role=Role.SPECIALIST)
    )
    assert msg.startswith("Only a supervisor, a department head or the current holder can reassign")
    msg = await refused(
        c, a.UPDATE_REASSIGN, a.Reassign(actor=SUPERVISOR, holder_id="x", holder_role=Role.CUSTOMER)
    )
    assert msg == "A complaint can only be held by staff, not by a customer."
    res = await c.do(
        a.UPDATE_REASSIGN, a.Reassign(actor=SPECIALIST, holder_id="agent-3", holder_role=Role.SPECIALIST)
    )
    assert "agent-3" in res.message
