"""Replay every recorded history (tests/histories/*.json) against today's workflow code: a change that
would break complaints already running fails here. Re-record on purpose with `python -m tests.histories.record`."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from core.temporal import DATA_CONVERTER
from tests.histories.lifecycles import ALL as LIFECYCLES
from tests.workflows.harness import desk_on
from workflows.registry import WORKFLOWS

HERE = Path(__file__).parent.parent / "histories"
HISTORIES = sorted(HERE.glob("*.json"))
WORKFLOW_IDS = dict(
    line.split() for line in (HERE / "workflow_ids.txt").read_text().splitlines() if line.strip()
)


def test_there_are_recorded_histories_for_every_tier_and_the_hard_cases():
    names = {p.stem for p in HISTORIES}
    assert {
        "general_consultation",
        "general_complaint",
        "important_complaint",
        "urgent_complaint",
        "urgent_reopened",
        "lost_goods_investigation",
        "investigation_child_overdue",
        "calendar_changed",  # a calendar change re-planning a running complaint (issue 13)
    } <= names
    assert any(n.startswith("continued_as_new") for n in names)


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays_without_nondeterminism(path: Path):
    """Among them urgent_complaint, recorded before the `workflow.patched` changes: a plan with a
    compensation sent before approval, and automatic customer updates with nobody working on it (1:30, 2:00)
    that told no one — replayed, the patches keep the old commands."""
    history = WorkflowHistory.from_json(WORKFLOW_IDS[path.stem], path.read_text(encoding="utf-8"))
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.parametrize("name", sorted(LIFECYCLES))
async def test_lifecycle_on_a_worker_without_cache_replays_every_task(ts_env, name: str):
    """Every workflow task rebuilds the complaint from its history (as after an eviction or a worker
    restart under load), then goes on live: a difference between the two fails the task, and the harness
    fails the test on any failed workflow task."""
    async with desk_on(ts_env, max_cached_workflows=0) as desk:
        await LIFECYCLES[name](desk)
