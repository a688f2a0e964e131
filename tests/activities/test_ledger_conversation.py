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


async def test_a_staff_reply_carries_its_messages_deliveries_and_a_note_is_internal(ledger_pool):
    v = view("C-2", description="花瓶碎了")
    key = "C-2:reply:upd-1"
    events = [
        event("C-2", 1, "staff_reply", actor=AGENT, text="已安排补发",
              data={"text": "已安排补发，明天送达。", "visibility": "customer", "notification": key}),
        event("C-2", 2, "note", actor=AGENT, text="客户很着急", data={"text": "客户很着急", "visibility": "internal"}),
        event("C-2", 3, "customer_message", actor=CUSTOMER, text="谢谢",
              data={"text": "谢谢", "visibility": "customer", "channel": "web", "attachments": ["box.jpg"]}),
    ]  # fmt: skip
    async with ledger_pool.acquire() as conn:
        await write_batch(conn, batch(v, *events))
    for channel, status in (("email", "sent"), ("sms", "failed")):
        await ledger_pool.execute(
            "INSERT INTO notifications (idempotency_key, notification_key, complaint_id, template, audience,"
            " locale, channel, recipient, status, subject, body, created_at)"
            " VALUES ($1, $2, 'C-2', 'staff_reply', 'customer', 'zh-CN', $3, 'x', $4, '回复', '已安排补发', $5)",
            f"{key}/{channel}", key, channel, status, T0 + timedelta(minutes=1),
        )  # fmt: skip
    entries = await load_conversation(ledger_pool, v)
    assert [(e.kind, e.title) for e in entries] == [
        ("customer", "report"),
        ("to_customer", "staff_reply"),  # one entry: the reply, with its message's deliveries
        ("internal", "note"),
        ("customer", "customer_message"),
    ]
    reply = entries[1]
    assert reply.text == "已安排补发，明天送达。"  # the full text from the event's data
    assert [(d.channel, d.delivered) for d in reply.deliveries] == [("email", True), ("sms", False)]
    assert entries[2].event is not None and entries[2].event.data["visibility"] == "internal"
