"""Sign-in throttling per account and per client address (table `login_throttle`, migration 115).

Each key has a few free failures (5 per account, 20 per address, forgotten after an hour without one);
beyond them every attempt first locks the key for 30 s, doubling up to 15 min, and is the only try that
lock allows. The count is taken *before* the password is checked, so parallel guesses cannot slip through
between a failure and its lock, and a locked key is refused without looking at the password at all.
A right password clears the account's count.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import asyncpg

ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20
FIRST_LOCK_S = 30
MAX_LOCK_S = 15 * 60
FORGET_AFTER_S = 3600

_ATTEMPT = f"""
INSERT INTO login_throttle AS t (key, failures, last_failure_at) VALUES ($1, 1, now())
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN t.locked_until > now() THEN t.failures
                    WHEN t.last_failure_at < now() - interval '{FORGET_AFTER_S} seconds' THEN 1
                    ELSE t.failures + 1 END,
    last_failure_at = CASE WHEN t.locked_until > now() THEN t.last_failure_at ELSE now() END,
    locked_until = CASE WHEN t.locked_until > now() THEN t.locked_until
                        WHEN t.last_failure_at >= now() - interval '{FORGET_AFTER_S} seconds'
                             AND t.failures + 1 > $2
                        THEN now() + make_interval(secs => LEAST($4, $3 * power(2, t.failures - $2)))
                        ELSE NULL END,
    locked_by = CASE WHEN t.locked_until > now() THEN t.locked_by ELSE $5 END
RETURNING locked_until, locked_by, greatest(0, extract(epoch FROM locked_until - now())) AS wait_s
"""


@dataclass(frozen=True)
class Attempt:
    allowed: bool
    wait_s: int  # how long the key stays locked (0: not locked)


def account_key(username: str) -> str:
    return "user:" + username.strip().lower()[:60]


def address_key(address: str) -> str:
    return "addr:" + address[:60]


async def attempt(pool: asyncpg.Pool, key: str, free_failures: int) -> Attempt:
    """Count one sign-in attempt on `key`; `allowed` is False while a lock set by another attempt stands."""
    me = uuid.uuid4().hex
    row = await pool.fetchrow(_ATTEMPT, key, free_failures, FIRST_LOCK_S, MAX_LOCK_S, me)
    locked = row["locked_until"] is not None and row["wait_s"] > 0
    wait = math.ceil(row["wait_s"]) if locked else 0
    return Attempt(allowed=not locked or row["locked_by"] == me, wait_s=wait)


async def wait_seconds(pool: asyncpg.Pool, key: str) -> int:
    row = await pool.fetchrow(
        "SELECT greatest(0, extract(epoch FROM locked_until - now())) AS wait_s FROM login_throttle"
        " WHERE key = $1 AND locked_until > now()",
        key,
    )
    return math.ceil(row["wait_s"]) if row else 0


async def succeeded(pool: asyncpg.Pool, key: str) -> None:
    """A right password: forget the key's failures (and sweep long-quiet keys)."""
    await pool.execute(
        "DELETE FROM login_throttle WHERE key = $1 OR (last_failure_at < now() - interval '1 day'"
        " AND (locked_until IS NULL OR locked_until < now()))",
        key,
    )


async def forgive(pool: asyncpg.Pool, key: str) -> None:
    """Take back one counted attempt that turned out right (an address shared by many honest users)."""
    await pool.execute("UPDATE login_throttle SET failures = greatest(0, failures - 1) WHERE key = $1", key)
