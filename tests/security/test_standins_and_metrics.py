"""The stand-ins and /metrics: absent unless asked for; when present, nothing for strangers."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from core.settings import standin_token
from standins.sink import store_message
from tests.ui.conftest import signed_in, start_web, ui_settings

STATUS_LINK = "http://127.0.0.1:8000/status/tok_SECRET-123abc"
SMS = {"to": "+8613900000001", "text": "您的投诉已受理 " + STATUS_LINK}


async def test_the_sink_viewer_needs_staff_and_never_shows_a_status_token(web):
    await store_message(
        web.pool, channel="sms", body=SMS["text"], payload=SMS, recipient=SMS["to"], complaint_id="C-1"
    )
    async with httpx.AsyncClient(base_url=web.base_url) as stranger:
        r = await stranger.get("/sink/messages?limit=1000")
        assert r.status_code == 303 and "+8613900000001" not in r.text
    async with signed_in(web.base_url, "zhang") as staff:
        listed = (await staff.get("/sink/messages?limit=1000")).json()
        page = (await staff.get("/staff/messages")).text
    assert listed[0]["recipient"] == "+8613900000001"
    for shown in (str(listed), page):
        assert "tok_SECRET-123abc" not in shown and "/status/…" in shown


async def test_only_the_products_own_worker_may_post_to_the_sink(web):
    forged = {"to": "+8613900000002", "text": "请拨打 400-FAKE 领取赔偿"}
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        for headers in ({}, {"Authorization": "Bearer guess"}):
            r = await http.post("/sink/sms", json=forged, headers={"X-Complaint-Id": "C-1", **headers})
            assert r.status_code == 401
        r = await http.post(
            "/sink/wecom/cgi-bin/webhook/send?key=local", json={"msgtype": "text", "text": {"content": "x"}}
        )
        assert r.status_code == 401
        own = {"Authorization": f"Bearer {standin_token(web.settings)}"}
        assert (await http.post("/sink/sms", json={**forged, "text": "ok"}, headers=own)).status_code == 200
    async with signed_in(web.base_url, "zhang") as staff:
        assert "400-FAKE" not in (await staff.get("/staff/messages?complaint=C-1")).text


async def test_production_defaults_serve_no_stand_ins_and_no_metrics(ts_env, ledger_pool, ledger_url):
    settings = ui_settings(ledger_url, standins=False)
    async for w in start_web(ts_env.client, ledger_pool, settings):
        async with httpx.AsyncClient(base_url=w.base_url) as http:
            for path in ("/sink/messages", "/carrier-sim/waybills/SF1234567894", "/metrics"):
                assert (await http.get(path)).status_code == 404, path
            assert (await http.post("/sink/sms", json=SMS)).status_code in (404, 405)


async def test_metrics_want_the_bearer_token(ts_env, ledger_pool, ledger_url):
    settings = ui_settings(ledger_url, metrics_token=SecretStr("scrape-me"))
    async for w in start_web(ts_env.client, ledger_pool, settings):
        async with httpx.AsyncClient(base_url=w.base_url) as http:
            assert (await http.get("/metrics")).status_code == 401
            assert (await http.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
            ok = await http.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
            assert ok.status_code == 200 and "desk_intake_latency_seconds" in ok.text
