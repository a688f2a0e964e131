"""Replay every recorded history (tests/histories/*.json) against today's workflow code: a change that
would break complaints already running fails here. Re-record on purpose with `python -m tests.histories.record`."""

from __future__ import annotations

import json
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
        "urgent_reopened_one_step",  # recorded after PATCH_ONE_STEP (issue 15)
        "lost_goods_investigation_one_step",
        "calendar_changed_one_step",
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


def _activity_types(path: Path) -> tuple[set[str], set[str]]:
    """(activity types scheduled, local activity types run) in a recorded history."""
    events = WorkflowHistory.from_json("x", path.read_text(encoding="utf-8")).events
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    local = set()
    for e in events:
        if (
            e.HasField("marker_recorded_event_attributes")
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ):
            local.add(
                json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)[
                    "activity_type"
                ]
            )
    return scheduled, local


def test_the_one_step_patch_is_what_the_recordings_show():
    """Recorded before PATCH_ONE_STEP: a `notify` activity per message and a ledger local activity; after it,
    the step's messages go with its ledger write in `record_step` and no `notify` activity is scheduled
    (every message settled at once). Both kinds replay above."""
    old_scheduled, old_local = _activity_types(HERE / "urgent_reopened.json")
    assert "notify" in old_scheduled and old_local == {"record_ledger"}
    new_scheduled, new_local = _activity_types(HERE / "urgent_reopened_one_step.json")
    assert "notify" not in new_scheduled and "record_step" in new_local
