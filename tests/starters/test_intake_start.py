"""Intake answers once Temporal has recorded the start, not when a worker has run the workflow: the promised
times and next due in the answer are the ones the workflow then records, a retry of the same complaint is
the same complaint, and a report of an open issue still joins it (real dev server, worker, PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager
from datetime import datetime

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.worker import Worker

from activities.registry import build_activities
from domain.actions import QUERY_STATE
from domain.models import ObligationName
from domain.view import ComplaintView
from starters.confirmation import EarlyConfirmation
from starters.intake import IntakeResult, IntakeService, parse_request
from tests.starters.conftest import complaint_body
from workflows.registry import WORKFLOWS

N = ObligationName


async def _state(client, workflow_id: str) -> ComplaintView:
    """The workflow's own view, once its first task has run (a query waits only briefly for that)."""
    for _ in range(100):
        try:
            return await client.get_workflow_handle(workflow_id).query(QUERY_STATE, result_type=ComplaintView)
        except Exception:
            await asyncio.sleep(0.1)
    raise AssertionError(f"no answer from {workflow_id}")


def _due(view: ComplaintView, name: ObligationName) -> datetime | None:
    dues = [o.due_at for o in view.obligations if o.name == name]
    return min(dues) if dues else None


def _promises(r: IntakeResult) -> tuple:
    return (r.received_at, r.first_response_by, r.resolution_by, r.next_due, r.next_due_at, r.state)


def _recorded(view: ComplaintView) -> tuple:
    return (
        view.received_at,
        _due(view, N.FIRST_RESPONSE),
        _due(view, N.RESOLUTION),
        view.next_due,
        view.next_due_at,
        view.state.value,
    )


async def test_the_answer_comes_before_any_worker_runs_and_promises_what_the_workflow_then_records(stack):
    # A task queue nobody polls yet: the answer cannot have waited for the workflow.
    queue = f"intake-later-{uuid.uuid4().hex[:8]}"
    settings = stack.settings.model_copy(update={"task_queue": queue})
    service = IntakeService(stack.client, settings, pool=stack.pool)
    bodies = [
        complaint_body(),  # urgent spoiled goods: clocks in calendar time
        complaint_body(order_number=None, description="请问发票怎么开？"),  # general: business hours
        complaint_body(business_line="warehouse", description="仓库发错货了，型号不对"),
        complaint_body(customer_region="香港", description="包裹延误五天"),
    ]
    taken = [await service.take(parse_request(b), source="test") for b in bodies]
    results = [t.result for t in taken]
    assert all(r is not None and not r.joined for r in results)

    for r in results:
        handle = stack.client.get_workflow_handle(r.workflow_id)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # durable in Temporal
        kinds = [e.event_type async for e in handle.fetch_history_events()]
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED not in kinds  # no worker has run it
        assert r.received_at.microsecond == 0 and r.first_response_by is not None and r.next_due_at

    async with httpx.AsyncClient() as http:  # the link the customer was given works already
        for r in results:
            page = await http.get(r.status_url)
            assert page.status_code == 200 and page.headers["refresh"] == "5"
            assert 'data-testid="registering"' in page.text and r.complaint_id in page.text

    await asyncio.sleep(1.1)  # the workflows' first tasks run in a later second than the intake
    async with Worker(
        stack.client, task_queue=queue, workflows=WORKFLOWS, activities=build_activities(settings, stack.pool)
    ):
        views = [await _state(stack.client, r.workflow_id) for r in results]
        async with httpx.AsyncClient(timeout=30) as http:  # once the ledger has it: the status page itself
            page = await http.get(results[0].status_url)
        assert page.status_code == 200 and "refresh" not in page.headers
        assert 'data-testid="registering"' not in page.text and results[0].complaint_id in page.text
    for r, view in zip(results, views, strict=True):
        assert view.complaint_id == r.complaint_id
        assert _promises(r) == _recorded(view), r.complaint_id


async def _sent(pool, key: str) -> dict[str, tuple[str, int]]:
    """The outbox rows of one notification: channel -> (status, attempts)."""
    rows = await pool.fetch(
        "SELECT channel, status, attempts FROM notifications WHERE notification_key = $1", key
    )
    return {r["channel"]: (r["status"], r["attempts"]) for r in rows}


async def _received(pool, complaint_id: str, email: str) -> dict[str, int]:
    """What the stand-in providers received of the complaint's confirmation: channel -> deliveries (the
    SMTP sink keys mail by Message-ID and recipient: the customer's mailbox gets only the confirmation here)."""
    rows = await pool.fetch(
        "SELECT channel, deliveries FROM sink_messages WHERE complaint_id = $1"
        " AND (dedupe_key LIKE '%:confirmation/%' OR (channel = 'email' AND recipient = $2))",
        complaint_id,
        email,
    )
    return {r["channel"]: r["deliveries"] for r in rows}


async def _settled_as(pool, key: str, status: str, tries: int = 100) -> None:
    """Until every delivery of the notification has this status (or the tries are up)."""
    for _ in range(tries):
        if {s for s, _ in (await _sent(pool, key)).values()} == {status}:
            return
        await asyncio.sleep(0.1)


