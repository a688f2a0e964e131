"""PostgreSQL plumbing: the connection pool. The schema and its migrations belong to the ledger
(ledger/schema.py)."""

from __future__ import annotations

import asyncpg


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size)
