"""Forged, expired and replayed sessions; brute force; dev defaults refused; Secure cookies behind TLS."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer

from core.safety import UnsafeSettings
from core.settings import DEV_SECRET_KEY, Settings
from domain.models import Role
from ledger.login_throttle import ACCOUNT_FREE_FAILURES, ADDRESS_FREE_FAILURES
from tests.ui.conftest import csrf_from, signed_in
from ui.app import create_app
from ui.auth import SESSION_COOKIE, create_user

STAFF_PAGES = ("/staff", "/dashboard", "/staff/supervisor", "/staff/messages")


async def _locked_out(http: httpx.AsyncClient) -> None:
    for path in STAFF_PAGES:
        r = await http.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), (path, r.status_code)


@pytest.mark.parametrize("key", [DEV_SECRET_KEY, "test-secret-for-ui"])
async def test_a_cookie_signed_with_a_known_key_is_no_session(web, key):
    """The finding: itsdangerous + the default key + {"u": "admin"} opened /staff as Admin. Sessions are
    rows now; even the app's real key signs nothing that stands in for one."""
    forged = URLSafeTimedSerializer(key, salt="desk-session").dumps({"u": "admin", "n": "x"})
    async with httpx.AsyncClient(base_url=web.base_url, cookies={SESSION_COOKIE: forged}) as http:
        await _locked_out(http)


async def test_sign_out_ends_the_session_for_a_copied_cookie(web):
    async with signed_in(web.base_url, "admin") as http:
        stolen = http.cookies[SESSION_COOKIE]
        page = await http.get("/staff")
        assert (await http.post("/logout", data={"csrf_token": csrf_from(page.text)})).status_code == 303
    async with httpx.AsyncClient(base_url=web.base_url, cookies={SESSION_COOKIE: stolen}) as replay:
        await _locked_out(replay)


@pytest.mark.parametrize(
    "expire",
    [
        "UPDATE staff_sessions SET expires_at = now() - interval '1 second'",  # past session_hours
        "UPDATE staff_sessions SET last_seen_at = now() - interval '121 minutes'",  # idle too long
    ],
)
async def test_expired_and_idle_sessions_open_nothing(web, expire):
    async with signed_in(web.base_url, "zhao") as http:
        assert (await http.get("/dashboard")).status_code == 200
        await web.pool.execute(expire)
        await _locked_out(http)


async def test_a_new_password_ends_every_session_of_that_user(web):
    async with signed_in(web.base_url, "li") as http:
        assert (await http.get("/staff")).status_code == 200
        await create_user(web.pool, "li", "a-new-password", Role.SPECIALIST, "李娜 Li Na")
        await _locked_out(http)
    async with signed_in(web.base_url, "li", "a-new-password") as http:
        assert (await http.get("/staff")).status_code == 200
    await create_user(web.pool, "li", "demo", Role.SPECIALIST, "李娜 Li Na")  # as the other tests know her


async def test_the_session_cookie_is_a_random_id_the_database_only_knows_hashed(web):
    async with signed_in(web.base_url, "zhang") as http:
        cookie = http.cookies[SESSION_COOKIE]
    assert len(cookie) >= 40 and "zhang" not in cookie
    stored = [r["id_hash"] for r in await web.pool.fetch("SELECT id_hash FROM staff_sessions")]
    assert cookie not in stored and len(stored) == 1


async def _login(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    page = await http.get("/login?lang=en")
    return await http.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_from(page.text)}
    )


async def test_brute_force_is_locked_out_and_told_when_to_try_again(web):
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        statuses = [
            (await _login(http, "admin", f"guess-{i}")).status_code for i in range(ACCOUNT_FREE_FAILURES)
        ]
        assert statuses == [401] * ACCOUNT_FREE_FAILURES
        one_more = await _login(http, "admin", "guess-again")  # the one try the new lock allows
        assert one_more.status_code == 401 and "Try again in 30 s" in one_more.text
        right = await _login(http, "admin", "demo")  # even the right password waits out the lock
        assert right.status_code == 429
        assert (
            "Too many failed sign-ins. Try again in" in right.text and int(right.headers["retry-after"]) > 0
        )
        assert SESSION_COOKIE not in http.cookies
        http.cookies.set("desk_lang", "zh-CN")
        page = await http.get("/login")
        zh = await http.post(
            "/login", data={"username": "admin", "password": "demo", "csrf_token": csrf_from(page.text)}
        )
        assert zh.status_code == 429 and "登录失败次数过多，请在" in zh.text
        # The lock is the account's: another account from the same address still signs in.
        assert (await _login(http, "zhang", "demo")).status_code == 303
        # When the lock ends, the right password works again and clears the count.
        await web.pool.execute("UPDATE login_throttle SET locked_until = now() WHERE key = 'user:admin'")
        assert (await _login(http, "admin", "demo")).status_code == 303


async def test_guessing_many_accounts_from_one_address_is_locked_out(web):
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        for i in range(ADDRESS_FREE_FAILURES):
            assert (await _login(http, f"nobody{i}", "demo")).status_code == 401
        assert (await _login(http, "nobody-else", "demo")).status_code == 401  # the lock's one try
        r = await _login(http, "zhang", "demo")
        assert r.status_code == 429 and "Try again in" in r.text


async def test_cookies_are_secure_and_hsts_is_sent_behind_a_tls_proxy(web):
    """uvicorn believes X-Forwarded-Proto from the trusted proxy (loopback here, DESK_TRUSTED_PROXIES)."""
    async with httpx.AsyncClient(base_url=web.base_url, headers={"X-Forwarded-Proto": "https"}) as http:
        page = await http.get("/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "Secure" in page.headers["set-cookie"]  # the CSRF cookie too
        # This client speaks plain HTTP to the app, as the proxy does; a browser would send it over TLS.
        http.cookies.set("desk_csrf", page.cookies["desk_csrf"])
        r = await http.post(
            "/login",
            data={"username": "zhang", "password": "demo", "csrf_token": csrf_from(page.text)},
            headers={"Origin": web.base_url.replace("http://", "https://")},
        )
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=") and "Secure" in cookie and "HttpOnly" in cookie
    async with httpx.AsyncClient(base_url=web.base_url) as plain:
        assert "strict-transport-security" not in (await plain.get("/login")).headers


def test_the_web_app_refuses_the_built_in_key_and_demo_users_outside_dev():
    with pytest.raises(UnsafeSettings, match="DESK_SECRET_KEY"):
        create_app(Settings(_env_file=None))
    with pytest.raises(UnsafeSettings, match="DESK_DEMO_USERS=false"):
        create_app(Settings(_env_file=None, secret_key="x" * 32, demo_users=True))
    create_app(Settings(_env_file=None, secret_key="x" * 32))  # a real key, no demo users: fine
    create_app(Settings(_env_file=None, dev_mode=True, demo_users=True))  # DESK_DEV_MODE=true: fine


@pytest.mark.parametrize("command", ["web", "worker"])
def test_desk_web_and_worker_refuse_to_start_with_the_built_in_key(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "TEMPORAL_"))}
    env["DESK_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"  # never reached
    done = subprocess.run(
        [sys.executable, "-m", "desk", command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "DESK_SECRET_KEY" in done.stderr and "DESK_DEV_MODE=true" in done.stderr
