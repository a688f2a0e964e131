"""E-mail intake never loses a complaint, and a reply joins its complaint (real SMTP on loopback, the real
workflow on the dev server, the replies caught by the notification sink's SMTP server).

- a lost parcel without a waybill number is filed, and the reply asks for the number in the sender's language;
- a bad attachment is left out and named; a mail with nothing to file gets a reply saying why;
- a reply (In-Reply-To / References a mail we sent, or the number in the subject from the same customer)
  joins the complaint as the customer's message; the number in a stranger's subject does not;
- a reply while the complaint waits on the customer resumes it.
"""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import pytest
import pytest_asyncio

from domain import actions as a
from domain.models import Actor, Role, State
from domain.view import ComplaintView
from starters.email_intake import start_email_intake
from starters.email_threads import message_ids, number_in_subject

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 40


@pytest_asyncio.fixture
async def smtp(stack):
    server, handler = await start_email_intake(stack.service(), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def _mail(subject: str, body: str, sender: str, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "complaints@desk.example", subject
    msg["Message-ID"] = make_msgid(domain="customer.example")
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(body)
    return msg


async def _send(port: int, msg: EmailMessage) -> str:
    _, response = await aiosmtplib.send(msg, hostname="127.0.0.1", port=port, timeout=60)
    return response


def _sender(name: str) -> tuple[str, str]:
    address = f"{name.lower().replace(' ', '.')}-{uuid.uuid4().hex[:6]}@example.com"
    return f"{name} <{address}>", address


async def _replies(stack, address: str, *, n: int = 1, attempts: int = 100) -> list[dict]:
    """The intake replies (Auto-Submitted) the sink received for this address."""
    for _ in range(attempts):
        rows = await stack.pool.fetch(
            "SELECT subject, body, payload FROM sink_messages WHERE channel = 'email' AND recipient = $1"
            " AND payload->'headers'->>'Auto-Submitted' = 'auto-replied' ORDER BY id",
            address,
        )
        if len(rows) >= n:
            return [dict(r) for r in rows]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no intake reply to {address}")


def _header(reply: dict, name: str) -> str:
    import json

    payload = reply["payload"] if isinstance(reply["payload"], dict) else json.loads(reply["payload"])
    return payload["headers"].get(name, "")


async def _events(stack, complaint_id: str, kind: str, attempts: int = 100) -> list[str]:
    for _ in range(attempts):
        rows = await stack.pool.fetch(
            "SELECT text FROM timeline_events WHERE complaint_id = $1 AND kind = $2 ORDER BY at",
            complaint_id,
            kind,
        )
        if rows:
            return [r["text"] for r in rows]
        await asyncio.sleep(0.1)
    return []


def test_message_ids_and_numbers_are_read_from_headers_and_subjects():
    assert message_ids("<b@x>", "<a@x> <b@x>") == ["<b@x>", "<a@x>"]
    assert message_ids(None, "") == []
    assert number_in_subject("Re: 关于您的咨询 C-20261202-3VMW9H 的答复") == "C-20261202-3VMW9H"
    assert number_in_subject("re: c-20261202-3vmw9h") == "C-20261202-3VMW9H"
    assert number_in_subject("order 20261202") is None


async def test_a_lost_parcel_without_a_waybill_is_filed_and_the_reply_asks_for_it(stack, smtp):
    sender, address = _sender("李四")
    msg = _mail("包裹丢失", "我的包裹丢了，快递单找不到了，请帮忙查一下。", sender)
    response = await _send(smtp, msg)
    assert response.startswith("OK complaint C-") and response.endswith("filed"), response
    number = response.split()[2]
    [reply] = await _replies(stack, address)
    assert number in reply["subject"] and reply["subject"].startswith("Re: 包裹丢失")
    assert number in reply["body"] and "/status/" in reply["body"]
    assert "订单号或运单号" in reply["body"]  # asked in the sender's language
    assert _header(reply, "In-Reply-To") == msg["Message-ID"]


async def test_an_english_mail_is_answered_in_english_and_a_bad_attachment_is_named(stack, smtp):
    sender, address = _sender("Ann Lee")
    msg = _mail("Parcel damaged", "My parcel arrived damaged, the box was crushed.", sender)
    msg.add_attachment(b"MZ not a picture", maintype="image", subtype="jpeg", filename="box.jpg")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="photo.png")
    response = await _send(smtp, msg)
    assert response.endswith("filed"), response
    [reply] = await _replies(stack, address)
    assert "order or waybill number" in reply["body"]
    assert "box.jpg" in reply["body"] and "photo.png" not in reply["body"]
    number = response.split()[2]
    names = await stack.pool.fetch("SELECT name FROM intake_attachments WHERE complaint_id = $1", number)
    assert [r["name"] for r in names] == ["photo.png"]


async def test_a_mail_that_cannot_be_filed_gets_a_reply_saying_why(stack, smtp):
    sender, address = _sender("王五")
    msg = _mail("", "", sender)
    with pytest.raises(aiosmtplib.SMTPDataError) as e:
        await _send(smtp, msg)
    assert e.value.code == 550
    [reply] = await _replies(stack, address)
    assert "未能登记" in reply["body"] or "could not be filed" in reply["body"]
    assert "description" in reply["body"] or "the text of the mail" in reply["body"]


async def test_a_reply_to_our_mail_joins_the_complaint_instead_of_opening_a_new_one(stack, smtp):
    sender, address = _sender("赵六")
    first = _mail("快递丢了", "包裹一直没到，也查不到。", sender)
    number = (await _send(smtp, first)).split()[2]
    [ours] = await _replies(stack, address)
    answer = _mail(
        f"Re: {ours['subject']}", "运单号是 SF9876543210，麻烦尽快处理。", sender,
        In_Reply_To=_header(ours, "Message-ID"), References=f"{first['Message-ID']} {_header(ours, 'Message-ID')}",
    )  # fmt: skip
    response = await _send(smtp, answer)
    assert response == f"OK complaint {number} joined", response
    assert any("SF9876543210" in t for t in await _events(stack, number, "customer_message"))
    filed = await stack.pool.fetchval(
        "SELECT count(*) FROM intake_receipts r JOIN complaints c USING (complaint_id)"
        " WHERE c.view->'customer'->>'email' = $1",
        address,
    )
    assert filed <= 1  # no second complaint for this customer


async def test_the_number_in_the_subject_joins_only_from_the_complaints_customer(stack, smtp):
    sender, address = _sender("Chen Jie")
    number = (
        await _send(smtp, _mail("Late parcel", "Waybill SF5550007777 is a week late.", sender))
    ).split()[2]
    for _ in range(100):  # the ledger row is written by the workflow's activity
        if await stack.pool.fetchval("SELECT 1 FROM complaints WHERE complaint_id = $1", number):
            break
        await asyncio.sleep(0.1)
    reply = _mail(f"Re: 关于您的咨询 {number} 的答复", "Still nothing, please call me.", sender)
    assert await _send(smtp, reply) == f"OK complaint {number} joined"
    stranger, _ = _sender("Mallory")
    other = await _send(smtp, _mail(f"Re: {number}", "I want to add something to this complaint.", stranger))
    assert other.split()[2] != number and other.endswith("filed")


async def test_a_reply_to_the_workflows_confirmation_mail_joins_by_its_message_id(stack, smtp):
    sender, address = _sender("孙七")
    number = (
        await _send(smtp, _mail("投诉：包裹破损", "运单号 SF1357924680 外箱破损，花瓶碎了。", sender))
    ).split()[2]
    sent = None
    for _ in range(200):  # the workflow's confirmation goes out through the notifier's outbox
        sent = await stack.pool.fetchrow(
            "SELECT subject, provider_message_id FROM notifications WHERE complaint_id = $1 AND channel = 'email'"
            " AND audience = 'customer' AND provider_message_id IS NOT NULL ORDER BY id LIMIT 1",
            number,
        )
        if sent:
            break
        await asyncio.sleep(0.1)
    assert sent, "the workflow sent no e-mail to the customer"
    answer = _mail(
        "Re: your mail", "补充：破损的是蓝色花瓶。", sender, In_Reply_To=sent["provider_message_id"]
    )
    assert await _send(smtp, answer) == f"OK complaint {number} joined"
    assert any("蓝色花瓶" in t for t in await _events(stack, number, "customer_message"))


async def test_a_reply_by_mail_while_waiting_on_the_customer_resumes_the_complaint(stack, smtp):
    sender, address = _sender("周八")
    number = (await _send(smtp, _mail("包裹破损", "运单号 SF2468013579 外箱破损。", sender))).split()[2]
    workflow_id = None
    for _ in range(100):  # the ledger row, written by the workflow's activity, names its workflow
        workflow_id = await stack.pool.fetchval(
            "SELECT workflow_id FROM complaints WHERE complaint_id = $1", number
        )
        if workflow_id:
            break
        await asyncio.sleep(0.1)
    handle = stack.client.get_workflow_handle(workflow_id)
    agent = Actor(id="zhang", role=Role.SPECIALIST)
    await handle.execute_update(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=agent), result_type=a.ActionResult)
    waiting = await handle.execute_update(
        a.UPDATE_WAIT, a.WaitOnCustomer(actor=agent, reason="请发来破损照片"), result_type=a.ActionResult
    )
    assert waiting.state == State.WAITING_ON_CUSTOMER.value
    answer = _mail(f"Re: 投诉 {number} 需要您的配合", "照片在附件里。", sender)
    answer.add_attachment(PNG, maintype="image", subtype="png", filename="crack.png")
    assert await _send(smtp, answer) == f"OK complaint {number} joined"
    view = await handle.query(a.QUERY_STATE, result_type=ComplaintView)
    assert view.state == State.ACKNOWLEDGED  # the clocks run again
    assert "crack.png" in [att.name for att in view.attachments]
    assert any("照片在附件里" in t for t in await _events(stack, number, "customer_message"))
    assert await _events(stack, number, "resumed")
