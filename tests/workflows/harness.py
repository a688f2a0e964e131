"""Driving complaints on the time-skipping server: same-named stand-in activities that record what they were
asked (`desk.testing_support.Recorder`), a worker per test on its own task queue, and helpers to start
complaints at a chosen moment.

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

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.temporal import workflow_id_for
from desk.testing_support import Recorder, quiescent, sleep_past, terminate_complaint
from domain.actions import QUERY_STATE, ActionResult
from domain.calendar import CalendarSpec
from domain.case import ComplaintOptions
from domain.models import (
    Actor,
    Category,
    Channel,
    ComplaintInput,
    ComplaintType,
    Customer,
    Department,
    ObligationName,
    Role,
    Tier,
)
from domain.policy import Policy
from domain.view import ComplaintView, ObligationView
from workflows.complaint import ComplaintWorkflow
from workflows.registry import WORKFLOWS

# The recording stand-ins of the simulation are the workflow tests' outside world (tests/ops import these).
World = Recorder
_quiescent = quiescent

SH = ZoneInfo("Asia/Shanghai")
MONDAY_9 = datetime(2026, 3, 2, 9, tzinfo=SH)  # an ordinary working Monday morning

SPECIALIST = Actor(id="agent-1", role=Role.SPECIALIST, name="Li Na")
SUPERVISOR = Actor(id="sup-1", role=Role.SUPERVISOR, name="Wang Wei")
SENIOR = Actor(id="senior-1", role=Role.SENIOR_SUPERVISOR)
# Staff act on the complaints of their departments (per-complaint rights, domain/action_table.py).
LOGISTICS_SIDE = (Department.LOGISTICS, Department.WAREHOUSE, Department.TRANSPORT, Department.DELIVERY)
ENGINEER = Actor(id="eng-1", role=Role.ENGINEER, departments=(Department.TECHNICAL,))
LOGISTICS = Actor(id="log-1", role=Role.LOGISTICS, departments=LOGISTICS_SIDE)
HEAD = Actor(id="head-1", role=Role.DEPARTMENT_HEAD, departments=LOGISTICS_SIDE)


@dataclass
class Desk:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    world: World
    started: list[Complaint] = field(default_factory=list)

    async def close(self) -> None:
        """Check no workflow task failed (a bug the SDK would quietly retry), then terminate what the test
        left running: on the shared time-skipping server a workflow whose worker is gone would hold every
        later test's clock (its due timers would wait for a worker for ever)."""
        failed = []
        for c in self.started:
            history = await c.handle.fetch_history()
            failed += [
                c.id for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]
        for c in self.started:
            try:
                view = await c.view()
            except Exception:  # the run is gone or its worker stopped answering: the complaint alone
                view = None
            await terminate_complaint(self.client, c.handle.id, view)
        assert not failed, f"workflow tasks failed in {sorted(set(failed))}: see the worker log"

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
        calendars: dict[str, CalendarSpec] | None = None,  # as intake resolves them (issue 13)
        region: str | None = None,
        business_line: str | None = None,
    ) -> Complaint:
        now = await self.env.get_current_time()
        received = at if shift else now - timedelta(milliseconds=1500)  # filed a moment before the start
        cid = f"C-T{uuid.uuid4().hex[:10].upper()}"
        inp = ComplaintInput(
            complaint_id=cid,
            channel=Channel.HOTLINE,
            customer=Customer(name="张三", phone="+8613800000000", email="zhang@example.com", region=region),
            description=description,
            order_number=order_number,
            category=category,
            complaint_type=complaint_type,
            tier=tier,
            received_at=received,
            status_token=uuid.uuid4().hex,
            policy=policy_name,
            classified_by=classified_by,
            business_line=business_line,
        )
        opts = ComplaintOptions(
            policy=policy,
            time_shift=(at - now) if shift else timedelta(0),
            history_limit=history_limit,
            calendars=calendars,
        )
        first = await self.client.start_workflow(
            ComplaintWorkflow.run, args=[inp, opts], id=workflow_id_for(cid), task_queue=self.task_queue
        )
        # A handle without a run id follows the complaint across continue-as-new.
        handle = self.client.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id_for(cid))
        complaint = Complaint(
            self, handle, inp, started=now, at=received, first_run_id=first.result_run_id or ""
        )
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
    first_run_id: str = ""

    async def until(self, offset: timedelta) -> None:
        """Let time pass until `offset` after the complaint started: timers due by then have fired (the
        complaint counts whole seconds, so what happens next is recorded at `offset`)."""
        await sleep_past(self.desk.env, self.started + offset)
        await self.settle()

    async def settle(self) -> None:
        """Wait (in wall time, bounded) until the complaint has nothing in flight — no workflow task, no
        activity, no child start or signal pending — so what it sent can be checked. Read from its history,
        which the time-skipping server keeps exact. A bounded wait, not a timing assertion."""
        for _ in range(500):
            if quiescent(await self.handle.fetch_history()):
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


@asynccontextmanager
async def desk_on(
    env: WorkflowEnvironment, world: World | None = None, *, max_cached_workflows: int = 1000
) -> AsyncIterator[Desk]:
    """A worker on its own task queue. `max_cached_workflows=0`: every workflow task replays the history
    from the start, so a run whose replay disagrees with what it did live fails at once."""
    world = world or World()
    task_queue = f"complaints-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=world.activities(),
        max_cached_workflows=max_cached_workflows,
    ):
        desk = Desk(env=env, client=env.client, task_queue=task_queue, world=world)
        try:
            yield desk
        finally:
            await desk.close()
