"""Reading real workflow histories: when each timer was meant to fire, when it fired, when the work it
triggered ran, and what the history costs (events, billable actions).

The due moment of a timer is taken from the history itself, so no knowledge of the workflow is needed:
the workflow computed `start_to_fire_timeout = due - workflow.now()`, and `workflow.now()` is the time of
the WorkflowTaskStarted event of the task that started the timer. So

    due = time(WorkflowTaskStarted of that task) + start_to_fire_timeout

exactly (the bare benchmark workflow checks this against the due moment it was given).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

E = EventType


def _t(ev: HistoryEvent) -> datetime:
    return ev.event_time.ToDatetime().replace(tzinfo=UTC)


@dataclass
class WakeUp:
    """One timer that fired, and the work the workflow did in answer."""

    workflow_id: str
    timer_id: str
    due: datetime
    fired: datetime
    action_types: list[str] = field(default_factory=list)
    first_action_started: datetime | None = None  # the worker began the first activity
    actions_done: datetime | None = None  # the last of those activities completed

    @property
    def fired_late_s(self) -> float:
        return (self.fired - self.due).total_seconds()

    @property
    def started_late_s(self) -> float | None:
        return (
            None
            if self.first_action_started is None
            else (self.first_action_started - self.due).total_seconds()
        )

    @property
    def done_late_s(self) -> float | None:
        return None if self.actions_done is None else (self.actions_done - self.due).total_seconds()


def wake_ups(workflow_id: str, events: list[HistoryEvent]) -> list[WakeUp]:
    by_id = {ev.event_id: ev for ev in events}
    # WFT completed event id -> time of its WFT started event (= workflow.now() during that task)
    wft_now: dict[int, datetime] = {}
    completed_after: list[tuple[int, int]] = []  # (started_event_id, completed_event_id)
    for ev in events:
        if ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            a = ev.workflow_task_completed_event_attributes
            started = by_id.get(a.started_event_id)
            if started is not None:
                wft_now[ev.event_id] = _t(started)
            completed_after.append((a.started_event_id, ev.event_id))

    scheduled_by_wft: dict[int, list[HistoryEvent]] = {}
    local_by_wft: dict[int, list[str]] = {}  # local activities (markers) among a task's commands
    started_of: dict[int, HistoryEvent] = {}
    completed_of: dict[int, HistoryEvent] = {}
    last_completed = 0
    for ev in events:
        if ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            last_completed = ev.event_id  # the commands it recorded follow it
        elif (
            ev.event_type == E.EVENT_TYPE_MARKER_RECORDED
            and ev.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ):
            kind = _marker_json(ev, "data").get("activity_type", "local")
            local_by_wft.setdefault(last_completed, []).append(kind)
        elif ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            wft = ev.activity_task_scheduled_event_attributes.workflow_task_completed_event_id
            scheduled_by_wft.setdefault(wft, []).append(ev)
        elif ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started_of[ev.activity_task_started_event_attributes.scheduled_event_id] = ev
        elif ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed_of[ev.activity_task_completed_event_attributes.scheduled_event_id] = ev

    out: list[WakeUp] = []
    for ev in events:
        if ev.event_type != E.EVENT_TYPE_TIMER_FIRED:
            continue
        started_ev = by_id.get(ev.timer_fired_event_attributes.started_event_id)
        if started_ev is None:
            continue
        sa = started_ev.timer_started_event_attributes
        now = wft_now.get(sa.workflow_task_completed_event_id)
        if now is None:
            continue
        due = now + sa.start_to_fire_timeout.ToTimedelta()
        w = WakeUp(workflow_id=workflow_id, timer_id=sa.timer_id, due=due, fired=_t(ev))
        # The first completed workflow task after the firing is the one that answered it.
        answer = next((c for s, c in completed_after if s > ev.event_id), None)
        if answer is not None:
            sched = scheduled_by_wft.get(answer, [])
            w.action_types = [s.activity_task_scheduled_event_attributes.activity_type.name for s in sched]
            w.action_types += local_by_wft.get(answer, [])
            starts = [_t(started_of[s.event_id]) for s in sched if s.event_id in started_of]
            dones = [_t(completed_of[s.event_id]) for s in sched if s.event_id in completed_of]
            w.first_action_started = min(starts) if starts else None
            w.actions_done = max(dones) if len(dones) == len(sched) and dones else None
        out.append(w)
    return out


def _activity_input(ev: HistoryEvent) -> dict:
    """The first argument of a scheduled activity, when it is plain JSON (no encryption codec)."""
    payloads = ev.activity_task_scheduled_event_attributes.input.payloads
    if not payloads:
        return {}
    try:
        value = json.loads(payloads[0].data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _marker_json(ev: HistoryEvent, field_name: str) -> dict:
    """One plain-JSON field of a local activity's marker (`data`: type, times; `result`)."""
    payloads = ev.marker_recorded_event_attributes.details.get(field_name)
    if payloads is None or not payloads.payloads:
        return {}
    try:
        value = json.loads(payloads.payloads[0].data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _proto_time(value: dict | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(int(value.get("seconds", 0)) + int(value.get("nanos", 0)) / 1e9, UTC)


def keyed_actions(
    workflow_id: str, events: list[HistoryEvent], due_by_key: dict[str, datetime]
) -> list[WakeUp]:
    """The work that carried one of the given idempotency keys (e.g. the warning and breach notifications
    of an obligation), timed against the due moment the ledger recorded for each: when the timer that woke
    the workflow fired, when the work started and when it completed. The work is a `notify` activity whose
    input has the key, or (since the one-step patch) the `record_step` local activity whose result lists
    the key as settled: started = its workflow task's start, done = the moment the local activity completed
    (its marker's `complete_time`; the marker itself is recorded when that workflow task completes)."""
    started_of: dict[int, HistoryEvent] = {}
    completed_of: dict[int, HistoryEvent] = {}
    for ev in events:
        if ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started_of[ev.activity_task_started_event_attributes.scheduled_event_id] = ev
        elif ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed_of[ev.activity_task_completed_event_attributes.scheduled_event_id] = ev
    out: list[WakeUp] = []
    last_fired: HistoryEvent | None = None
    last_task_started: HistoryEvent | None = None
    for ev in events:
        if ev.event_type == E.EVENT_TYPE_TIMER_FIRED:
            last_fired = ev
        elif ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            last_task_started = ev
        elif ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            key = _activity_input(ev).get("idempotency_key")
            if key not in due_by_key:
                continue
            w = WakeUp(
                workflow_id=workflow_id,
                timer_id=key,
                due=due_by_key[key],
                fired=_t(last_fired) if last_fired is not None else _t(ev),
                action_types=[ev.activity_task_scheduled_event_attributes.activity_type.name],
            )
            if ev.event_id in started_of:
                w.first_action_started = _t(started_of[ev.event_id])
            if ev.event_id in completed_of:
                w.actions_done = _t(completed_of[ev.event_id])
            out.append(w)
        elif (
            ev.event_type == E.EVENT_TYPE_MARKER_RECORDED
            and ev.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ):
            data = _marker_json(ev, "data")
            if data.get("activity_type") != "record_step":
                continue
            keys = [k for k in _marker_json(ev, "result").get("settled", []) if k in due_by_key]
            wft_started = last_task_started  # the task whose completion recorded this marker
            done = _proto_time(data.get("complete_time")) or _t(ev)
            for key in keys:
                out.append(
                    WakeUp(
                        workflow_id=workflow_id,
                        timer_id=key,
                        due=due_by_key[key],
                        fired=_t(last_fired) if last_fired is not None else _t(ev),
                        action_types=["record_step"],
                        first_action_started=_t(wft_started) if wft_started is not None else None,
                        actions_done=done,
                    )
                )
    return out


def retries(events: list[HistoryEvent]) -> Counter:
    """Attempts beyond the first, per activity type (ActivityTaskStarted.attempt − 1)."""
    types = {
        ev.event_id: ev.activity_task_scheduled_event_attributes.activity_type.name
        for ev in events
        if ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    out: Counter = Counter()
    for ev in events:
        if ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            a = ev.activity_task_started_event_attributes
            if a.attempt > 1:
                out[types.get(a.scheduled_event_id, "?")] += a.attempt - 1
    return out


def task_failures(events: list[HistoryEvent]) -> Counter:
    """Why workflow tasks failed: cause and the first words of the failure message."""
    from temporalio.api.enums.v1 import WorkflowTaskFailedCause

    out: Counter = Counter()
    for ev in events:
        if ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            a = ev.workflow_task_failed_event_attributes
            cause = WorkflowTaskFailedCause.Name(a.cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")
            out[f"{cause}: {a.failure.message[:120]}"] += 1
    return out


def workflow_tasks(
    events: list[HistoryEvent], since: datetime | None = None
) -> tuple[list[float], Counter[str], int]:
    """(durations in seconds from WorkflowTaskStarted to WorkflowTaskCompleted, timeouts by kind, failures)
    of the workflow tasks scheduled at or after `since`. A timer counts from when its task completes, so a
    slow task makes the timers it sets late by its duration. Timeout kinds: `start_to_close` (the worker
    took too long), `schedule_to_start` (the task waited too long for the worker holding the workflow)."""
    by_id = {ev.event_id: ev for ev in events}
    durations: list[float] = []
    timeouts: Counter[str] = Counter()
    failures = 0
    for ev in events:
        if since is not None and _t(ev) < since:
            continue
        if ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            started = by_id.get(ev.workflow_task_completed_event_attributes.started_event_id)
            if started is not None:
                durations.append((_t(ev) - _t(started)).total_seconds())
        elif ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            kind = TimeoutType.Name(ev.workflow_task_timed_out_event_attributes.timeout_type)
            timeouts[kind.removeprefix("TIMEOUT_TYPE_").lower()] += 1
        elif ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failures += 1
    return durations, timeouts, failures


def idle_wake_ups(events: list[HistoryEvent]) -> int:
    """Timers that fired and led the workflow to do nothing but set another timer: a wake-up that came
    (by the workflow's own clock) too early."""
    return sum(1 for w in wake_ups("", events) if not w.action_types)


async def fetch_all(
    client: Client,
    workflow_ids: Iterable[str],
    *,
    concurrency: int = 32,
    on_done: Callable[[], None] | None = None,
) -> dict[str, list[HistoryEvent]]:
    """Histories of many workflows (latest run of each), a bounded number of calls at a time."""
    sem = asyncio.Semaphore(concurrency)
    out: dict[str, list[HistoryEvent]] = {}

    async def one(wid: str) -> None:
        async with sem:
            hist = await client.get_workflow_handle(wid).fetch_history()
            out[wid] = list(hist.events)
        if on_done:
            on_done()

    await asyncio.gather(*(one(w) for w in workflow_ids))
    return out


async def fetch_chain(client: Client, workflow_id: str) -> list[list[HistoryEvent]]:
    """Every run of a workflow id, oldest first, following continue-as-new."""
    runs: list[list[HistoryEvent]] = []
    handle = client.get_workflow_handle(workflow_id)
    hist = await handle.fetch_history()
    runs.append(list(hist.events))
    first = runs[0][0].workflow_execution_started_event_attributes
    prev = first.continued_execution_run_id
    while prev:
        h = await client.get_workflow_handle(workflow_id, run_id=prev).fetch_history()
        evs = list(h.events)
        runs.insert(0, evs)
        prev = evs[0].workflow_execution_started_event_attributes.continued_execution_run_id
    return runs


# --- cost: billable actions per Temporal Cloud's published rules --------------------------------------------
# Source: docs.temporal.io/cloud/actions (temporalio/documentation docs/evaluate/cloud/actions.mdx): the
# history event type behind each Action. Rejected Updates and Queries are billed but never in history; the
# caller counts those it sent.
ACTION_RULES: dict[str, str] = {
    "WORKFLOW_EXECUTION_STARTED": "Start Workflow (client start, continue-as-new's new run, child): 1",
    "START_CHILD_WORKFLOW_EXECUTION_INITIATED": "Start Child Workflow: 2 (intent + attempt)",
    "TIMER_STARTED": "Start Timer, explicit or a wait_condition timeout: 1",
    "ACTIVITY_TASK_SCHEDULED": "Schedule Activity: 1",
    "ACTIVITY_TASK_STARTED": "Retry Activity: attempt - 1",
    "MARKER_RECORDED": "Local activities: 1 per workflow task that records markers",
    "WORKFLOW_EXECUTION_SIGNALED": "Signal: 1",
    "WORKFLOW_EXECUTION_UPDATE_ACCEPTED": "Accept Workflow Update: 1",
    "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": "Upsert Search Attributes: 1 per command",
    "WORKFLOW_EXECUTION_OPTIONS_UPDATED": "Update Workflow Options: 1",
}


@dataclass
class Cost:
    events: int = 0
    actions: int = 0
    events_by_type: Counter = field(default_factory=Counter)
    actions_by_type: Counter = field(default_factory=Counter)

    def add(self, other: Cost) -> None:
        self.events += other.events
        self.actions += other.actions
        self.events_by_type.update(other.events_by_type)
        self.actions_by_type.update(other.actions_by_type)


def _name(ev: HistoryEvent) -> str:
    return E.Name(ev.event_type).removeprefix("EVENT_TYPE_")


def cost_of(events: list[HistoryEvent]) -> Cost:
    c = Cost(events=len(events))
    marker_tasks: set[int] = set()
    for ev in events:
        name = _name(ev)
        c.events_by_type[name] += 1
        n = 0
        if name in (
            "WORKFLOW_EXECUTION_STARTED",
            "TIMER_STARTED",
            "ACTIVITY_TASK_SCHEDULED",
            "WORKFLOW_EXECUTION_SIGNALED",
            "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
            "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
            "WORKFLOW_EXECUTION_OPTIONS_UPDATED",
        ):
            n = 1
        elif name == "START_CHILD_WORKFLOW_EXECUTION_INITIATED":
            n = 2
        elif name == "ACTIVITY_TASK_STARTED":
            n = max(0, ev.activity_task_started_event_attributes.attempt - 1)
        elif name == "MARKER_RECORDED":
            wft = ev.marker_recorded_event_attributes.workflow_task_completed_event_id
            if wft not in marker_tasks:
                marker_tasks.add(wft)
                n = 1
        if n:
            c.actions += n
            c.actions_by_type[name] += n
    return c


async def gather_bounded(coros: Iterable[Awaitable], limit: int) -> list:
    sem = asyncio.Semaphore(limit)

    async def run(c: Awaitable):
        async with sem:
            return await c

    return await asyncio.gather(*(run(c) for c in coros))
