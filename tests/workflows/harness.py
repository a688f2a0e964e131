"""Driving complaints on the time-skipping server: same-named fake activities that record what they were
asked, a worker per test on its own task queue, and helpers to start complaints at a chosen moment.

Complaints start "as if" at a known moment (Monday 2 March 2026 09:00 Shanghai unless told otherwise)
through the workflow's `time_shift` option, so business-hours behaviour does not depend on when the suite
runs. Time moves only through `env.sleep` (waiting for an Update's result does not advance it).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from desk.temporal import workflow_id_for
from domain.actions import QUERY_STATE, ActionResult
from domain.messages import (
    ACTIVITY_NOTIFY,
    ACTIVITY_RECORD,
    ACTIVITY_TRACKING,
    Audience,
    LedgerWrite,
    Notification,
    NotificationResult,
    TemplateKey,
    TrackingRequest,
    TrackingSnapshot,
)
from domain.models import (
    Actor,
    Category,
    Channel,
    ComplaintInput,
    ComplaintType,
    Customer,
    ObligationName,
    Role,
    Tier,
)
from domain.policy import Policy
from domain.view import ComplaintView, ObligationView
from workflows.complaint import ComplaintOptions, ComplaintWorkflow
from workflows.registry import WORKFLOWS

SH = ZoneInfo("Asia/Shanghai")
MONDAY_9 = datetime(2026, 3, 2, 9, tzinfo=SH)  # an ordinary working Monday morning

SPECIALIST = Actor(id="agent-1", role=Role.SPECIALIST, name="Li Na")
SUPERVISOR = Actor(id="sup-1", role=Role.SUPERVISOR, name="Wang Wei")
SENIOR = Actor(id="senior-1", role=Role.SENIOR_SUPERVISOR)
ENGINEER = Actor(id="eng-1", role=Role.ENGINEER)
LOGISTICS = Actor(id="log-1", role=Role.LOGISTICS)
HEAD = Actor(id="head-1", role=Role.DEPARTMENT_HEAD)


@dataclass
class World:
    """What the complaint asked of the outside world, in order."""

    notifications: list[Notification] = field(default_factory=list)
    ledger: list[LedgerWrite] = field(default_factory=list)
    tracking: list[TrackingRequest] = field(default_factory=list)
    fail_templates: set[TemplateKey] = field(default_factory=set)  # these notifications fail for good

    def activities(self) -> list[Any]:
        @activity.defn(name=ACTIVITY_NOTIFY)
        async def notify(n: Notification) -> NotificationResult:
            if n.template in self.fail_templates:
                raise ApplicationError(f"{n.template} refused by every channel", non_retryable=True)
            self.notifications.append(n)
            return NotificationResult(idempotency_key=n.idempotency_key, delivered=["sms"])

        @activity.defn(name=ACTIVITY_RECORD)
        async def record_ledger(batch: LedgerWrite) -> int:
            self.ledger.append(batch)
            return len(batch.events)

        @activity.defn(name=ACTIVITY_TRACKING)
        async def lookup_tracking(req: TrackingRequest) -> TrackingSnapshot:
            self.tracking.append(req)
            found = req.waybill.startswith("SF")
            return TrackingSnapshot(
                waybill=req.waybill,
                found=found,
                carrier="SF Express" if found else None,
                status="in transit" if found else None,
            )

        return [notify, record_ledger, lookup_tracking]

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

    def events(self, complaint_id: str, kind: str | None = None) -> list[Any]:
        out = [e for b in self.ledger for e in b.events if e.complaint_id == complaint_id]
        return [e for e in out if kind is None or e.kind == kind]


@dataclass
class Desk:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    world: World
    started: list[Complaint] = field(default_factory=list)

    async def close(self) -> None:
        """Terminate what the test left running: on the shared time-skipping server a workflow whose worker
        is gone would hold every later test's clock (its due timers would wait for a worker for ever)."""
        for c in self.started:
            ids = [c.handle.id]
            try:
                view = await c.view()
                ids += [f"{c.handle.id}/investigation/{f.department.value}/{r}" for f in view.investigation for r in range(1, 4)]
            except Exception:
                pass
            for wf_id in ids:
                try:
                    await self.client.get_workflow_handle(wf_id).terminate("test over")
                except Exception:
                    pass  # already closed or never existed

    async def start(
        self,
        *,
        tier: Tier = Tier.GENERAL,
        complaint_type: ComplaintType = ComplaintType.COMPLAINT,
        category: Category = Category.OTHER,
        at: datetime = MONDAY_9,
        policy: Policy | None = None,
        policy_name: str = "standard",
        order_number: str | None = None,
        history_limit: int | None = None,
        shift: bool = True,
        classified_by: str = "classifier",
        description: str = "包裹延误三天,客户着急",
    ) -> Complaint:
        now = await self.env.get_current_time()
        received = at if shift else now
        cid = f"C-T{uuid.uuid4().hex[:10].upper()}"
        inp = ComplaintInput(
            complaint_id=cid,
            channel=Channel.HOTLINE,
            customer=Customer(name="张三", phone="+8613800000000", email="zhang@example.com"),
            description=description,
            order_number=order_number,
            category=category,
            complaint_type=complaint_type,
            tier=tier,
            received_at=received,
            status_token=uuid.uuid4().hex,
            policy=policy_name,
            classified_by=classified_by,
        )
        opts = ComplaintOptions(
            policy=policy, time_shift=(at - now) if shift else timedelta(0), history_limit=history_limit
        )
        await self.client.start_workflow(
            ComplaintWorkflow.run, args=[inp, opts], id=workflow_id_for(cid), task_queue=self.task_queue
        )
        # A handle without a run id follows the complaint across continue-as-new.
        handle = self.client.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id_for(cid))
        complaint = Complaint(self, handle, inp, started=now, at=received)
        self.started.append(complaint)
        await complaint.settle()
        return complaint

    async def sleep(self, duration: timedelta) -> None:
        await self.env.sleep(duration)


