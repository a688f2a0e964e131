"""Server-side staff sessions (table `staff_sessions`, migration 115).

The `desk_session` cookie holds only a random id (256 bits); the table keeps its SHA-256, the user and two
deadlines: `session_hours` after sign-in, `session_idle_minutes` after the last request. Sign-out deletes
the row, and a new password or a deactivation deletes all of the user's rows (a trigger), so an old cookie
opens nothing afterwards, and nothing signed with any key can stand in for a row.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import asyncpg

from core.settings import Settings

COOKIE = "desk_session"
_TOUCH_EVERY_S = 60  # last_seen_at is written at most once a minute per session


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


async def start(pool: asyncpg.Pool, settings: Settings, username: str, client: str = "") -> str:
    """A new session for `username`; returns the id for the cookie. Expired rows are swept on the way."""
    session_id = secrets.token_urlsafe(32)
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM staff_sessions WHERE expires_at < now()")
        await conn.execute(
            "INSERT INTO staff_sessions (id_hash, username, expires_at, client)"
            " VALUES ($1, $2, now() + $3::interval, $4)",
            id_hash(session_id),
            username,
            timedelta(hours=settings.session_hours),
            client[:100],
        )
    return session_id


async def username_for(pool: asyncpg.Pool, settings: Settings, session_id: str) -> str | None:
    """The user of a live session, or None (unknown, ended, expired or idle too long)."""
    if not session_id or len(session_id) > 100:
        return None
    key = id_hash(session_id)
    row = await pool.fetchrow(
        "SELECT username, last_seen_at < now() - $3::interval AS stale FROM staff_sessions"
        " WHERE id_hash = $1 AND expires_at > now() AND last_seen_at > now() - $2::interval",
        key,
        timedelta(minutes=settings.session_idle_minutes),
        timedelta(seconds=_TOUCH_EVERY_S),
    )
    if row is not None and row["stale"]:
        await pool.execute("UPDATE staff_sessions SET last_seen_at = now() WHERE id_hash = $1", key)
    return row["username"] if row else None


async def end(pool: asyncpg.Pool, session_id: str) -> None:
    if session_id and len(session_id) <= 100:
        await pool.execute("DELETE FROM staff_sessions WHERE id_hash = $1", id_hash(session_id))


async def end_all(pool: asyncpg.Pool, username: str) -> int:
    """End every session of one user (e.g. an admin locking an account out); returns how many."""
    status = await pool.execute("DELETE FROM staff_sessions WHERE username = $1", username)
    return int(status.split()[-1])
