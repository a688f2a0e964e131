"""Long lives: a complaint reopened again and again continues as new with its whole state."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import EventType

from domain import actions as a
from domain.messages import Audience, TemplateKey
from domain.models import ObligationName, Role, State, Tier
from tests.workflows.harness import SENIOR, SPECIALIST, SUPERVISOR, Desk
from workflows.complaint_steps import TIMELINE_CAP

M = timedelta(minutes=1)


async def test_continue_as_new_keeps_the_whole_state_and_the_complaint_goes_on(desk: Desk):
    c = await desk.start(tier=Tier.URGENT, history_limit=100)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    rounds = 6
    for i in range(rounds):
        await c.until((i + 1) * 7 * M)
        await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SENIOR, cause="c", solution=f"第{i + 1}次方案"))
        await c.do(a.UPDATE_RATE, a.Rate(score=2, demand=f"诉求{i + 1}"))

    first_run = await desk.client.get_workflow_handle(c.handle.id, run_id=c.first_run_id).fetch_history()
    assert first_run.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    latest = await c.handle.fetch_history()
    assert (
        latest.events[0].workflow_execution_started_event_attributes.first_execution_run_id == c.first_run_id
    )
    assert len(latest.events) < len(first_run.events) + 100

    view = await c.view()
    assert view.state == State.IN_PROGRESS and view.reopen_count == rounds
    assert [r.demand for r in view.ratings] == [f"诉求{i + 1}" for i in range(rounds)]
    assert view.holder_role == Role.SENIOR_SUPERVISOR
    resolution = [o for o in view.obligations if o.name == ObligationName.RESOLUTION]
    assert max(o.occurrence for o in resolution) == rounds + 1
    assert len(view.timeline) <= TIMELINE_CAP
    # Nothing of the intake is repeated by the new run.
    assert len(desk.world.sent(TemplateKey.CONFIRMATION, Audience.CUSTOMER, c.id)) == 1
    # Timeline event ids stay unique across runs (the ledger inserts them idempotently).
    ids = [e.event_id for b in desk.world.ledger for e in b.events if e.complaint_id == c.id]
    assert len(ids) == len(set(ids))

    await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SENIOR, cause="c", solution="全额退款"))
    await c.do(a.UPDATE_RATE, a.Rate(score=5))
    final = await c.result()
    assert final.state == State.CLOSED and final.reopen_count == rounds
