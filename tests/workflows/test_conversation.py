"""The conversation's Updates on the time-skipping server: a staff reply goes to the customer, a note stays
internal, and the customer's answer while the complaint waits on them resumes its clocks and tells the holder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain import actions as a
from domain.events import INTERNAL, VISIBLE_TO_CUSTOMER
from domain.messages import Audience, TemplateKey
from domain.models import Channel, ObligationName, ObligationStatus, Role, State, Tier
from tests.workflows.harness import SPECIALIST, SUPERVISOR, Desk

N, S = ObligationName, ObligationStatus
M, H = timedelta(minutes=1), timedelta(hours=1)


def _message(text: str) -> a.CustomerMessage:
    return a.CustomerMessage(channel=Channel.WEB, message=text, received_at=datetime.now(UTC).isoformat())


async def test_a_reply_goes_to_the_customer_and_a_note_stays_internal(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.do(a.UPDATE_REPLY, a.ReplyToCustomer(actor=SPECIALIST, message="仓库已找到您的包裹，今天发出。"))
    await c.do(a.UPDATE_NOTE, a.AddNote(actor=SPECIALIST, note="客户婚宴明天用，优先处理"))
    [reply] = desk.world.events(c.id, "staff_reply")
    assert reply.data["visibility"] == VISIBLE_TO_CUSTOMER and reply.data["text"].startswith("仓库已找到")
    [sent] = desk.world.sent(TemplateKey.STAFF_REPLY, Audience.CUSTOMER, c.id)
    assert sent.context["message"] == "仓库已找到您的包裹，今天发出。"
    assert reply.data["notification"] == sent.idempotency_key  # the conversation pairs them
    [note] = desk.world.events(c.id, "note")
    assert note.data == {"text": "客户婚宴明天用，优先处理", "visibility": INTERNAL}
    # A note sends nothing to anyone.
    assert not [n for n in desk.world.notifications if n.complaint_id == c.id and "note" in n.idempotency_key]


async def test_an_empty_reply_is_a_field_refusal(desk: Desk):
    c = await desk.start()
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await c.handle.execute_update(
            a.UPDATE_REPLY, {"actor": SPECIALIST.model_dump(), "message": "  "}, result_type=a.ActionResult
        )
    assert getattr(e.value.cause, "type", None) == "field"


async def test_a_customer_reply_while_waiting_resumes_the_clocks_and_tells_the_holder(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    await c.until(20 * M)
    await c.do(a.UPDATE_WAIT, a.WaitOnCustomer(actor=SUPERVISOR, reason="请提供破损照片"))
    assert (await c.obligation(N.RESOLUTION)).status == S.PAUSED
    await c.until(5 * H)  # past the 4 h resolution deadline: the clock stood still
    res = await c.do(a.UPDATE_CUSTOMER_MESSAGE, _message("照片已上传，外箱右下角破损。"))
    assert res.state == State.ACKNOWLEDGED.value
    resolution = await c.obligation(N.RESOLUTION)
    assert resolution.status == S.OPEN
    assert resolution.due_at == c.at + 5 * H + 220 * M  # 3 h 40 min were left when it paused at 20 min
    [resumed] = desk.world.events(c.id, "resumed")
    assert resumed.data == {"by_customer": True, "state": State.ACKNOWLEDGED.value}
    [told] = desk.world.sent(TemplateKey.CUSTOMER_MESSAGE, Audience.STAFF, c.id)
    assert told.staff_ids == [SUPERVISOR.id] and told.context["resumed"] is True
    # Time runs again: the resumed deadline is kept for real.
    await c.until(5 * H + 221 * M)
    assert (await c.obligation(N.RESOLUTION)).status == S.BREACHED


async def test_a_customer_message_while_handled_changes_no_clock(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    before = await c.obligation(N.RESOLUTION)
    res = await c.do(a.UPDATE_CUSTOMER_MESSAGE, _message("补充：收件人电话换了。"))
    assert res.state == State.ACKNOWLEDGED.value
    assert (await c.obligation(N.RESOLUTION)).due_at == before.due_at
    assert not desk.world.events(c.id, "resumed")
    [told] = desk.world.sent(TemplateKey.CUSTOMER_MESSAGE, Audience.STAFF, c.id)
    assert told.context["resumed"] is False


async def test_an_untouched_urgent_complaint_tells_the_customer_only_what_is_so_and_alerts_the_holder(
    desk: Desk,
):
    """Issue 14: nobody acts on an urgent complaint. Its automatic updates never claim progress: they say
    where it stands, that the first response was missed and who holds it now; each such update is marked
    `no_progress` and the supervisor is told."""
    c = await desk.start(tier=Tier.URGENT)
    await c.until(65 * M)
    updates = desk.world.sent(TemplateKey.CUSTOMER_UPDATE, Audience.CUSTOMER, c.id)
    assert len(updates) == 2  # at 30 and 60 min
    for n in updates:
        assert n.context["message"] is None and n.context["progress"] is None
        assert n.context["standing"] == "awaiting_review" and n.context["no_progress"] is True
    assert updates[-1].context["missed"] == N.FIRST_RESPONSE.value
    marked = desk.world.events(c.id, "customer_update")
    assert [e.data["no_progress"] for e in marked] == [True, True]
    alerts = desk.world.sent(TemplateKey.NO_PROGRESS, Audience.STAFF, c.id)
    assert len(alerts) == 2 and all(Role.SUPERVISOR in n.roles for n in alerts)
    assert len(alerts[0].roles) == 2  # nobody holds it: the role it waits with is told too


async def test_a_worked_complaints_update_is_not_marked_no_progress(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    await c.do(a.UPDATE_NOTE, a.AddNote(actor=SUPERVISOR, note="联系仓库中"))
    await c.until(31 * M)
    [update] = desk.world.sent(TemplateKey.CUSTOMER_UPDATE, Audience.CUSTOMER, c.id)
    assert update.context["no_progress"] is False
    assert not desk.world.sent(TemplateKey.NO_PROGRESS, Audience.STAFF, c.id)


async def test_a_plan_with_a_compensation_reaches_the_customer_once_after_approval(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=SPECIALIST, plan="补发并赔偿", compensation=100))
    assert not desk.world.sent(TemplateKey.PLAN, Audience.CUSTOMER, c.id)
    await c.do(a.UPDATE_APPROVE, a.Approve(actor=SUPERVISOR))
    [plan] = desk.world.sent(TemplateKey.PLAN, Audience.CUSTOMER, c.id)
    assert plan.context["compensation"] == 100