@dataclass
class Complaint:
    desk: Desk
    handle: WorkflowHandle[Any, Any]
    input: ComplaintInput
    started: datetime  # the test server's clock when it started
    at: datetime  # the moment the complaint believes it started (after the time shift)

    async def until(self, offset: timedelta) -> None:
        """Let time pass until `offset` after the complaint started (timers due before it fire)."""
        now = await self.desk.env.get_current_time()
        left = self.started + offset - now
        if left > timedelta(0):
            await self.desk.env.sleep(left)
        await self.settle()

    async def settle(self) -> None:
        """Wait (in wall time, bounded) until the complaint has nothing in flight — no workflow task, no
        activity, no child start or signal pending — so what it sent can be checked. Read from its history,
        which the time-skipping server keeps exact. A bounded wait, not a timing assertion."""
        for _ in range(500):
            if _quiescent(await self.handle.fetch_history()):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{self.id} still busy after 10 s")

    @property
    def id(self) -> str:
        return self.input.complaint_id

    async def do(self, update: str, arg: Any) -> ActionResult:
        result = await self.handle.execute_update(update, arg, result_type=ActionResult)
        await self.settle()
        return result

    async def view(self) -> ComplaintView:
        return await self.handle.query(QUERY_STATE, result_type=ComplaintView)

    async def obligation(self, name: ObligationName, occurrence: int | None = None) -> ObligationView:
        view = await self.view()
        matches = [o for o in view.obligations if o.name == name]
        assert matches, f"no {name} obligation in {[o.name.value for o in view.obligations]}"
        if occurrence is not None:
            matches = [o for o in matches if o.occurrence == occurrence]
        return max(matches, key=lambda o: o.occurrence)

    async def result(self) -> ComplaintView:
        """The final view; time skips meanwhile (a handle got by id is not the time-skipping kind, so the
        environment is unlocked around the wait, as its own handles do)."""
        async with self.desk.env.time_skipping_unlocked():  # type: ignore[attr-defined]
            return await self.handle.result()

    async def history_length(self) -> int:
        history = await self.handle.fetch_history()
        return len(history.events)


_OPENS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: "wft",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity",
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: "child",
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "signal",
}
_CLOSES = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: ("wft", "scheduled_event_id"),
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED: ("wft", "scheduled_event_id"),
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: ("wft", "scheduled_event_id"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: ("activity", "scheduled_event_id"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: ("activity", "scheduled_event_id"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: ("activity", "scheduled_event_id"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: ("activity", "scheduled_event_id"),
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: ("child", "initiated_event_id"),
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: ("child", "initiated_event_id"),
    EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: ("signal", "initiated_event_id"),
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: ("signal", "initiated_event_id"),
}


def _quiescent(history: WorkflowHistory) -> bool:
    """No workflow task, activity, child start or outgoing signal still open in this run's history."""
    open_ids: set[int] = set()
    for e in history.events:
        if e.event_type in _OPENS:
            open_ids.add(e.event_id)
        elif e.event_type in _CLOSES:
            _, field_name = _CLOSES[e.event_type]
            attrs = getattr(e, e.WhichOneof("attributes"))
            open_ids.discard(getattr(attrs, field_name))
    return not open_ids


@asynccontextmanager
async def desk_on(env: WorkflowEnvironment, world: World | None = None) -> AsyncIterator[Desk]:
    world = world or World()
    task_queue = f"complaints-{uuid.uuid4().hex[:8]}"
    async with Worker(env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=world.activities()):
        desk = Desk(env=env, client=env.client, task_queue=task_queue, world=world)
        try:
            yield desk
        finally:
            await desk.close()
