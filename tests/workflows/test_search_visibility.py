"""An engineer finds "urgent complaints that breached today" in the Temporal Web UI with one filter.

Runs on the real dev server (the time-skipping server has no visibility queries), with windows shrunk so
the breach happens within a second or two of real time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from domain import search_attributes as sa
from domain.models import Tier
from domain.policy import preset, scaled
from tests.workflows.harness import SH, desk_on

FAST = scaled(preset("standard"), 1 / 300)  # first response: 5 min → 1 s


async def test_filter_finds_urgent_complaints_that_breached_today(dev_env):
    async with desk_on(dev_env) as desk:
        breached_urgent = await desk.start(tier=Tier.URGENT, policy=FAST, shift=False)
        calm_urgent = await desk.start(tier=Tier.URGENT, shift=False)  # standard windows: nothing due yet
        breached_general = await desk.start(tier=Tier.GENERAL, policy=FAST, shift=False)
        ours = {c.id for c in (breached_urgent, calm_urgent, breached_general)}

        today = datetime.now(SH).replace(hour=0, minute=0, second=0, microsecond=0)
        query = f'ComplaintTier = "urgent" AND LastBreachAt >= "{today.isoformat()}"'
        found: set[str] = set()
        for _ in range(300):  # visibility is eventually consistent: poll, bounded
            found = {
                w.typed_search_attributes.get(sa.COMPLAINT_ID)
                async for w in desk.client.list_workflows(query)
            }
            general_seen = [
                w
                async for w in desk.client.list_workflows(
                    f'ComplaintId = "{breached_general.id}" AND LastBreachAt >= "{today.isoformat()}"'
                )
            ]
            if breached_urgent.id in found and general_seen:
                break
            await asyncio.sleep(0.1)
        assert found & ours == {breached_urgent.id}
        # The general one breached too, but the tier filter leaves it out.
        assert general_seen
