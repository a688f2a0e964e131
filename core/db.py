"""PostgreSQL plumbing: the connection pool. The schema and its migrations belong to the ledger
(ledger/schema.py)."""

from __future__ import annotations

import asyncpg


async def _reset(conn: asyncpg.Connection) -> None:
    """What a released connection needs before its next use. asyncpg's default (pg_advisory_unlock_all,
    CLOSE ALL, UNLISTEN *, RESET ALL) is a round trip on every release — a fifth of a notification's — while
    nothing here listens or sets session state and the lock holders (outbox, migrations) release their own
    locks or close the connection; so only a transaction left open is undone."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, reset=_reset)
