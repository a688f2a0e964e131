"""Every route of the app without a session, and the reading pages with each role."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from fastapi.routing import iter_route_contexts

from tests.ui import ledger_seed as seed
from tests.ui.conftest import signed_in
from ui.auth import DEMO_USERS

SECRET_ID = "C-SECRET"
SECRET_TEXT = "机密描述 only staff may read"
PHONE = "+8613800000000"  # the seeded customer's

# Routes anyone may call, and what a stranger gets. Everything else must turn a stranger away.
PUBLIC = {
    ("GET", "/healthz"): {200},
    ("GET", "/login"): {200},
    ("POST", "/login"): {403},  # no CSRF token
    ("POST", "/logout"): {403},
    ("GET", "/file"): {200},  # the customers' complaint form
    ("POST", "/file"): {403},
    ("GET", "/status/{token}"): {404},  # only with the complaint's token
    ("POST", "/status/{token}/rate"): {403, 404},
    ("GET", "/attachments/{attachment_id}"): {404},  # unguessable ids
    ("POST", "/api/v1/webhooks/{source}"): {401, 404},  # signed by the source
    ("GET", "/carrier-sim/waybills/{waybill}"): {200, 404, 503},  # the simulator's made-up trails
    ("GET", "/openapi.json"): {200},
    ("GET", "/docs"): {200},
    ("GET", "/docs/oauth2-redirect"): {200},
    ("GET", "/redoc"): {200},
}


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SECRET_ID if m.group(1) == "complaint_id" else "x", path)


def app_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route, included routers' too (FastAPI includes them lazily)."""
    out = []
    for context in iter_route_contexts(app.routes):
        methods = getattr(context.original_route, "methods", None)
        if methods:  # not the static files mount
            out += [(m, context.path) for m in sorted(methods - {"HEAD"})]
    return out


async def test_every_route_turns_a_stranger_away_and_shows_no_data(web):
    await seed.write(web.pool, seed.view(SECRET_ID, received_at=datetime.now(UTC), description=SECRET_TEXT))
    routes = app_routes(web.app)
    assert len(routes) > 30
    seen = []
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as http:
        for method, path in routes:
            r = await http.request(method, _url(path))
            seen.append((method, path, r.status_code))
            assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
            for secret in (SECRET_TEXT, PHONE):
                assert secret not in r.text, (method, path)
            if (method, path) in PUBLIC:
                assert r.status_code in PUBLIC[(method, path)], (method, path, r.status_code)
                continue
            if r.status_code == 303:
                assert r.headers["location"].startswith("/login"), (method, path)
            else:
                assert r.status_code in (401, 403), (method, path, r.status_code, r.text[:200])
    print(f"\n{len(seen)} route/method pairs tried without a session")


MANAGERS = {"supervisor", "senior_supervisor", "department_head", "admin"}


async def test_each_role_reads_what_its_job_needs_and_nothing_more(web):
    await seed.write(web.pool, seed.view(SECRET_ID, received_at=datetime.now(UTC), description=SECRET_TEXT))
    for user in DEMO_USERS:
        async with signed_in(web.base_url, user.username) as http:
            for path in ("/staff", "/staff/messages", f"/staff/complaints/{SECRET_ID}", "/sink/messages"):
                assert (await http.get(path)).status_code == 200, (user.username, path)
            for path in ("/dashboard", "/dashboard.csv", "/dashboard/complaints.csv", "/staff/supervisor"):
                r = await http.get(path)
                expected = 200 if user.role.value in MANAGERS else 403
                assert r.status_code == expected, (user.username, path, r.status_code)
                if expected == 403:
                    assert SECRET_ID not in r.text
