"""The local stand-ins speak their providers' protocols, errors included, and never answer 500 to bad input."""

from __future__ import annotations

import aiosmtplib
import pytest

from standins.sink import list_sink_messages


async def test_generic_sms_collapses_a_resend_with_the_same_idempotency_key(standins, http):
    url = f"{standins.base_url}/sink/sms"
    headers = {"Idempotency-Key": "k-1", "X-Complaint-Id": "C-1"}
    first = await http.post(url, json={"to": "+8613800000000", "text": "hi"}, headers=headers)
    again = await http.post(url, json={"to": "+8613800000000", "text": "hi"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    [message] = await list_sink_messages(standins.pool, "C-1")
    assert (message.channel, message.deliveries, message.body) == ("sms", 2, "hi")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"text": "hi"}, "to"),
        ({"to": "+8613800000000"}, "text"),
        ({"to": "+8613800000000", "text": ""}, "text"),
    ],
)
async def test_generic_sms_names_the_missing_field(standins, http, body, field):
    response = await http.post(f"{standins.base_url}/sink/sms", json=body)
    assert response.status_code == 422 and field in response.text


async def test_generic_sms_refuses_a_bad_number_with_a_4xx(standins, http):
    response = await http.post(f"{standins.base_url}/sink/sms", json={"to": "call me", "text": "hi"})
    assert response.status_code == 400 and response.json()["field"] == "to"


async def test_twilio_requires_basic_auth_and_answers_201_with_a_message_sid(standins, http):
    url = f"{standins.base_url}/sink/twilio/2010-04-01/Accounts/AC1/Messages.json"
    form = {"To": "+14155550100", "From": "+15005550006", "Body": "hello"}
    assert (await http.post(url, data=form)).json()["code"] == 20003
    response = await http.post(url, data=form, auth=("AC1", "token"))
    assert response.status_code == 201 and response.json()["sid"].startswith("SM")
    missing = await http.post(url, data={"From": "+15005550006", "Body": "x"}, auth=("AC1", "token"))
    assert missing.status_code == 400 and missing.json()["code"] == 21604


@pytest.mark.parametrize(
    "body, errcode",
    [
        ({"msgtype": "image", "image": {}}, 40008),
        ({"msgtype": "markdown", "markdown": {"content": "  "}}, 44004),
        ({"msgtype": "markdown", "markdown": {"content": "x" * 5000}}, 40058),
        ([1, 2], 40035),
    ],
)
async def test_wecom_answers_bad_messages_with_its_errcodes(standins, http, body, errcode):
    response = await http.post(f"{standins.base_url}/sink/wecom/cgi-bin/webhook/send?key=k", json=body)
    assert response.status_code == 200 and response.json()["errcode"] == errcode


async def test_robots_survive_a_body_that_is_not_json(standins, http):
    for path in ("wecom/cgi-bin/webhook/send?key=k", "dingtalk/robot/send?access_token=t"):
        response = await http.post(f"{standins.base_url}/sink/{path}", content=b"{not json")
        assert response.status_code == 200 and response.json()["errcode"] != 0


async def test_dingtalk_text_message_is_stored_and_a_half_signature_refused(standins, http):
    url = f"{standins.base_url}/sink/dingtalk/robot/send"
    body = {"msgtype": "text", "text": {"content": "投诉 C-1 已超时"}}
    assert (await http.post(url, json=body)).json()["errcode"] == 300001  # no access token
    assert (await http.post(f"{url}?access_token=t&timestamp=1", json=body)).json()["errcode"] == 310000
    ok = await http.post(f"{url}?access_token=t", json=body, headers={"X-Complaint-Id": "C-1"})
    assert ok.json() == {"errcode": 0, "errmsg": "ok"}
    [message] = await list_sink_messages(standins.pool, "C-1", channel="dingtalk")
    assert message.body == "投诉 C-1 已超时" and message.recipient == "group:t"


async def test_smtp_sink_stores_each_recipients_copy_and_refuses_invalid_domains(standins):
    message = (
        "From: desk@desk.local\r\nTo: a@example.com\r\nSubject: =?utf-8?b?5rWL6K+V?=\r\n"
        "Message-ID: <m1@desk.local>\r\nX-Complaint-Id: C-2\r\n\r\nbody text\r\n"
    )
    await aiosmtplib.send(
        message,
        sender="desk@desk.local",
        recipients=["a@example.com", "b@example.com"],
        hostname="127.0.0.1",
        port=standins.smtp_port,
    )
    stored = await list_sink_messages(standins.pool, "C-2")
    assert sorted(m.recipient for m in stored) == ["a@example.com", "b@example.com"]
    assert {m.subject for m in stored} == {"测试"} and stored[0].body.strip() == "body text"
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await aiosmtplib.send(
            message,
            sender="desk@desk.local",
            recipients=["x@nowhere.invalid"],
            hostname="127.0.0.1",
            port=standins.smtp_port,
        )


async def test_sink_messages_are_listed_newest_first_and_the_limit_is_checked(standins, http):
    for i in range(3):
        await http.post(
            f"{standins.base_url}/sink/push",
            json={"to": "u1", "body": f"m{i}"},
            headers={"X-Complaint-Id": "C-3"},
        )
    listed = await http.get(f"{standins.base_url}/sink/messages", params={"complaint_id": "C-3", "limit": 2})
    assert [m["body"] for m in listed.json()] == ["m2", "m1"]
    assert (await http.get(f"{standins.base_url}/sink/messages", params={"limit": 0})).status_code == 422


async def test_carrier_simulator_over_http(standins, http):
    base = f"{standins.base_url}/carrier-sim/waybills"
    found = await http.get(f"{base}/SF1234567894", params={"now": "2026-03-06T04:00:00Z"})
    assert found.status_code == 200 and found.json()["status"] == "delivered"
    assert (await http.get(f"{base}/SF1234560000")).status_code == 404
    assert (await http.get(f"{base}/ER1234567894")).status_code == 503
    bad = await http.get(f"{base}/SF1234567894", params={"now": "yesterday"})
    assert bad.status_code == 422 and "now" in bad.text


async def test_the_web_app_mounts_the_stand_ins_only_when_told():
    import httpx

    from core.settings import Settings
    from desk.web import create_web_app

    async def get(settings: Settings, path: str) -> int:
        transport = httpx.ASGITransport(app=create_web_app(settings))  # no lifespan: no database, no Temporal
        async with httpx.AsyncClient(transport=transport, base_url="http://desk") as client:
            return (await client.get(path)).status_code

    off = Settings(_env_file=None, dev_mode=True)
    on = Settings(_env_file=None, dev_mode=True, standins=True)
    assert await get(off, "/carrier-sim/waybills/SF1234567894") == 404
    assert await get(on, "/carrier-sim/waybills/SF1234567894") == 200
