"""Retention: old closed complaints leave the ledger (dry run, archive, purge); the schedule that runs it."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.worker import Worker

from activities.retention import RetentionSweeper
from core.settings import Settings
from domain.messages import LedgerWrite, TimelineEvent
from domain.models import SYSTEM_ACTOR, Category, Channel, ComplaintType, Customer, State, Tier
from domain.retention import RetentionInput, RetentionMode, RetentionReport, years_before
from domain.view import ComplaintView, Rating
from ledger.writes import write_batch
from tests.ops.conftest import task_queue
from workers.schedules import RETENTION_SCHEDULE_ID, ensure_retention_schedule
from workflows.retention import RetentionWorkflow

CUSTOMER = Customer(name="李四 Li Si", phone="+86 139 0000 1111")


async def seed(
    pool: asyncpg.Pool,
    complaint_id: str,
    *,
    state: State,
    age_days: float,
    now: datetime,
    closed: bool = True,
) -> None:
    """A complaint through the real ledger writer, plus rows in tables without a foreign key."""
    at = now - timedelta(days=age_days)
    view = ComplaintView(
        complaint_id=complaint_id,
        workflow_id=f"complaint-{complaint_id}",
        status_token=f"tok-{complaint_id}",
        policy="standard",
        state=state,
        tier=Tier.IMPORTANT,
        complaint_type=ComplaintType.COMPLAINT,
        category=Category.DELAYED,
        channel=Channel.HOTLINE,
        customer=CUSTOMER,
        description="包裹延误 parcel delayed",
        received_at=at - timedelta(days=3),
        closed_at=at if closed and state == State.CLOSED else None,
        ratings=[Rating(score=5, at=at)] if closed else [],
    )
    event = TimelineEvent(
        event_id=f"{complaint_id}-received",
        complaint_id=complaint_id,
        at=view.received_at,
        kind="received",
        actor=SYSTEM_ACTOR,
        text="received",
    )
    async with pool.acquire() as conn:
        await write_batch(conn, LedgerWrite(complaint=view.model_dump(mode="json"), events=[event]))
        # Merged / cancelled complaints may have no closing time: their last ledger write dates them.
        await conn.execute("UPDATE complaints SET updated_at = $2 WHERE complaint_id = $1", complaint_id, at)
        await conn.execute(
            "INSERT INTO notifications (idempotency_key, notification_key, complaint_id, template, audience,"
            " locale, channel, recipient, status, body) VALUES ($1, $1, $2, 'result', 'customer', 'zh-CN',"
            " 'sms', $3, 'sent', $4)",
            f"{complaint_id}:result/sms",
            complaint_id,
            CUSTOMER.phone,
            f"{CUSTOMER.name} 您好",
        )


async def ids(pool: asyncpg.Pool, table: str) -> set[str]:
    return {r[0] for r in await pool.fetch(f"SELECT DISTINCT complaint_id FROM {table}")}


async def run_retention(env, pool, params: RetentionInput) -> RetentionReport:
    tq = task_queue()
    async with Worker(
        env.client, task_queue=tq, workflows=[RetentionWorkflow], activities=[RetentionSweeper(pool).sweep]
    ):
        # No timers to skip; left on, the test server may leap years ahead while the worker starts polling,
        # and the cutoff is computed from workflow time.
        with env.auto_time_skipping_disabled():
            return await env.client.execute_workflow(
                RetentionWorkflow.run, params, id=f"retention-{uuid.uuid4().hex[:8]}", task_queue=tq
            )


async def test_dry_run_archive_then_purge_of_old_closed_complaints(ts_env, ledger_pool):
    now = await ts_env.get_current_time()  # the shared test server's clock, wherever earlier tests left it
    await seed(ledger_pool, "C-OLD-1", state=State.CLOSED, age_days=5 * 365, now=now)
    await seed(ledger_pool, "C-OLD-2", state=State.CLOSED, age_days=4 * 365, now=now)
    await seed(ledger_pool, "C-OLD-CANCELLED", state=State.CANCELLED, age_days=6 * 365, now=now)
    await seed(ledger_pool, "C-OLD-OPEN", state=State.IN_PROGRESS, age_days=6 * 365, now=now, closed=False)
    await seed(ledger_pool, "C-RECENT", state=State.CLOSED, age_days=365, now=now)
    everything = {"C-OLD-1", "C-OLD-2", "C-OLD-CANCELLED", "C-OLD-OPEN", "C-RECENT"}
    gone = {"C-OLD-1", "C-OLD-2", "C-OLD-CANCELLED"}

    # Dry run: counts, changes nothing.
    dry = await run_retention(ts_env, ledger_pool, RetentionInput(years=3, dry_run=True))
    assert dry.dry_run and dry.complaints == 3 and dry.batches == 1
    assert dry.rows["notifications"] == 3 and dry.rows["timeline_events"] == 3 and dry.rows["ratings"] == 3
    assert await ids(ledger_pool, "complaints") == everything
    assert await ledger_pool.fetchval("SELECT count(*) FROM ledger_archive") == 0

    # Archive, two per batch: records move out whole; open and recent complaints stay.
    archived = await run_retention(ts_env, ledger_pool, RetentionInput(years=3, batch_size=2))
    assert (archived.complaints, archived.batches) == (3, 2)
    assert archived.rows["notifications"] == 3
    assert await ids(ledger_pool, "complaints") == {"C-OLD-OPEN", "C-RECENT"}
    for table in ("timeline_events", "ratings", "notifications"):
        assert not (await ids(ledger_pool, table)) & gone, table
    record = json.loads(
        await ledger_pool.fetchval("SELECT record FROM ledger_archive WHERE complaint_id = 'C-OLD-1'")
    )
    assert record["complaints"]["state"] == "closed"
    assert record["complaints"]["view"]["customer"]["name"] == CUSTOMER.name
    assert [e["kind"] for e in record["timeline_events"]] == ["received"]
    assert record["notifications"][0]["recipient"] == CUSTOMER.phone
    assert await ids(ledger_pool, "ledger_archive") == gone

    # Purge: the live record and the archived ones past the period are deleted for good.
    await seed(ledger_pool, "C-OLD-3", state=State.CLOSED, age_days=10 * 365, now=now)
    purged = await run_retention(ts_env, ledger_pool, RetentionInput(years=3, mode=RetentionMode.PURGE))
    assert (purged.complaints, purged.archive_purged) == (1, 3)
    assert await ids(ledger_pool, "complaints") == {"C-OLD-OPEN", "C-RECENT"}
    assert await ledger_pool.fetchval("SELECT count(*) FROM ledger_archive") == 0
    assert await ids(ledger_pool, "notifications") == {"C-OLD-OPEN", "C-RECENT"}


def test_cutoff_is_the_same_calendar_day_years_earlier():
    assert years_before(datetime(2026, 11, 23, 3, 30, tzinfo=UTC), 3) == datetime(
        2023, 11, 23, 3, 30, tzinfo=UTC
    )
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)


def test_retention_period_must_be_sensible():
    with pytest.raises(ValueError, match="years"):
        RetentionInput(years=0)


async def test_schedule_is_created_updated_triggered_and_removed(dev_env, ledger_pool):
    """On the dev server: the time-skipping test server has no Schedules API."""
    client = dev_env.client
    tq = task_queue()
    settings = Settings(task_queue=tq, retention_years=3, retention_cron="30 3 * * *")
    handle = await ensure_retention_schedule(client, settings)
    try:
        desc = await handle.describe()
        assert desc.schedule.spec.time_zone_name == "Asia/Shanghai"
        action = desc.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "RetentionWorkflow"
        (params,) = await client.data_converter.decode(action.args, [RetentionInput])
        assert (params.years, params.mode, params.dry_run) == (3, RetentionMode.ARCHIVE, False)

        # An operator paused it; new settings (dry run, purge) update it at the next start and keep it paused.
        await handle.pause(note="investigating")
        changed = settings.model_copy(update={"retention_dry_run": True, "retention_mode": "purge"})
        await ensure_retention_schedule(client, changed)
        desc = await handle.describe()
        assert desc.schedule.state.paused
        (params,) = await client.data_converter.decode(desc.schedule.action.args, [RetentionInput])
        assert (params.mode, params.dry_run) == (RetentionMode.PURGE, True)

        # Triggered now, it runs the retention workflow on the worker.
        await seed(ledger_pool, "C-SCHED-OLD", state=State.CLOSED, age_days=4 * 365, now=datetime.now(UTC))
        async with Worker(
            client,
            task_queue=tq,
            workflows=[RetentionWorkflow],
            activities=[RetentionSweeper(ledger_pool).sweep],
        ):
            await handle.trigger()
            for _ in range(200):
                desc = await handle.describe()
                if desc.info.recent_actions:
                    break
                await asyncio.sleep(0.05)
            started = desc.info.recent_actions[-1].action
            report = await client.get_workflow_handle(
                started.workflow_id, run_id=started.first_execution_run_id, result_type=RetentionReport
            ).result()
        assert started.workflow_id.startswith(RETENTION_SCHEDULE_ID)
        assert report.dry_run and report.complaints == 1
        assert await ids(ledger_pool, "complaints") == {"C-SCHED-OLD"}  # a dry run keeps it
    finally:
        await ensure_retention_schedule(client, Settings(task_queue=tq, retention_years=0))
    assert RETENTION_SCHEDULE_ID not in [s.id async for s in await client.list_schedules()]
