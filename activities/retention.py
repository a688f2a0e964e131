"""The retention sweep activity: one batch per call (the SQL and its rules are in ledger/retention.py)."""

from __future__ import annotations

import asyncpg
from temporalio import activity

from domain.retention import ACTIVITY_RETENTION_SWEEP, RetentionBatch, RetentionSweep
from ledger.retention import count_due, sweep_batch


class RetentionSweeper:
    """Holds the pool; `sweep` is the bound activity the worker registers."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name=ACTIVITY_RETENTION_SWEEP)
    async def sweep(self, req: RetentionSweep) -> RetentionBatch:
        async with self.pool.acquire() as conn:
            if req.dry_run:
                return await count_due(conn, req)
            return await sweep_batch(conn, req)
