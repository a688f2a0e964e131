"""Signed webhooks from e-commerce / social platforms: HMAC over the raw body, replay protection."""

from __future__ import annotations

import json
import time
import uuid

from domain.actions import QUERY_STATE
from domain.view import ComplaintView
from starters.webhook import sign
from tests.starters.conftest import complaint_body


def _event(**over) -> dict:
    body = complaint_body(description="订单商品质量有问题，收到就坏了")
    body.pop("channel")
    event = {
        "event_id": "evt_" + uuid.uuid4().hex,
        "timestamp": int(time.time()),
        "platform": "天猫旗舰店",
        "complaint": body,
    }
    event.update(over)
    return event


async def _post(stack, event: dict | bytes, *, secret: str | None = None, signature: str | None = None):
    raw = event if isinstance(event, bytes) else json.dumps(event, ensure_ascii=False).encode()
    sig = signature if signature is not None else sign(secret or stack.webhook_secret, raw)
    async with stack.http() as http:
        return await http.post(
            f"/api/v1/webhooks/{stack.webhook_source}",
            content=raw,
            headers={"content-type": "application/json", "X-Signature": sig},
        )


async def test_signed_webhook_files_a_complaint_on_the_sources_channel(stack):
    r = await _post(stack, _event())
    assert r.status_code == 201, r.text
    view = await stack.client.get_workflow_handle(r.json()["workflow_id"]).query(
        QUERY_STATE, result_type=ComplaintView
    )
    assert view.channel.value == "ecommerce"
    assert view.description == "订单商品质量有问题，收到就坏了"
    assert r.json()["category"] == "quality"


async def test_redelivered_event_gets_the_first_answer_even_after_the_replay_window(stack):
    event = _event()
    first = await _post(stack, event)
    again = await _post(stack, event)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    # the same event id with another body is refused, not filed
    changed = dict(event, complaint=dict(event["complaint"], description="别的内容"))
    assert (await _post(stack, changed)).status_code == 409
    view = await stack.client.get_workflow_handle(first.json()["workflow_id"]).query(
        QUERY_STATE, result_type=ComplaintView
    )
    assert view.extra_reports == 0


async def test_bad_or_missing_signature_is_refused_before_the_body_is_read(stack):
    event = _event()
    assert (await _post(stack, event, secret="wrong-secret")).status_code == 401
    r = await _post(stack, event, signature="")
    assert r.status_code == 401 and r.json()["fields"][0]["field"] == "X-Signature"
    # an unsigned request with a broken body learns nothing about the schema
    junk = await _post(stack, b'{"complaint": {"x": 1}}', signature="sha256=00")
    assert junk.status_code == 401


async def test_stale_or_future_timestamp_is_refused(stack):
    for ts in (int(time.time()) - 3600, int(time.time()) + 3600):
        r = await _post(stack, _event(timestamp=ts))
        assert r.status_code == 401
        assert r.json()["fields"][0]["field"] == "timestamp"


async def test_signed_but_invalid_complaint_names_the_field(stack):
    event = _event()
    event["complaint"]["customer"]["email"] = "nope"
    r = await _post(stack, event)
    assert r.status_code == 422
    assert "complaint.customer.email" in [f["field"] for f in r.json()["fields"]]


async def test_unknown_source_is_404(stack):
    async with stack.http() as http:
        r = await http.post("/api/v1/webhooks/nobody", content=b"{}", headers={"X-Signature": "sha256=00"})
    assert r.status_code == 404
