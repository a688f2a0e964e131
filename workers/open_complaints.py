"""The open-complaints gauge (core/metrics.py `OPEN_COMPLAINTS`), refreshed by the worker from Temporal
visibility."""

from __future__ import annotations

import asyncio

import structlog
from temporalio.client import Client

from core.metrics import OPEN_COMPLAINTS
from domain.models import TERMINAL_STATES, State, Tier
from domain.search_attributes import STATE, TIER

log = structlog.get_logger()

OPEN_STATES = tuple(s for s in State if s not in TERMINAL_STATES)


async def count_open_complaints(client: Client) -> dict[tuple[str, str], int]:
    """Running complaints per (tier, state) from Temporal visibility: one count per pair, because visibility
    can only GROUP BY ExecutionStatus."""
    pairs = [(t.value, s.value) for t in Tier for s in OPEN_STATES]

    async def count(tier: str, state: str) -> int:
        query = f"ExecutionStatus = 'Running' AND {TIER.name} = '{tier}' AND {STATE.name} = '{state}'"
        return (await client.count_workflows(query)).count

    counts = await asyncio.gather(*(count(t, s) for t, s in pairs))
    return dict(zip(pairs, counts, strict=True))


async def refresh_open_complaints(client: Client) -> dict[tuple[str, str], int]:
    counts = await count_open_complaints(client)
    for (tier, state), n in counts.items():
        OPEN_COMPLAINTS.labels(tier=tier, state=state).set(n)
    return counts


async def run_open_complaints_gauge(client: Client, interval: float = 60.0) -> None:
    """Refresh the gauge forever (run as a task; cancel it on shutdown). A failed count keeps the last
    figures and is logged, it never stops the loop."""
    while True:
        try:
            await refresh_open_complaints(client)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("open complaints gauge not refreshed", error=str(e))
        await asyncio.sleep(interval)
