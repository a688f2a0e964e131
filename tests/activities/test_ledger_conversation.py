"""The conversation read from the ledger (real PostgreSQL): the customer's words, every message sent to the
customer with each channel's outcome, staff text marked internal, who was assigned, system steps — in order."""

from __future__ import annotations

from datetime import timedelta

from domain.models import Actor, Role
from ledger.conversation import load_conversation
from ledger.writes import write_batch

from .factories import AGENT, T0, batch, event, view

CUSTOMER = Actor(id="customer", role=Role.CUSTOMER)


async def _notify(
    pool, key: str, channel: str, status: str, minutes: int, audience: str = "customer"
) -> None:
    await pool.execute(
        "INSERT INTO notifications (idempotency_key, notification_key, complaint_id, template, audience, locale,"
        " channel, recipient, status, subject, body, error, created_at)"
        " VALUES ($1, $2, 'C-1', 'acknowledged', $3, 'zh-CN', $4, 'zhang@example.com', $5, '已受理', $6, $7, $8)",
        f"{key}/{channel}",
        key,
        audience,
        channel,
        status,
        f"您的投诉 C-1 已受理 ({channel})",
        "mailbox full" if status == "failed" else None,
        T0 + timedelta(minutes=minutes),
    )


async def test_the_conversation_interleaves_customer_staff_messages_assignment_and_system(ledger_pool):
    v = view("C-1", description="箱子破损")
    events = [
        event("C-1", 0, "received"),  # system
        event("C-1", 2, "acknowledged", actor=AGENT, text="客户婚宴明天用，优先处理"),
        event("C-1", 4, "assigned", actor=AGENT, data={"assignees": ["wang"], "departments": ["warehouse"]}),
        event("C-1", 6, "duplicate_report", actor=CUSTOMER, text="运单号是 SF1234567896"),
    ]
    async with ledger_pool.acquire() as conn:
        await write_batch(conn, batch(v, *events))
    await _notify(ledger_pool, "ack", "email", "sent", 3)
    await _notify(ledger_pool, "ack", "sms", "failed", 3)
    await _notify(ledger_pool, "assign", "wecom", "sent", 5, audience="staff")  # staff's own: not shown

    entries = await load_conversation(ledger_pool, v)
    assert [(e.kind, e.title) for e in entries] == [
        ("customer", "report"),
        ("system", "received"),
        ("internal", "acknowledged"),
        ("to_customer", "acknowledged"),
        ("assignment", "assigned"),
        ("customer", "duplicate_report"),
    ]
    assert entries[0].text == "箱子破损" and entries[0].actor_name == "张三"
    assert entries[2].text == "客户婚宴明天用，优先处理"
    message = entries[3]
    assert {(d.channel, d.delivered) for d in message.deliveries} == {("email", True), ("sms", False)}
    assert [d.error for d in message.deliveries if not d.delivered] == ["mailbox full"]
    assert entries[4].people == ["wang"]
    assert entries[5].text == "运单号是 SF1234567896"


async def test_events_the_ledger_has_not_written_yet_come_from_the_view(ledger_pool):
    newest = event("C-2", 9, "progress", actor=AGENT, text="已联系仓库")
    v = view("C-2").model_copy(update={"timeline": [newest]})
    entries = await load_conversation(ledger_pool, v)  # nothing in the ledger for C-2
    assert [(e.kind, e.text) for e in entries][-1] == ("internal", "已联系仓库")
