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


class CacheWatch:
    """Says once when the open complaints outgrow the worker's cache (and again after they fit again): past
    it, a complaint's every wake-up replays its history, and a burst of deadlines turns into timed-out tasks
    (docs/benchmarks.md: 3,000 due at once took 133 s with a cache of 1,000, 56 s with 4,000)."""

    def __init__(self, cache: int) -> None:
        self.cache = cache
        self.over = False

    def check(self, open_total: int) -> bool:
        """True when this count is the one that crossed the cache size."""
        crossed = open_total > self.cache and not self.over
        self.over = open_total > self.cache
        if crossed:
            log.warning(
                "open complaints exceed this worker's cache: each wake-up past it replays the complaint's"
                " history; with several workers each caches its share. Raise"
                " DESK_WORKER_MAX_CACHED_WORKFLOWS or add workers (docs/deployment.md §8)",
                open=open_total,
                cache=self.cache,
            )
        return crossed


async def run_open_complaints_gauge(
    client: Client, interval: float = 60.0, *, cache: int | None = None
) -> None:
    """Refresh the gauge forever (run as a task; cancel it on shutdown). A failed count keeps the last
    figures and is logged, it never stops the loop. With `cache`, warns when the open complaints outgrow it."""
    watch = CacheWatch(cache) if cache else None
    while True:
        try:
            counts = await refresh_open_complaints(client)
            if watch is not None:
                watch.check(sum(counts.values()))
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("open complaints gauge not refreshed", error=str(e))
        await asyncio.sleep(interval)