@asynccontextmanager
async def _filed_with_early_confirmation(stack, queue_prefix: str, **intake_providers):
    """One new complaint filed to a task queue nobody polls yet, intake sending its confirmation (through
    providers changed by `intake_providers`): yields the queue's settings, the answer, the confirmation's
    key and the customer's mailbox."""
    settings = stack.settings.model_copy(update={"task_queue": f"{queue_prefix}-{uuid.uuid4().hex[:8]}"})
    confirm = EarlyConfirmation.build(settings.model_copy(update=intake_providers), stack.pool)
    assert confirm is not None
    service = IntakeService(stack.client, settings, pool=stack.pool, confirm=confirm)
    body = complaint_body()
    email = body["customer"]["email"] = f"c-{uuid.uuid4().hex[:8]}@example.com"
    try:
        r = (await service.take(parse_request(body), source="test")).result
        assert r is not None
        yield settings, r, f"{r.complaint_id}:confirmation", email
    finally:
        await confirm.aclose()


def _worker(stack, settings) -> Worker:
    return Worker(
        stack.client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(settings, stack.pool),
    )


ONCE_EACH = {"sms": 1, "email": 1, "push": 1}  # an app user: push too


async def test_the_customer_is_confirmed_before_any_worker_runs_and_once_when_it_does(stack):
    async with _filed_with_early_confirmation(stack, "confirm-later") as (settings, r, key, email):
        await _settled_as(stack.pool, key, "sent")
        once = {"sms": ("sent", 1), "email": ("sent", 1), "push": ("sent", 1)}
        assert await _sent(stack.pool, key) == once
        assert await _received(stack.pool, r.complaint_id, email) == ONCE_EACH
        handle = stack.client.get_workflow_handle(r.workflow_id)
        kinds = [e.event_type async for e in handle.fetch_history_events()]
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED not in kinds  # sent with no worker at all
        text = await stack.pool.fetchval(
            "SELECT body FROM notifications WHERE notification_key = $1 AND channel = 'sms'", key
        )
        assert r.complaint_id in text and r.status_url in text

        async with _worker(stack, settings):
            await _state(stack.client, r.workflow_id)
            for _ in range(100):  # the intake step's marker: its ledger write and its deliveries are done
                kinds = [e.event_type async for e in handle.fetch_history_events()]
                if EventType.EVENT_TYPE_MARKER_RECORDED in kinds:
                    break
                await asyncio.sleep(0.1)
            assert EventType.EVENT_TYPE_MARKER_RECORDED in kinds
        # The workflow's own confirmation found it sent: nothing went out a second time.
        assert await _sent(stack.pool, key) == once
        assert await _received(stack.pool, r.complaint_id, email) == ONCE_EACH


async def test_a_confirmation_intake_could_not_send_is_sent_by_the_workflow(stack):
    # Intake's providers refuse connections (nothing listens on port 9); the worker's are the stand-ins.
    down = {"sms_url": "http://127.0.0.1:9/sms", "push_url": "http://127.0.0.1:9/push", "smtp_port": 9}
    async with _filed_with_early_confirmation(stack, "confirm-down", **down) as (settings, r, key, email):
        await _settled_as(stack.pool, key, "failed")
        assert await _sent(stack.pool, key) == {
            "sms": ("failed", 1),
            "email": ("failed", 1),
            "push": ("failed", 1),
        }
        assert await _received(stack.pool, r.complaint_id, email) == {}

        async with _worker(stack, settings):
            await _settled_as(stack.pool, key, "sent", tries=200)
        assert await _sent(stack.pool, key) == {"sms": ("sent", 2), "email": ("sent", 2), "push": ("sent", 2)}
        assert await _received(stack.pool, r.complaint_id, email) == ONCE_EACH


async def test_a_retried_complaint_is_the_same_complaint_and_a_second_report_joins_it(stack):
    service = stack.service()
    body = complaint_body(description="包裹丢失，里面是保价的相机", category="lost")
    ci = service.prepare(parse_request(body))
    first = await service.start(ci, source="test")
    view = await _state(stack.client, first.workflow_id)

    # The same prepared complaint again (an Idempotency-Key retry): Temporal has it, the workflow knows it.
    again = await service.start(ci, source="test")
    assert again.complaint_id == first.complaint_id and not again.joined
    assert _promises(again) == _promises(first) == _recorded(view)

    # The same customer, order and issue in new words: joins, with the open complaint's own answer.
    joined = await service.take(
        parse_request({**body, "description": "一个星期了还是没找到我的包裹"}), source="test"
    )
    assert joined.result is not None and joined.result.joined
    assert joined.result.complaint_id == first.complaint_id
    assert joined.result.status_url == first.status_url
    assert joined.result.first_response_by == first.first_response_by

    view = await _state(stack.client, first.workflow_id)
    assert view.extra_reports == 1
    runs = [w async for w in stack.client.list_workflows(f"WorkflowId = '{first.workflow_id}'")]
    assert len(runs) == 1
    rows = await stack.pool.fetch(
        "SELECT submitted_id, joined FROM intake_receipts WHERE complaint_id = $1 ORDER BY id",
        first.complaint_id,
    )
    assert [r["joined"] for r in rows] == [False, True]
    assert rows[0]["submitted_id"] == first.complaint_id
