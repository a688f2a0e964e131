"""The bench reads the answer to a deadline from a history: a `notify` activity (before the one-step patch)
or the `record_step` local activity's marker (after it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import WorkflowHistory

from bench.histories import keyed_actions

HISTORIES = Path(__file__).parent.parent / "histories"


def events(name: str) -> list:
    return list(
        WorkflowHistory.from_json("x", (HISTORIES / f"{name}.json").read_text(encoding="utf-8")).events
    )


def test_a_step_marker_times_the_notifications_it_settled():
    evs = events("urgent_reopened_one_step")
    due = datetime(2000, 1, 1, tzinfo=UTC)
    (w,) = keyed_actions("wf", evs, {"C-TF448C3D0AA:customer_update:1:r0": due})
    assert w.action_types == ["record_step"]
    assert w.first_action_started is not None and w.actions_done is not None
    assert w.first_action_started <= w.actions_done  # the task began, then the local activity completed
    assert keyed_actions("wf", evs, {"no-such-key": due}) == []


def test_a_notify_activity_times_its_notification():
    evs = events("urgent_reopened")
    keys = {
        key: datetime(2000, 1, 1, tzinfo=UTC)
        for key in ("C-TC759741D5B:confirmation", "C-TC759741D5B:new_complaint")
    }
    found = keyed_actions("wf", evs, keys)
    assert {w.timer_id for w in found} <= set(keys) and found
    assert all(w.action_types == ["notify"] and w.actions_done is not None for w in found)

