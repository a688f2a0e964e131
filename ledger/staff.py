"""Staff logins (migration 110_staff.sql): users with their role, department and password hash.

Passwords are hashed by the caller (ui/auth.py, argon2); this module only stores and finds rows.
"""

from __future__ import annotations

import asyncpg

_COLUMNS = "username, display_name, role, department"


async def upsert_user(
    pool: asyncpg.Pool, username: str, display_name: str, role: str, department: str | None, password_hash: str
) -> None:
    """Create the login, or reset an existing one's name, role, department and password (and reactivate it)."""
    await pool.execute(
        "INSERT INTO staff_users (username, display_name, role, department, password_hash)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (username) DO UPDATE SET display_name = EXCLUDED.display_name, role = EXCLUDED.role,"
        " department = EXCLUDED.department, password_hash = EXCLUDED.password_hash, active = true",
        username,
        display_name,
        role,
        department,
        password_hash,
    )


async def usernames(pool: asyncpg.Pool) -> set[str]:
    return {r["username"] for r in await pool.fetch("SELECT username FROM staff_users")}


async def add_missing_users(pool: asyncpg.Pool, rows: list[tuple[str, str, str, str | None, str]]) -> None:
    """(username, display name, role, department, password hash) rows; an existing login is left as it is."""
    await pool.executemany(
        "INSERT INTO staff_users (username, display_name, role, department, password_hash)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING",
        rows,
    )


async def login_row(pool: asyncpg.Pool, username: str) -> asyncpg.Record | None:
    """The active login with its password hash, for checking a sign-in."""
    return await pool.fetchrow(
        f"SELECT {_COLUMNS}, password_hash FROM staff_users WHERE username = $1 AND active", username
    )


async def signed_in(pool: asyncpg.Pool, username: str) -> None:
    await pool.execute("UPDATE staff_users SET last_login_at = now() WHERE username = $1", username)


async def active_user(pool: asyncpg.Pool, username: str) -> asyncpg.Record | None:
    return await pool.fetchrow(f"SELECT {_COLUMNS} FROM staff_users WHERE username = $1 AND active", username)


async def active_users(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(f"SELECT {_COLUMNS} FROM staff_users WHERE active ORDER BY role, username")
