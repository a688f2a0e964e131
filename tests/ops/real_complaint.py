"""Running the real ComplaintWorkflow for the ops tests: an urgent complaint that misses its 5-minute first
response, is then acknowledged, and is cancelled by a supervisor so nothing is left running on the shared
test server. Activities are the workflow tests' same-named fakes (tests/workflows/harness.World)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.telemetry import complaint_context
from core.temporal import workflow_id_for
from domain.actions import UPDATE_ACKNOWLEDGE, UPDATE_CANCEL, Acknowledge, ActionResult, Cancel
from domain.case import ComplaintOptions
from domain.models import Actor, Channel, ComplaintInput, Customer, Role, Tier
from tests.workflows.harness import World, _quiescent
from workflows.complaint import ComplaintWorkflow
from workflows.registry import WORKFLOWS

CUSTOMER = Customer(name="王小明 Wang Xiaoming", phone="+86 138 0013 8000", email="wxm@example.cn")
DESCRIPTION = "冷链生鲜全部变质 spoiled fresh goods, please call me back"
SECRETS = [
    CUSTOMER.name,
    "Wang Xiaoming",
    "王小明",
    CUSTOMER.phone,
    "138 0013 8000",
    CUSTOMER.email,
    "spoiled fresh",
]
SPECIALIST = Actor(id="zhang", role=Role.SPECIALIST, name="张敏")
SUPERVISOR = Actor(id="zhao", role=Role.SUPERVISOR, name="赵主管")


@dataclass
class Run:
    handle: WorkflowHandle
    complaint: ComplaintInput
    world: World


async def _settle(handle: WorkflowHandle) -> None:
    for _ in range(500):  # bounded wait until nothing is in flight; not a timing assertion
        if _quiescent(await handle.fetch_history()):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("complaint still busy after 10 s")


async def run_breached_complaint(
    env: WorkflowEnvironment,
    *,
    starter: Client | None = None,
    worker_client: Client | None = None,
    workflow_id: str | None = None,
    while_open: Callable[[WorkflowHandle], Awaitable[None]] | None = None,
) -> Run:
    """`starter` starts and acts (needs the env's time-skipping interceptor); `worker_client` runs the worker;
    `while_open` is called after the breach, while the worker still answers queries."""
    starter = starter or env.client
    world = World()
    tq = f"ops-real-{uuid.uuid4().hex[:8]}"
    cid = f"C-OPS{uuid.uuid4().hex[:8].upper()}"
    complaint = ComplaintInput(
        complaint_id=cid,
        channel=Channel.HOTLINE,
        customer=CUSTOMER,
        description=DESCRIPTION,
        order_number="SF1234567890",
        tier=Tier.URGENT,
        received_at=await env.get_current_time(),
        status_token=uuid.uuid4().hex,
    )
    async with Worker(
        worker_client or env.client, task_queue=tq, workflows=WORKFLOWS, activities=world.activities()
    ):
        handle = await starter.start_workflow(
            ComplaintWorkflow.run,
            args=[complaint, ComplaintOptions()],
            id=workflow_id or workflow_id_for(cid),
            task_queue=tq,
        )
        await _settle(handle)
        await env.sleep(timedelta(minutes=6))  # warning at 3:45, breach at 5:00
        await _settle(handle)
        if while_open is not None:
            await while_open(handle)
        with complaint_context(cid):  # what the staff UI does around its calls
            await handle.execute_update(
                UPDATE_ACKNOWLEDGE,
                Acknowledge(actor=SPECIALIST, message="我们正在处理"),
                result_type=ActionResult,
            )
            await _settle(handle)
            await handle.execute_update(
                UPDATE_CANCEL, Cancel(actor=SUPERVISOR, reason="ops test over"), result_type=ActionResult
            )
        await handle.result()
    return Run(handle=handle, complaint=complaint, world=world)
