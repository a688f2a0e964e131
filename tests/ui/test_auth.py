"""Sign-in, sessions, CSRF and role checks over real HTTP (uvicorn on a free port, real PostgreSQL)."""

from __future__ import annotations

import httpx

from domain.models import Role
from tests.ui.conftest import csrf_from, signed_in
from ui.auth import DEMO_USERS, SESSION_COOKIE


async def test_staff_pages_send_a_stranger_to_sign_in(web):
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        r = await http.get("/staff?scope=mine")
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=/staff%3Fscope%3Dmine"
        r = await http.get("/staff/complaints/C-1")
        assert r.status_code == 303
        r = await http.get("/dashboard")
        assert r.status_code == 303


async def test_passwords_are_stored_as_argon2_hashes(web):
    rows = await web.pool.fetch("SELECT username, password_hash FROM staff_users")
    assert {r["username"] for r in rows} == {u.username for u in DEMO_USERS}
    for r in rows:
        assert r["password_hash"].startswith("$argon2id$")
        assert "demo" not in r["password_hash"]


async def test_sign_in_with_the_right_password_opens_the_queue(web):
    async with signed_in(web.base_url, "zhang") as http:
        r = await http.get("/staff")
        assert r.status_code == 200
        assert "张敏" in r.text  # who is signed in


async def test_a_wrong_password_is_refused_without_a_session(web):
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        page = await http.get("/login?lang=en")
        r = await http.post(
            "/login", data={"username": "zhang", "password": "nope", "csrf_token": csrf_from(page.text)}
        )
        assert r.status_code == 401
        assert "Wrong user name or password" in r.text
        assert SESSION_COOKIE not in r.cookies
        r = await http.post(
            "/login", data={"username": "nobody", "password": "demo", "csrf_token": csrf_from(page.text)}
        )
        assert r.status_code == 401


async def test_sign_in_without_the_csrf_token_is_refused(web):
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        await http.get("/login")  # has the CSRF cookie, but the form token is missing
        r = await http.post("/login", data={"username": "zhang", "password": "demo"})
        assert r.status_code == 403
        assert SESSION_COOKIE not in r.cookies


async def test_a_csrf_token_from_another_browser_is_refused(web):
    async with httpx.AsyncClient(base_url=web.base_url) as other:
        foreign_token = csrf_from((await other.get("/login")).text)
    async with signed_in(web.base_url, "zhang") as http:
        r = await http.post(
            "/staff/complaints/C-1/actions/acknowledge", data={"csrf_token": foreign_token, "message": "hi"}
        )
        assert r.status_code == 403
        r = await http.post("/logout", data={"csrf_token": foreign_token})
        assert r.status_code == 403


async def test_a_forged_session_cookie_is_not_a_session(web):
    async with httpx.AsyncClient(base_url=web.base_url, cookies={SESSION_COOKIE: '{"u":"admin"}'}) as http:
        r = await http.get("/staff")
        assert r.status_code == 303


async def test_sign_out_ends_the_session(web):
    async with signed_in(web.base_url, "zhang") as http:
        page = await http.get("/staff")
        r = await http.post("/logout", data={"csrf_token": csrf_from(page.text)})
        assert r.status_code == 303
        r = await http.get("/staff")
        assert r.status_code == 303


async def test_a_deactivated_user_loses_the_session_at_once(web):
    async with signed_in(web.base_url, "li") as http:
        assert (await http.get("/staff")).status_code == 200
        await web.pool.execute("UPDATE staff_users SET active = false WHERE username = 'li'")
        assert (await http.get("/staff")).status_code == 303


async def test_the_supervisor_pages_refuse_a_specialist(web):
    async with signed_in(web.base_url, "zhang") as http:
        r = await http.get("/staff/supervisor?lang=en")
        assert r.status_code == 403
        assert "Specialist" in r.text
        r = await http.get("/dashboard")
        assert r.status_code == 403


async def test_a_role_that_may_not_approve_is_refused_on_the_server(web):
    """The approve form is not shown to a specialist; a crafted POST is refused before any Update."""
    async with signed_in(web.base_url, "zhang") as http:
        page = await http.get("/staff?lang=en")
        r = await http.post(
            "/staff/complaints/C-NOPE/actions/approve",
            data={"csrf_token": csrf_from(page.text), "approved": "yes"},
        )
        assert r.status_code == 403
        assert "Only Supervisor, Senior supervisor, Admin can do “Approve plan”" in r.text


async def test_redirect_after_sign_in_stays_on_this_site(web):
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        page = await http.get("/login")
        r = await http.post(
            "/login",
            data={
                "username": "zhao",
                "password": "demo",
                "next": "//evil.example/",
                "csrf_token": csrf_from(page.text),
            },
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/staff"


def test_demo_users_cover_every_staff_role():
    assert {u.role for u in DEMO_USERS} >= {
        Role.SPECIALIST,
        Role.ENGINEER,
        Role.LOGISTICS,
        Role.SUPERVISOR,
        Role.SENIOR_SUPERVISOR,
        Role.DEPARTMENT_HEAD,
        Role.ADMIN,
    }
    assert "zhang / demo" in str(DEMO_USERS[0])
