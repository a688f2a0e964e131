"""`desk users add`: how the first admin of a compose install (no demo users) gets in — against a real,
empty PostgreSQL, as a subprocess the way `docker compose exec web desk users add …` runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg
from argon2 import PasswordHasher


def _desk(pg_url: str, *args: str, password: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(DESK_DATABASE_URL=pg_url, DESK_LOG_JSON="true", DESK_PUBLIC_BASE_URL="https://desk.example")
    return subprocess.run(
        [sys.executable, "-m", "desk", "users", "add", *args],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _row(pg_url: str, username: str):
    conn = await asyncpg.connect(pg_url)
    try:
        return await conn.fetchrow(
            "SELECT display_name, role, department, password_hash, active FROM staff_users WHERE username = $1",
            username,
        )
    finally:
        await conn.close()


async def test_first_admin_on_an_empty_database_can_sign_in_with_its_password(pg_url):
    done = _desk(pg_url, "boss", "--role", "admin", "--name", "老板 Boss", "--password-stdin",
                 password="correct horse battery")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "user boss (admin) saved; sign in at https://desk.example/staff" in done.stdout
    row = await _row(pg_url, "boss")
    assert (row["display_name"], row["role"], row["active"]) == ("老板 Boss", "admin", True)
    assert "correct horse" not in row["password_hash"]
    assert PasswordHasher().verify(row["password_hash"], "correct horse battery")

    # Again for the same name: a new password and role (how a forgotten admin password is reset).
    again = _desk(pg_url, "boss", "--role", "engineer", "--department", "technical", "--password-stdin",
                  password="another long secret")  # fmt: skip
    assert again.returncode == 0, again.stderr
    row = await _row(pg_url, "boss")
    assert (row["role"], row["department"]) == ("engineer", "technical")
    assert PasswordHasher().verify(row["password_hash"], "another long secret")


async def test_a_short_password_or_an_unknown_role_is_refused_saying_why(pg_url):
    short = _desk(pg_url, "li", "--role", "specialist", "--password-stdin", password="demo")
    assert short.returncode == 2
    assert "password: at least 10 characters" in short.stderr
    bad_role = _desk(pg_url, "li", "--role", "customer", "--password-stdin", password="long enough pw")
    assert bad_role.returncode == 2
    assert "invalid choice: 'customer'" in bad_role.stderr
    conn = await asyncpg.connect(pg_url)
    try:  # nothing was written (the short password stopped before migrating)
        assert not await conn.fetchval("SELECT to_regclass('staff_users') IS NOT NULL")
    finally:
        await conn.close()
