"""The `record_ledger` activity: one workflow step's batch written to the ledger (ledger/writes.py)."""

from __future__ import annotations

import asyncpg
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.messages import ACTIVITY_RECORD, LedgerWrite
from ledger.writes import write_batch


class LedgerWriter:
    """Holds the pool; `record_ledger` is the bound activity the worker registers."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name=ACTIVITY_RECORD)
    async def record_ledger(self, batch: LedgerWrite) -> int:
        """Returns how many timeline events were new (0 when a retry repeats a batch already written)."""
        try:
            async with self.pool.acquire() as conn:
                return await write_batch(conn, batch)
        except ValidationError as e:  # a malformed view is a bug upstream: retrying cannot fix it
            raise ApplicationError(
                f"ledger write refused: {e}", type="InvalidLedgerWrite", non_retryable=True
            ) from e
