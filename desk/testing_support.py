"""Test support shared by the workflow tests and `desk simulate`: the recording outside world and the
helpers that wait on the time-skipping server. Not product code: nothing here runs in a deployed desk.

`Recorder` holds same-named stand-ins for the notification, ledger and tracking activities (same activity
names, same inputs, nothing leaves the process).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain import search_attributes
from domain.messages import (
    ACTIVITY_NOTIFY,
    ACTIVITY_RECORD,
    ACTIVITY_STEP,
    ACTIVITY_TRACKING,
    Audience,
    LedgerWrite,
    Notification,
    NotificationResult,
    StepResult,
    StepWrite,
    TemplateKey,
    TimelineEvent,
    TrackingRequest,
    TrackingSnapshot,
)
from domain.view import ComplaintView
from workflows.investigation import investigation_id


@dataclass
class Recorder:
    """Same-named stand-ins for the notification, ledger and tracking activities; they record what the
    complaint asked, in order. `fail_templates`: notifications of these templates fail for good. A waybill
    starting with SF is known to the carrier; any other is not (found=False, not an error)."""

    notifications: list[Notification] = field(default_factory=list)
    sent_at: list[datetime] = field(default_factory=list)  # server time each notification was scheduled
    ledger: list[LedgerWrite] = field(default_factory=list)
    tracking: list[TrackingRequest] = field(default_factory=list)
    fail_templates: set[TemplateKey] = field(default_factory=set)

    def activities(self) -> list[Any]:
        @activity.defn(name=ACTIVITY_NOTIFY)
        async def notify(n: Notification) -> NotificationResult:
            if n.template in self.fail_templates:
                raise ApplicationError(f"{n.template} refused by every channel", non_retryable=True)
            self.notifications.append(n)
            self.sent_at.append(activity.info().current_attempt_scheduled_time)
            return NotificationResult(idempotency_key=n.idempotency_key, delivered=channels_of(n))

        @activity.defn(name=ACTIVITY_RECORD)
        async def record_ledger(batch: LedgerWrite) -> int:
            self.ledger.append(batch)
            return len(batch.events)

        @activity.defn(name=ACTIVITY_STEP)
        async def record_step(step: StepWrite) -> StepResult:
            """As activities/step.py: the ledger batch, then each notification tried once; one that fails
            is deferred to `notify` above, which fails it for good."""
            result = StepResult()
            if step.ledger is not None:
                result.new_events = await record_ledger(step.ledger)
            for n in step.notifications:
                if n.template in self.fail_templates:
                    result.deferred.append(n.idempotency_key)
                else:
                    await notify(n)
                    result.settled.append(n.idempotency_key)
            return result

        @activity.defn(name=ACTIVITY_TRACKING)
        async def lookup_tracking(req: TrackingRequest) -> TrackingSnapshot:
            self.tracking.append(req)
            found = req.waybill.upper().startswith("SF")
            return TrackingSnapshot(
                waybill=req.waybill,
                found=found,
                carrier="SF Express" if found else None,
                status="in transit" if found else None,
            )

        return [notify, record_ledger, record_step, lookup_tracking]

    def sent(
        self, template: TemplateKey, audience: Audience | None = None, complaint_id: str | None = None
    ) -> list[Notification]:
        return [
            n
            for n in self.notifications
            if n.template == template
            and (audience is None or n.audience == audience)
            and (complaint_id is None or n.complaint_id == complaint_id)
        ]

    def events(self, complaint_id: str, kind: str | None = None) -> list[TimelineEvent]:
        out = [e for b in self.ledger for e in b.events if e.complaint_id == complaint_id]
        return [e for e in out if kind is None or e.kind == kind]


def channels_of(n: Notification) -> list[str]:
    """Where a real notifier would deliver it (for the printed timeline only)."""
    if n.audience == Audience.STAFF:
        return ["staff"]
    contact = n.context.get("customer") or {}
    return [c for c, key in (("sms", "phone"), ("email", "email")) if contact.get(key)] or ["app"]


_OPENS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
}
_CLOSES = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "scheduled_event_id",
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED: "scheduled_event_id",
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: "scheduled_event_id",
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "scheduled_event_id",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "scheduled_event_id",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "scheduled_event_id",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "scheduled_event_id",
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: "initiated_event_id",
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: "initiated_event_id",
    EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: "initiated_event_id",
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: "initiated_event_id",
}


def quiescent(history: WorkflowHistory) -> bool:
    """No workflow task, activity, child start or outgoing signal still open in this run's history: what
    the complaint set out to do has been done (read from the history, which the server keeps exact)."""
    open_ids: set[int] = set()
    for e in history.events:
        if e.event_type in _OPENS:
            open_ids.add(e.event_id)
        elif e.event_type in _CLOSES:
            attrs = getattr(e, e.WhichOneof("attributes"))
            open_ids.discard(getattr(attrs, _CLOSES[e.event_type]))
    return not open_ids


async def settle(client: Client, workflow_id: str, *, tries: int = 500) -> None:
    """Wait (bounded, 20 ms steps) until the complaint's current run is quiescent."""
    handle = client.get_workflow_handle(workflow_id)
    for _ in range(tries):
        if quiescent(await handle.fetch_history()):
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{workflow_id} still busy after {tries * 0.02:.0f} s")


# Steps act this long after their moment. The complaint counts in whole seconds, so the step is still
# recorded at its moment, but a timer due at that very moment has fired first: an Update racing a firing
# timer makes the time-skipping server reject the workflow task and stall.
STEP_LAG = timedelta(milliseconds=500)


async def sleep_past(env: WorkflowEnvironment, moment: datetime) -> None:
    """Let the server's clock run to just past `moment` (timers due by then fire)."""
    left = moment + STEP_LAG - await env.get_current_time()
    if left > timedelta(0):
        await env.sleep(left)


async def terminate_complaint(client: Client, workflow_id: str, view: ComplaintView | None = None) -> None:
    """Leave nothing running (a time-skipping server may be shared): the complaint and, from its view, the
    investigation children of its first rounds. Already-closed ones are skipped quietly."""
    ids = [workflow_id]
    if view is not None:
        ids += [investigation_id(workflow_id, f.department, r) for f in view.investigation for r in (1, 2, 3)]
    for i in ids:
        try:
            await client.get_workflow_handle(i).terminate("run over")
        except Exception:
            pass  # already closed or never started


async def register_search_attributes(env: WorkflowEnvironment) -> None:
    """A fresh test server knows none of the complaint's search attributes (domain/search_attributes.py)."""
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in search_attributes.ALL
            },
        )
    )
