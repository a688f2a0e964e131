"""Wrong role, wrong state, bad data, someone else's complaint: refused by the validator with a stable code
and its parameters (the UI words them), before anything enters the complaint's history."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
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

SUPERVISORS = ["supervisor", "senior_supervisor", "admin"]
HEADS = ["supervisor", "senior_supervisor", "department_head", "admin"]


def _refusal(err: WorkflowUpdateFailedError) -> tuple[str, dict[str, Any]]:
    cause = err.cause
    assert isinstance(cause, ApplicationError), cause
    return cause.type or "", dict(cause.details[0]) if cause.details else {}


async def refused(c: Complaint, update: str, arg: Any) -> tuple[str, dict[str, Any]]:
    """Send an Update that must be refused; return (code, parameters) and check nothing reached the history."""
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
    return _refusal(info.value)


async def test_only_a_supervisor_can_approve_a_plan(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=SPECIALIST, plan="补发"))
    msg = await refused(c, a.UPDATE_APPROVE, a.Approve(actor=SPECIALIST))
    assert msg == ("wrong_role", {"action": "approve", "role": "specialist", "allowed_roles": SUPERVISORS})
    await c.do(a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))
    msg = await refused(c, a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))
    assert msg == ("already_done", {"what": "plan_approved", "by": "sup-1"})


async def test_approving_without_a_plan_is_refused(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    code, params = await refused(c, a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))
    assert (code, params) == ("nothing_to_do", {"what": "plan"})


async def test_only_a_supervisor_can_cancel_and_only_with_a_reason(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    msg = await refused(c, a.UPDATE_CANCEL, a.Cancel(actor=SPECIALIST, reason="重复"))
    assert msg == ("wrong_role", {"action": "cancel", "role": "specialist", "allowed_roles": SUPERVISORS})
    # No reason: the input model itself refuses it (the field is required, at least one character).
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await c.handle.execute_update(
            a.UPDATE_CANCEL, {"actor": SUPERVISOR.model_dump(), "reason": ""}, result_type=a.ActionResult
        )
    assert _refusal(info.value) == (
        "field",
        {"name": "reason", "reason": "string_too_short", "min_length": 1},
    )
    assert (await c.view()).state == State.RECEIVED


async def test_customers_cannot_take_staff_actions(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    customer = Actor(id="cust", role=Role.CUSTOMER)
    msg = await refused(c, a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=customer))
    assert msg[0] == "wrong_role" and msg[1]["role"] == "customer" and "specialist" in msg[1]["allowed_roles"]


async def test_rating_before_the_result_is_refused(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    msg = await refused(c, a.UPDATE_RATE, a.Rate(score=5))
    assert msg == (
        "wrong_state",
        {
            "action": "rate",
            "state": "received",
            "allowed_states": ["answered", "awaiting_rating"],
            "hint": "after_result",
        },
    )


async def test_a_low_rating_needs_the_customers_demand(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL, complaint_type=ComplaintType.CONSULTATION)
    await c.do(a.UPDATE_ANSWER, a.AnswerDirectly(actor=SPECIALIST, answer="答复"))
    msg = await refused(c, a.UPDATE_RATE, a.Rate(score=2))
    assert msg == ("field", {"name": "demand", "reason": "demand_needed", "score": 4})


async def test_rating_out_of_range_is_bad_data(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL, complaint_type=ComplaintType.CONSULTATION)
    await c.do(a.UPDATE_ANSWER, a.AnswerDirectly(actor=SPECIALIST, answer="答复"))
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await c.handle.execute_update(a.UPDATE_RATE, {"score": 9}, result_type=a.ActionResult)
    # The input model's own refusal: the field and the reason as data, never pydantic's text.
    assert _refusal(info.value) == ("field", {"name": "score", "reason": "less_than_equal", "le": 5})
    assert (await c.view()).state == State.ANSWERED


async def test_a_direct_answer_is_only_for_general_consultations(desk: Desk):
    c = await desk.start(tier=Tier.URGENT, category=Category.SPOILED)
    msg = await refused(c, a.UPDATE_ANSWER, a.AnswerDirectly(actor=SPECIALIST, answer="请稍候"))
    assert msg == (
        "not_applicable",
        {"action": "answer_directly", "tier": "urgent", "complaint_type": "complaint"},
    )


async def test_handling_cannot_start_before_assignment(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT)
    msg = await refused(c, a.UPDATE_START_HANDLING, a.StaffAction(actor=ENGINEER))
    assert msg[0] == "wrong_state" and msg[1]["state"] == "received" and msg[1]["hint"] == "assign_first"


async def test_resolving_while_waiting_on_the_customer_asks_to_resume_first(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.do(a.UPDATE_WAIT, a.WaitOnCustomer(actor=SPECIALIST, reason="等照片"))
    msg = await refused(c, a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="c", solution="s"))
    assert msg[0] == "wrong_state" and msg[1]["hint"] == "resume_first"
    msg = await refused(c, a.UPDATE_WAIT, a.WaitOnCustomer(actor=SPECIALIST, reason="x"))
    assert msg[0] == "wrong_state" and msg[1]["state"] == "waiting_on_customer" and "hint" not in msg[1]


async def test_compensation_needs_a_supervisors_approval(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    await c.do(a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.SALES]))
    msg = await refused(
        c, a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="c", solution="s", compensation=300)
    )
    assert msg == ("needs_approval", {"compensation": 300})
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=SPECIALIST, plan="赔偿", compensation=300))
    await c.do(a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))
    res = await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="c", solution="s", compensation=300))
    assert res.state == State.AWAITING_RATING.value


async def test_an_important_complaint_waits_for_a_supervisors_acknowledgement(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    msg = await refused(c, a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=HEAD))
    assert msg[0] == "not_yours"  # not alerted for an important one, and not of its departments
    msg = await refused(c, a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    assert msg == (
        "wrong_role",
        {"action": "acknowledge", "role": "specialist", "allowed_roles": SUPERVISORS},
    )
    urgent = await desk.start(tier=Tier.URGENT)
    await urgent.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    msg = await refused(urgent, a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    assert msg[0] == "wrong_role" and msg[1]["allowed_roles"] == [
        "supervisor",
        "senior_supervisor",
        "department_head",
        "admin",
    ]
    await urgent.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=HEAD))  # A §3.2: heads respond to urgent ones
    assert (await urgent.obligation(ObligationName.SUPERVISOR_ACK)).status == ObligationStatus.MET


async def test_nothing_left_to_acknowledge(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    code, params = await refused(c, a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    assert (code, params) == ("already_done", {"what": "acknowledged"})


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
    assert msg == ("field", {"name": "target_complaint_id", "reason": "self_merge"})


async def test_escalating_past_the_top_of_the_ladder_is_refused(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    await c.do(a.UPDATE_ESCALATE, a.Escalate(actor=SPECIALIST, reason="r"))
    await c.do(a.UPDATE_ESCALATE, a.Escalate(actor=SPECIALIST, reason="r"))
    msg = await refused(c, a.UPDATE_ESCALATE, a.Escalate(actor=SPECIALIST, reason="r"))
    assert msg == ("top_of_ladder", {"role": "senior_supervisor"})


async def test_only_supervisors_department_heads_or_the_holder_reassign(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))  # agent-1 holds it
    other = Actor(id="agent-2", role=Role.SPECIALIST)
    msg = await refused(
        c, a.UPDATE_REASSIGN, a.Reassign(actor=other, holder_id="agent-3", holder_role=Role.SPECIALIST)
    )
    assert msg == (
        "not_yours",
        {"action": "reassign", "holder": "agent-1", "holder_role": "specialist", "allowed_roles": HEADS},
    )
    msg = await refused(
        c, a.UPDATE_REASSIGN, a.Reassign(actor=SUPERVISOR, holder_id="x", holder_role=Role.CUSTOMER)
    )
    assert msg == ("field", {"name": "holder_role", "reason": "not_staff", "role": "customer"})
    res = await c.do(
        a.UPDATE_REASSIGN, a.Reassign(actor=SPECIALIST, holder_id="agent-3", holder_role=Role.SPECIALIST)
    )
    assert "agent-3" in res.message


async def test_staff_act_only_on_complaints_they_are_on(desk: Desk):
    """Issue 11: front-line actions for the holder, the assignees and the staff of the complaint's
    departments; supervisors and customer service on every complaint; a refusal names who can do it
    instead."""
    c = await desk.start(tier=Tier.GENERAL)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))  # agent-1 holds it
    await c.do(
        a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.SALES], assignees=["eng-7"])
    )
    outsider = Actor(id="log-9", role=Role.LOGISTICS, departments=(Department.WAREHOUSE,))
    msg = await refused(c, a.UPDATE_WAIT, a.WaitOnCustomer(actor=outsider, reason="等照片"))
    assert msg == (
        "not_yours",
        {
            "action": "wait_on_customer",
            "holder": "agent-1",
            "holder_role": "specialist",
            "allowed_roles": SUPERVISORS,
        },
    )
    msg = await refused(c, a.UPDATE_PROGRESS, a.PostProgress(actor=ENGINEER, message="在查"))
    assert msg[0] == "not_yours"
    engineer = Actor(id="eng-9", role=Role.ENGINEER, departments=(Department.TECHNICAL,))
    assert (await refused(c, a.UPDATE_ESCALATE, a.Escalate(actor=engineer, reason="r")))[0] == "not_yours"
    # The assignee, the department's people and any supervisor may.
    await c.do(a.UPDATE_PROGRESS, a.PostProgress(actor=Actor(id="eng-7", role=Role.ENGINEER), message="在查"))
    sales = Actor(id="sales-1", role=Role.ENGINEER, departments=(Department.SALES,))
    await c.do(a.UPDATE_PROGRESS, a.PostProgress(actor=sales, message="已联系客户"))
    await c.do(a.UPDATE_WAIT, a.WaitOnCustomer(actor=SUPERVISOR, reason="等照片"))
    assert (await c.view()).state == State.WAITING_ON_CUSTOMER
