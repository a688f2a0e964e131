"""The notify activity against the real stand-ins: one message per channel, rejections recorded, retries safe."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import urllib.parse
import uuid

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.ledger import LedgerWriter
from activities.notifications.channels import DingTalkRobotChannel, JsonSmsChannel, WeComRobotChannel
from activities.notifications.notifier import Notifier
from activities.notifications.routing import RoutingConfig
from activities.registry import build_channels
from domain.messages import Audience, Notification, TemplateKey
from domain.models import Department, Locale, Role
from standins.http import serve

from .factories import batch, view
from .notify_workflow import NotifyOnce

CUSTOMER = {"name": "张三", "phone": "+86 138 0000 0000", "email": "zhang@example.com"}


def customer_note(key: str = "C-1/confirmation", **context) -> Notification:
    return Notification(
        idempotency_key=key,
        complaint_id="C-1",
        template=TemplateKey.CONFIRMATION,
        audience=Audience.CUSTOMER,
        locale=Locale.ZH_CN,
        context={
            "customer": CUSTOMER,
            "status_token": "tok-1",
            "promised": {"first_response": "2026-03-02T01:05:00Z"},
        }
        | context,
    )


async def run(notifier: Notifier, n: Notification):
    return await ActivityEnvironment().run(notifier.notify, n)


async def test_customer_gets_the_confirmation_once_on_every_channel_they_use(notifier, standins):
    result = await run(notifier, customer_note(channel="app"))
    assert result.delivered == ["sms", "email", "push"] and not result.rejected and not result.duplicate

    sink = {r["channel"]: r for r in await standins.sink("C-1")}
    assert set(sink) == {"sms", "email", "push"}
    assert sink["sms"]["recipient"] == "+86 138 0000 0000"
    assert sink["email"]["recipient"] == "zhang@example.com"
    assert sink["email"]["subject"] == "您的投诉已受理（编号 C-1）"
    assert "https://desk.example.com/status/tok-1" in sink["sms"]["body"]
    assert "2026-03-02 09:05（北京时间）" in sink["email"]["body"]
    assert all(r["deliveries"] == 1 for r in sink.values())

    outbox = await standins.outbox("C-1/confirmation")
    assert [(r["channel"], r["status"], r["attempts"]) for r in outbox] == [
        ("email", "sent", 1),
        ("push", "sent", 1),
        ("sms", "sent", 1),
    ]
    assert all(r["provider_message_id"] for r in outbox)


async def test_the_same_notification_again_sends_nothing_and_says_duplicate(notifier, standins):
    await run(notifier, customer_note())
    again = await run(notifier, customer_note())
    assert again.duplicate and again.delivered == ["sms", "email"]
    assert [r["deliveries"] for r in await standins.sink("C-1")] == [1, 1]  # no resend reached the providers
    assert [r["attempts"] for r in await standins.outbox("C-1/confirmation")] == [1, 1]


async def test_two_attempts_at_once_send_once_and_the_second_waits_instead_of_deferring(notifier, standins):
    """Intake's early confirmation and the workflow's intake step send the same notification at once: the
    one that finds the deliveries held waits for them (Outbox.lock_wait) and finds them sent, instead of
    failing over to a retry activity."""
    first, second = await asyncio.gather(run(notifier, customer_note()), run(notifier, customer_note()))
    assert sorted([first.duplicate, second.duplicate]) == [False, True]
    assert first.delivered == second.delivered == ["sms", "email"]
    assert [r["deliveries"] for r in await standins.sink("C-1")] == [1, 1]
    assert [r["attempts"] for r in await standins.outbox("C-1/confirmation")] == [1, 1]


async def test_english_speaking_customer_gets_english(notifier, standins):
    n = customer_note().model_copy(update={"locale": Locale.EN})
    await run(notifier, n)
    email = (await standins.sink("C-1", "email"))[0]
    assert email["subject"] == "We have received your complaint C-1"
    assert "2026-03-02 09:05 (China Standard Time)" in email["body"]


async def test_contact_and_status_link_come_from_the_ledger_when_the_context_has_none(notifier, standins):
    await ActivityEnvironment().run(LedgerWriter(standins.pool).record_ledger, batch(view("C-1")))
    n = Notification(
        idempotency_key="C-1/ack",
        complaint_id="C-1",
        template=TemplateKey.ACKNOWLEDGED,
        audience=Audience.CUSTOMER,
    )
    result = await run(notifier, n)
    assert result.delivered == ["sms", "email"]  # filed by hotline: no app push
    sms = (await standins.sink("C-1", "sms"))[0]
    assert sms["recipient"] == "+8613800000000" and "https://desk.example.com/status/tok-C-1" in sms["body"]


async def test_a_bad_number_is_rejected_for_good_recorded_and_the_rest_still_goes(notifier, standins):
    n = customer_note(customer={**CUSTOMER, "phone": "+999 1234 5678"})
    result = await run(notifier, n)
    assert result.rejected == ["sms"] and result.delivered == ["email"]
    rows = {r["channel"]: r for r in await standins.outbox("C-1/confirmation")}
    assert rows["sms"]["status"] == "rejected" and "not an allocated number" in rows["sms"]["error"]
    again = await run(notifier, n)  # a retry reports the same, without asking the provider again
    assert again.rejected == ["sms"] and (await standins.outbox("C-1/confirmation"))[1]["attempts"] == 1
    assert [r["channel"] for r in await standins.sink("C-1")] == ["email"]


async def test_a_mailbox_that_does_not_exist_is_a_rejection_not_a_failure(notifier, standins):
    result = await run(notifier, customer_note(customer={"name": "X", "email": "x@nowhere.invalid"}))
    assert result.rejected == ["email"] and result.delivered == []
    row = (await standins.outbox("C-1/confirmation"))[0]
    assert row["status"] == "rejected" and "550" in row["error"]


async def test_a_customer_with_no_reachable_channel_is_handed_to_a_person(notifier):
    result = await run(notifier, customer_note(customer={"name": "X"}))
    assert result.rejected == ["unreachable"] and result.delivered == []


async def test_a_deferring_mailbox_fails_the_attempt_and_the_retry_delivers_once(notifier, standins):
    n = customer_note(customer={"name": "X", "email": "x@greylist.example.com"})
    with pytest.raises(ApplicationError) as e:
        await run(notifier, n)
    assert e.value.type == "NotificationDeferred" and not e.value.non_retryable
    assert (await standins.outbox("C-1/confirmation"))[0]["status"] == "failed"
    result = await run(notifier, n)
    assert result.delivered == ["email"]
    assert [(r["recipient"], r["deliveries"]) for r in await standins.sink("C-1")] == [
        ("x@greylist.example.com", 1)
    ]


async def test_staff_alert_goes_to_both_group_robots_and_the_mailboxes_of_the_roles(notifier, standins):
    n = Notification(
        idempotency_key="C-1/breach/first_response/1",
        complaint_id="C-1",
        template=TemplateKey.BREACH,
        audience=Audience.STAFF,
        roles=[Role.SUPERVISOR, Role.DEPARTMENT_HEAD],
        departments=[Department.WAREHOUSE],
        context={
            "obligation": "first_response",
            "due_at": "2026-03-02T01:05:00Z",
            "escalated_to": "supervisor",
        },
    )
    result = await run(notifier, n)
    assert sorted(result.delivered) == ["dingtalk", "email", "wecom"]
    sink = await standins.sink("C-1")
    assert sorted((r["channel"], r["recipient"]) for r in sink) == [
        ("dingtalk", "group:test-group"),
        ("email", "supervisor@desk.local"),
        ("email", "warehouse-head@desk.local"),
        ("wecom", "group:test-group"),
    ]
    wecom = next(r for r in sink if r["channel"] == "wecom")
    payload = json.loads(wecom["payload"])
    assert payload["msgtype"] == "markdown" and payload["markdown"]["content"].startswith("### 【已超时】")
    assert "https://desk.example.com/staff/complaints/C-1" in payload["markdown"]["content"]
    ding = json.loads(next(r for r in sink if r["channel"] == "dingtalk")["payload"])
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"].startswith("【已超时】")


async def test_routing_is_configuration(standins, channels):
    routing = RoutingConfig.from_json(
        '{"role_channels": {"supervisor": ["email"]}, "mailboxes": {"supervisor": ["leads@example.com"]}}'
    )
    notifier = Notifier(standins.pool, channels, routing)
    n = Notification(
        idempotency_key="C-1/warn",
        complaint_id="C-1",
        template=TemplateKey.WARNING,
        audience=Audience.STAFF,
        roles=[Role.SUPERVISOR],
        context={"obligation": "resolution", "due_at": "2026-03-02T05:00:00Z"},
    )
    assert (await run(notifier, n)).delivered == ["email"]
    assert [r["recipient"] for r in await standins.sink("C-1")] == ["leads@example.com"]


async def test_twilio_format_delivers_and_maps_its_invalid_number_error_to_a_rejection(standins, http):
    channels = build_channels(
        standins.settings(
            sms_provider="twilio",
            sms_url=f"{standins.base_url}/sink/twilio",
            twilio_account_sid="AC123",
            sms_sender="+15005550006",
        ),
        http,
    )
    notifier = Notifier(standins.pool, channels)
    assert (
        await run(notifier, customer_note("C-1/a", customer={"name": "X", "phone": "+8613800000000"}))
    ).delivered == ["sms"]
    twilio = (await standins.sink("C-1", "sms-twilio"))[0]
    assert json.loads(twilio["payload"])["From"] == "+15005550006"
    outbox = (await standins.outbox("C-1/a"))[0]
    assert outbox["provider_message_id"].startswith("SM")
    bad = await run(notifier, customer_note("C-1/b", customer={"name": "X", "phone": "12"}))
    assert bad.rejected == ["sms"]
    assert "21211" in (await standins.outbox("C-1/b"))[0]["error"]


async def test_robot_errcodes_are_rejections_and_dingtalk_signs_its_url(standins, http):
    wecom = WeComRobotChannel(http, f"{standins.base_url}/sink/wecom/cgi-bin/webhook/send?key=")
    notifier = Notifier(standins.pool, {"wecom": wecom})
    n = Notification(
        idempotency_key="C-1/x",
        complaint_id="C-1",
        template=TemplateKey.ESCALATION,
        audience=Audience.STAFF,
        roles=[Role.SPECIALIST],
        context={"escalated_to": "supervisor"},
    )
    result = await run(notifier, n)
    assert result.rejected == ["wecom"]
    assert "93000" in (await standins.outbox("C-1/x"))[0]["error"]

    ding = DingTalkRobotChannel(
        http, f"{standins.base_url}/sink/dingtalk/robot/send?access_token=t", secret="SEC"
    )
    url = urllib.parse.urlsplit(ding.signed_url(timestamp_ms=1700000000000))
    query = dict(urllib.parse.parse_qsl(url.query))
    expected = base64.b64encode(hmac.new(b"SEC", b"1700000000000\nSEC", hashlib.sha256).digest()).decode()
    assert query == {"access_token": "t", "timestamp": "1700000000000", "sign": expected}
    assert (
        await run(
            Notifier(standins.pool, {"dingtalk": ding}), n.model_copy(update={"idempotency_key": "C-1/y"})
        )
    ).delivered == ["dingtalk"]


async def test_transient_provider_failures_are_retried_by_temporal_with_the_same_key(ts_env, standins, http):
    """A provider that answers 503 twice: Temporal retries the activity, every attempt carries the same
    Idempotency-Key, and the customer gets one message."""
    seen: list[str] = []
    provider = FastAPI()

    @provider.post("/sms")
    async def flaky_sms(request: Request) -> JSONResponse:
        seen.append(request.headers["idempotency-key"])
        if len(seen) <= 2:
            return JSONResponse({"error": "busy"}, status_code=503)
        return JSONResponse({"id": "ok-1"})

    async with serve(provider) as provider_url:
        notifier = Notifier(standins.pool, {"sms": JsonSmsChannel(http, f"{provider_url}/sms")})
        queue = f"notify-{uuid.uuid4().hex[:8]}"
        async with Worker(
            ts_env.client, task_queue=queue, workflows=[NotifyOnce], activities=[notifier.notify]
        ):
            result = await ts_env.client.execute_workflow(
                NotifyOnce.run, args=[customer_note(), queue, 30.0], id=f"wf-{queue}", task_queue=queue
            )
    assert result.delivered == ["sms"]
    assert seen == ["C-1/confirmation/sms/+86 138 0000 0000"] * 3
    row = (await standins.outbox("C-1/confirmation"))[0]
    assert (row["status"], row["attempts"], row["provider_message_id"]) == ("sent", 3, "ok-1")


async def test_a_provider_that_cannot_be_reached_is_a_transient_failure(standins, http):
    notifier = Notifier(
        standins.pool, {"sms": JsonSmsChannel(http, "http://127.0.0.1:9/sms")}
    )  # discard port
    with pytest.raises(ApplicationError, match="cannot reach"):
        await run(notifier, customer_note())
    assert (await standins.outbox("C-1/confirmation"))[0]["status"] == "failed"


async def test_an_escalation_names_the_role_it_goes_to(notifier, standins):
    n = Notification(
        idempotency_key="C-1/reopened:1",
        complaint_id="C-1",
        template=TemplateKey.ESCALATION,
        audience=Audience.STAFF,
        roles=[Role.SENIOR_SUPERVISOR],
        context={"reason": "customer unsatisfied", "score": 2, "demand": "全额赔偿"},
    )
    await run(notifier, n)
    mail = (await standins.sink("C-1", "email"))[0]
    assert mail["recipient"] == "senior_supervisor@desk.local"
    assert "已升级至资深主管" in mail["subject"] and "客户诉求：全额赔偿（评分 2）" in mail["body"]
