"""Cost of one complaint lifecycle per tier, reopen included: history events and Temporal Cloud billable
actions, counted in real histories.

Each lifecycle runs the real `ComplaintWorkflow` (and its children) with the real activities (ledger in
PostgreSQL, notifications through the outbox to the local sinks) on the time-skipping test server, with
the `standard` policy and realistic timings: filed on a working Monday at 09:00 Asia/Shanghai (the
workflow's `time_shift` option), staff acting after minutes or hours, a first rating below 4 that
reopens it, a second that closes it. Intake is done as `starters/intake.py` does it for a new complaint:
a plain start (the first report is in the input; no `add_report` Update).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import histories
from bench.lateness import NotReady, require
from bench.processes import binary
from bench.progress import Progress
from desk.testing_support import register_search_attributes

SH = ZoneInfo("Asia/Shanghai")
MONDAY_9 = datetime(2026, 3, 2, 9, tzinfo=SH)  # an ordinary working Monday
TASK_QUEUE = "bench-cost"

M, H = timedelta(minutes=1), timedelta(hours=1)


@dataclass
class Step:
    after: timedelta  # from intake
    update: str
    payload: Any


@dataclass
class Lifecycle:
    name: str
    tier: str
    category: str
    order_number: str | None
    steps: list[Step]
    story: str
    until: timedelta = field(default=timedelta(hours=1))  # after the last step, for the rating to close it


def lifecycles() -> list[Lifecycle]:
    from domain import actions as A
    from domain.models import Actor, Department, Role

    spec = Actor(id="agent-1", role=Role.SPECIALIST)
    sup = Actor(id="sup-1", role=Role.SUPERVISOR)
    senior = Actor(id="senior-1", role=Role.SENIOR_SUPERVISOR)
    return [
        Lifecycle(
            "general, reopened once",
            "general",
            "invoice",
            None,
            [
                Step(3 * M, A.UPDATE_ACKNOWLEDGE, A.Acknowledge(actor=spec, message="收到,正在处理")),
                Step(20 * M, A.UPDATE_ASSIGN, A.Assign(actor=spec, departments=[Department.FINANCE])),
                Step(1 * H, A.UPDATE_PROPOSE_PLAN, A.ProposePlan(actor=spec, plan="重新开具发票")),
                Step(4 * H, A.UPDATE_RESOLVE, A.Resolve(actor=spec, cause="抬头错误", solution="已重开发票")),
                Step(4 * H + 10 * M, A.UPDATE_RATE, A.Rate(score=2, demand="今天寄出纸质发票")),
                Step(
                    6 * H,
                    A.UPDATE_RESOLVE,
                    A.Resolve(actor=senior, cause="抬头错误", solution="纸质发票已寄出"),
                ),
                Step(6 * H + 30 * M, A.UPDATE_RATE, A.Rate(score=5)),
            ],
            "ack 3 min, assigned 20 min, plan 1 h, resolved 4 h, rated 2 → reopened, resolved 6 h, rated 5",
        ),
        Lifecycle(
            "important, reopened once",
            "important",
            "delayed",
            "SF1234567890",
            [
                Step(3 * M, A.UPDATE_ACKNOWLEDGE, A.Acknowledge(actor=spec, message="已收到")),
                Step(10 * M, A.UPDATE_ACKNOWLEDGE, A.Acknowledge(actor=sup)),
                Step(30 * M, A.UPDATE_ASSIGN, A.Assign(actor=spec, departments=[Department.TRANSPORT])),
                Step(1 * H, A.UPDATE_START_HANDLING, A.StaffAction(actor=spec)),
                Step(5 * H, A.UPDATE_WORK_DONE, A.WorkDone(actor=spec, summary="已改派加急")),
                Step(6 * H, A.UPDATE_RESOLVE, A.Resolve(actor=spec, cause="中转延误", solution="已加急派送")),
                Step(6 * H + 10 * M, A.UPDATE_RATE, A.Rate(score=3, demand="要求减免运费")),
                Step(
                    8 * H,
                    A.UPDATE_RESOLVE,
                    A.Resolve(actor=senior, cause="中转延误", solution="运费已退", compensation=20),
                ),
                Step(8 * H + 30 * M, A.UPDATE_RATE, A.Rate(score=5)),
            ],
            "acks 3/10 min, assigned 30 min, handling 1 h (2-hourly reports), work done 5 h, resolved 6 h, rated 3 → reopened, resolved 8 h, rated 5",
        ),
        Lifecycle(
            "urgent, reopened once",
            "urgent",
            "spoiled",
            "SF1234567890",
            [
                Step(2 * M, A.UPDATE_ACKNOWLEDGE, A.Acknowledge(actor=spec, message="紧急处理中")),
                Step(5 * M, A.UPDATE_ACKNOWLEDGE, A.Acknowledge(actor=sup)),
                Step(15 * M, A.UPDATE_ASSIGN, A.Assign(actor=spec, departments=[Department.WAREHOUSE])),
                Step(
                    1 * H,
                    A.UPDATE_PROPOSE_PLAN,
                    A.ProposePlan(actor=spec, plan="补发并赔偿", compensation=200),
                ),
                Step(1 * H + 10 * M, A.UPDATE_APPROVE, A.Approve(actor=sup)),
                Step(
                    3 * H,
                    A.UPDATE_RESOLVE,
                    A.Resolve(actor=spec, cause="冷链断链", solution="已补发", compensation=200),
                ),
                Step(3 * H + 10 * M, A.UPDATE_RATE, A.Rate(score=2, demand="要求全额退款")),
                Step(
                    4 * H,
                    A.UPDATE_RESOLVE,
                    A.Resolve(actor=senior, cause="冷链断链", solution="已全额退款", compensation=500),
                ),
                Step(4 * H + 10 * M, A.UPDATE_RATE, A.Rate(score=4)),
            ],
            "acks 2/5 min, assigned 15 min, plan 1 h approved, resolved 3 h, rated 2 → reopened, resolved 4 h, rated 4; 30-minute customer updates throughout",
        ),
    ]


async def _run_one(env, lc: Lifecycle, progress: Progress) -> dict:
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.common import WorkflowIDConflictPolicy

    from core.temporal import workflow_id_for
    from domain.actions import ActionResult
    from domain.case import ComplaintOptions
    from domain.models import Category, Channel, ComplaintInput, ComplaintType, Customer, Tier

    now = await env.get_current_time()
    cid = f"C-COST{uuid.uuid4().hex[:8].upper()}"
    ci = ComplaintInput(
        complaint_id=cid,
        channel=Channel.APP,
        customer=Customer(name="张三", phone="+8613800000000", email="zhang@example.com"),
        description="货物问题,请尽快处理",
        order_number=lc.order_number,
        category=Category(lc.category),
        complaint_type=ComplaintType.COMPLAINT,
        tier=Tier(lc.tier),
        received_at=MONDAY_9,
        status_token=uuid.uuid4().hex,
        policy="standard",
        classified_by="classifier",
    )
    handle = await env.client.start_workflow(
        "ComplaintWorkflow",
        args=[ci, ComplaintOptions(time_shift=MONDAY_9 - now)],
        id=workflow_id_for(cid),
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    elapsed = timedelta(0)
    rejected: list[str] = []
    task = progress.add(f"cost: {lc.name}", len(lc.steps))
    for step in lc.steps:
        if step.after > elapsed:
            await env.sleep(step.after - elapsed)
            elapsed = step.after
        try:
            await handle.execute_update(step.update, step.payload, result_type=ActionResult)
        except WorkflowUpdateFailedError as e:
            rejected.append(f"{step.update}: {getattr(e.cause, 'message', e)}")
        progress.advance(task)
    await env.sleep(lc.until)
    progress.done(task)

    runs = await histories.fetch_chain(env.client, workflow_id_for(cid))
    last = runs[-1][-1] if runs and runs[-1] else None
    cost = histories.Cost()
    children: list[str] = []

    for events in runs:
        cost.add(histories.cost_of(events))
        for ev in events:
            if ev.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                children.append(ev.start_child_workflow_execution_initiated_event_attributes.workflow_id)
    child_cost = histories.Cost()
    for child in children:
        for events in await histories.fetch_chain(env.client, child):
            child_cost.add(histories.cost_of(events))
    return {
        "story": lc.story,
        "complaint_id": cid,
        "final_event": EventType.Name(last.event_type).removeprefix("EVENT_TYPE_")
        if last is not None
        else None,
        "runs": len(runs),
        "events": cost.events + child_cost.events,
        "actions": cost.actions + child_cost.actions + len(rejected),
        "rejected_updates": len(rejected),
        "rejected": rejected,
        "queries": 0,
        "children": len(children),
        "events_by_type": dict(cost.events_by_type + child_cost.events_by_type),
        "actions_by_type": dict(cost.actions_by_type + child_cost.actions_by_type),
    }


async def run(workdir: Path, progress: Progress) -> dict:
    require("workflows.complaint", "workflows.registry", "activities.registry", "standins.http")
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from activities.registry import build_activities
    from bench.product import Product
    from core.settings import Settings
    from core.temporal import DATA_CONVERTER
    from workflows.registry import WORKFLOWS

    try:
        server = binary("temporal-test-server")
    except FileNotFoundError as e:
        raise NotReady(str(e)) from e
    product = Product(workdir)
    await product.start(worker=False, temporal=False)
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=server
    )
    try:
        await register_search_attributes(env)
        sink_port = int(product.sink_url.rsplit(":", 1)[-1])
        settings = Settings(
            database_url=product.database_url,
            web_host="127.0.0.1",
            web_port=sink_port,
            smtp_host="127.0.0.1",
            smtp_port=product.smtp_port,
            public_base_url="http://127.0.0.1:8000",
        )
        assert product.pool is not None
        worker = Worker(
            env.client,
            task_queue=TASK_QUEUE,
            workflows=list(WORKFLOWS),
            activities=build_activities(settings, product.pool),
        )
        results: dict[str, dict] = {}
        async with worker:
            for lc in lifecycles():
                results[lc.name] = await _run_one(env, lc, progress)
    finally:
        await env.shutdown()
        await product.stop()
    return {
        "method": (
            "Real histories of one scripted lifecycle per tier (standard policy, filed Monday 09:00 Asia/Shanghai, "
            "business-hours clocks for general and important), run by the real workflow and activities on the "
            "time-skipping test server; intake as starters/intake.py does it for a new complaint (a plain start). "
            "Every run of a continue-as-new chain and every child workflow (department investigations) is counted."
        ),
        "lifecycles": results,
        "rules": histories.ACTION_RULES,
        "source": (
            "Billing rules: Temporal Cloud Actions, https://docs.temporal.io/cloud/actions "
            "(temporalio/documentation `docs/evaluate/cloud/actions.mdx`): each history event type mapped to its "
            "Action; Queries (1 each, `__temporal_workflow_metadata` excluded) and rejected Updates (1 each) are "
            "billed but never appear in history, so they are added from what the script sent."
        ),
        "notes": [
            "Not in these figures: a report that joins an open complaint is one more Update and one `state` "
            "Query (starters/intake.py), and every staff-UI or status-page view that queries the workflow is "
            "one more Action.",
        ],
    }
