"""No 5xx from any input: NUL bytes, control characters and over-long values in every path, query, form
field, JSON field and cookie of every route (the OpenAPI ones and the HTML pages) give a 4xx naming the field."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote

import httpx
from fastapi.routing import iter_route_contexts

from ledger.api_keys import create_api_key
from tests.security.test_routes import app_routes
from tests.starters.conftest import complaint_body
from tests.ui.conftest import signed_in

# The issue's URLs (five of them public): each was a 500 (CharacterNotInRepertoireError).
ISSUE_URLS = {
    "/status/%00": "token",
    "/attachments/%00": "attachment_id",
    "/staff?tier=%00": "tier",
    "/staff/complaints/%00": "complaint_id",
    "/sink/messages?channel=%00": "channel",
    "/staff/complaints/%00/version": "complaint_id",
    "/staff/queue/rows?channel=%00": "channel",
    "/staff/messages?complaint=%00": "complaint",
    "/dashboard?region=%00": "region",
    "/dashboard/complaints.csv?customer_type=%00": "customer_type",
}
BAD = {"nul": "\x00", "bell": "a\x07b", "escape": "\x1b[31m", "long": "x" * 5000}
# Query names the HTML pages read from request.query_params themselves, besides their declared ones.
PAGE_QUERY = (
    "tier",
    "scope",
    "channel",
    "complaint_type",
    "region",
    "customer_type",
    "from",
    "to",
    "next",
    "lang",
)
PAGE_FORM = ("username", "password", "next", "message", "score", "csrf_token", "description")


def _params(app) -> dict[tuple[str, str], tuple[list[str], list[str], list[str]]]:
    """(method, path) → (path params, query params, form fields) as declared by each route."""
    out = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        names = _declared(dependant)
        for method in route.methods - {"HEAD"}:
            out[(method, context.path)] = names
    return out


def _declared(dependant) -> tuple[list[str], list[str], list[str]]:
    """Path, query and body parameter names of a route and all its dependencies."""
    names: tuple[list[str], list[str], list[str]] = (
        [p.alias for p in dependant.path_params],
        [p.alias for p in dependant.query_params],
        [p.alias for p in dependant.body_params],
    )
    for sub in dependant.dependencies:
        for mine, theirs in zip(names, _declared(sub), strict=True):
            mine.extend(theirs)
    return names


def _fill(path: str, bad: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: quote(bad.get(m.group(1), "x"), safe=""), path)


async def test_the_issues_urls_give_a_4xx_naming_the_field(web):
    async with signed_in(web.base_url, "admin") as admin, httpx.AsyncClient(base_url=web.base_url) as anon:
        for url, field in ISSUE_URLS.items():
            for http in (admin, anon):
                r = await http.get(url)
                assert r.status_code in (400, 422), (url, r.status_code, r.text[:200])
                assert field in r.text, (url, r.text[:300])
        page = await admin.get("/staff?tier=%00&lang=en")
        assert "text/html" in page.headers["content-type"]
        assert "Field “tier”: contains a control character" in page.text
        api = await anon.get("/sink/messages?channel=%00")
        assert api.json()["detail"][0]["loc"] == ["query", "channel"]


def _cases(method: str, path: str, declared: tuple[list[str], list[str], list[str]]) -> list[tuple]:
    """(where, url, query, form) per bad value: every declared parameter gets each bad value; the names
    the pages read themselves get a NUL (they all pass through the same guard)."""
    path_names, query_names, form_names = declared
    cases = []
    for label, value in BAD.items():
        cases += [(f"path {n}", label, _fill(path, {n: value}), {}, None) for n in path_names]
        if method == "GET":
            cases += [(f"query {n}", label, _fill(path, {}), {n: value}, None) for n in query_names]
        else:
            cases += [(f"form {n}", label, _fill(path, {}), {}, {n: value}) for n in form_names]
    extra = PAGE_QUERY if method == "GET" else PAGE_FORM
    for n in sorted(set(extra) - set(query_names) - set(form_names)):
        query, form = ({n: BAD["nul"]}, None) if method == "GET" else ({}, {n: BAD["nul"]})
        cases.append((f"{'query' if method == 'GET' else 'form'} {n}", "nul", _fill(path, {}), query, form))
    return cases


async def test_the_control_character_sweep_over_every_route_finds_no_server_error(web):
    api_key = await create_api_key(web.pool, "security-sweep", rate_per_minute=60_000, burst=10_000)
    routes = app_routes(web.app)
    declared = _params(web.app)
    results = []
    async with signed_in(web.base_url, "admin") as http:
        http.headers["X-API-Key"] = api_key

        async def send(method: str, path: str, case: tuple) -> None:
            where, label, url, query, form = case
            r = await http.request(method, url, params=query, data=form)
            named = where.split()[1] in r.text
            results.append((method, path, where, label, r.status_code, named, r.text[:300]))

        cases = [(m, p, c) for m, p in routes for c in _cases(m, p, declared.get((m, p), ([], [], [])))]
        for i in range(0, len(cases), 8):  # a few at a time: the server's event loop overlaps them
            await asyncio.gather(*(send(*c) for c in cases[i : i + 8]))
    errors = [r for r in results if r[4] >= 500]
    assert errors == []
    unnamed = [r for r in results if r[3] != "long" and r[4] in (400, 422) and not r[5]]
    assert unnamed == [], [u[:5] for u in unnamed]
    refused = sum(r[4] in (400, 414, 422) for r in results)
    print(
        f"\ncontrol-character sweep: {len(results)} requests over {len(routes)} routes, {refused} refused (4xx)"
    )
    assert refused > len(results) // 2


async def test_json_fields_and_cookies_with_control_characters_are_refused_by_name(web):
    api_key = await create_api_key(web.pool, "security-json", rate_per_minute=60_000, burst=10_000)
    async with httpx.AsyncClient(base_url=web.base_url, headers={"X-API-Key": api_key}) as http:
        body = complaint_body(customer_name="张\x00三")
        r = await http.post("/api/v1/complaints", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["fields"][0]["field"] == "customer.name"
        r = await http.post("/api/v1/complaints", json=complaint_body(description="x\x1b[2J"))
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "description"
        # A quoted cookie value with an octal escape decodes to a NUL inside the app.
        r = await http.get("/login", headers={"Cookie": 'desk_session="\\000abc"'})
        assert r.status_code == 400 and "desk_session" in r.text
