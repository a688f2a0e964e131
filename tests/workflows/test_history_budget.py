"""History events per complaint for typical lifecycles: printed for the record, bounded so a change that
makes every complaint twice as heavy is noticed (the engine's limit is 51,200 events per run)."""

from __future__ import annotations

import pytest

from tests.histories.lifecycles import TYPICAL
from tests.workflows.harness import Desk

BUDGET = {
    "general_consultation": 150,
    "general_complaint": 250,
    "important_complaint": 300,
    "urgent_complaint": 300,
}


@pytest.mark.parametrize("name", list(TYPICAL))
async def test_history_events_of_a_typical_lifecycle_stay_within_budget(desk: Desk, name: str):
    c = await TYPICAL[name](desk)
    events = await c.history_length()
    print(f"\n{name}: {events} history events")
    assert events <= BUDGET[name]
