"""CSRF tokens bound to the session, Origin/Referer checked, security headers on every page."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from domain.models import State
from tests.ui import ledger_seed as seed
from tests.ui.conftest import csrf_from, signed_in

EVIL = "https://evil.example"


async def test_a_state_change_needs_this_sessions_token_from_this_site(web):
    async with signed_in(web.base_url, "zhang") as http:
        token = csrf_from((await http.get("/staff")).text)
        assert (await http.post("/logout", data={})).status_code == 403  # no token
        async with httpx.AsyncClient(base_url=web.base_url) as stranger:  # another browser's token
            foreign = csrf_from((await stranger.get("/login")).text)
        assert (await http.post("/logout", data={"csrf_token": foreign})).status_code == 403
        async with signed_in(web.base_url, "li") as other:  # another signed-in user's token
            theirs = csrf_from((await other.get("/staff")).text)
        assert (await http.post("/logout", data={"csrf_token": theirs})).status_code == 403
        for origin in ({"Origin": EVIL}, {"Referer": f"{EVIL}/page"}, {"Origin": "null", "Referer": EVIL}):
            r = await http.post("/logout", data={"csrf_token": token}, headers=origin)
            assert r.status_code == 403, origin
            assert "another site" in r.text or "其他网站" in r.text
        still = await http.get("/staff")
        assert still.status_code == 200  # nothing above signed the user out
        r = await http.post("/logout", data={"csrf_token": token}, headers={"Origin": web.base_url})
        assert r.status_code == 303


async def test_a_token_from_before_sign_in_or_an_ended_session_is_refused(web):
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        before = csrf_from((await http.get("/login")).text)
        r = await http.post("/login", data={"username": "zhang", "password": "demo", "csrf_token": before})
        assert r.status_code == 303
        assert (await http.post("/logout", data={"csrf_token": before})).status_code == 403
        during = csrf_from((await http.get("/staff")).text)
        assert (await http.post("/logout", data={"csrf_token": during})).status_code == 303
        r = await http.post("/login", data={"username": "zhang", "password": "demo", "csrf_token": during})
        assert r.status_code == 403  # bound to the session that ended


async def test_the_customers_forms_check_the_origin_too(web):
    v = seed.view("C-ORIGIN", received_at=datetime.now(UTC), state=State.RESOLVED)
    await seed.write(web.pool, v)
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        token = csrf_from((await http.get(f"/status/{v.status_token}")).text)
        r = await http.post(
            f"/status/{v.status_token}/rate",
            data={"score": "5", "csrf_token": token},
            headers={"Origin": EVIL},
        )
        assert r.status_code == 403
        form_token = csrf_from((await http.get("/file")).text)
        r = await http.post("/file", data={"csrf_token": form_token}, headers={"Origin": EVIL})
        assert r.status_code == 403


async def test_every_page_sends_the_security_headers(web):
    v = seed.view("C-HEAD", received_at=datetime.now(UTC))
    await seed.write(web.pool, v)
    anonymous = [
        "/login",
        f"/status/{v.status_token}",
        "/status/nope",
        "/file",
        "/static/desk.css",
        "/healthz",
    ]
    staff = ["/staff", "/staff/complaints/C-HEAD", "/dashboard", "/staff/messages", "/staff/nope"]
    async with signed_in(web.base_url, "admin") as http:
        responses = [await http.get(p) for p in anonymous + staff]
    for r in responses:
        h = r.headers
        assert h["x-frame-options"] == "DENY", r.url
        assert (
            "frame-ancestors 'none'" in h["content-security-policy"]
            and "script-src 'self'" in h["content-security-policy"]
        )
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] in ("same-origin", "no-referrer")
    assert responses[1].headers["referrer-policy"] == "no-referrer"  # the status page's own, kept
