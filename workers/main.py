"""The worker process: polls the task queue and runs the complaint workflows and their activities.

Runs on its own (`desk worker`) against any Temporal cluster and PostgreSQL, or as a child of `desk up`.
SIGTERM / SIGINT stop polling for new work and give in-flight activities `GRACEFUL_SHUTDOWN` to finish
before they are cancelled, so a deploy or a Ctrl-C never cuts a notification or a ledger write in half.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.registry import build_activities, build_relay
from core import metrics, telemetry
from core.db import create_pool
from core.safety import unconfigured_outside_systems
from core.settings import Settings
from core.temporal import connect
from ledger.schema import migrate
from starters.calendars import CalendarBook, log_gaps
from workers import open_complaints, preflight, schedules
from workers.tuning import worker_tuning
from workflows.metrics import HISTOGRAM_BUCKETS
from workflows.registry import WORKFLOWS

# How long in-flight activities may run on after a stop signal (compose's stop_grace_period is longer).
GRACEFUL_SHUTDOWN = timedelta(seconds=15)

# Log events `desk up` and the tests look for.
POLLING_EVENT = "worker polling"
STOPPED_EVENT = "worker stopped"

log = structlog.get_logger("worker")


class WorkerStartError(Exception):
    """A start-up problem a person can fix (unreachable server, missing setting); no traceback needed."""


def _needs_thread_pool(activities: Sequence[Callable]) -> bool:
    return any(not inspect.iscoroutinefunction(a) for a in activities)


async def _connect(settings: Settings) -> Client:
    try:
        return await connect(settings, runtime=telemetry.runtime_for(settings, HISTOGRAM_BUCKETS))
    except Exception as e:  # the SDK raises RuntimeError with a transport message
        raise WorkerStartError(
            f"cannot reach Temporal at {settings.temporal_address} (namespace {settings.temporal_namespace}): "
            f"{e}. Set DESK_TEMPORAL_ADDRESS / DESK_TEMPORAL_NAMESPACE."
        ) from e


async def _open_ledger(settings: Settings) -> asyncpg.Pool:
    try:
        applied = await migrate(settings.database_url)
        if applied:
            log.info("migrations applied", migrations=applied)
        return await create_pool(settings.database_url, max_size=settings.worker_db_pool_size)
    except (OSError, asyncpg.PostgresError) as e:
        raise WorkerStartError(f"cannot open the ledger database (DESK_DATABASE_URL): {e}") from e


async def _check_namespace(client: Client) -> None:
    """Refuse to start on a namespace without our search attributes: complaints would be stuck retrying."""
    try:
        report = await preflight.preflight(client)
    except preflight.PreflightError as e:
        raise WorkerStartError(str(e)) from e
    except RPCError as e:  # e.g. the namespace does not exist
        raise WorkerStartError(f"cannot use namespace {client.namespace!r}: {e}") from e
    if report is None:
        log.warning("search attribute check skipped: this client may not list them")


async def _ensure_schedules(client: Client, settings: Settings) -> None:
    """Product-owned Temporal Schedules (retention), brought in line with the settings at every start. A
    failure is logged, not fatal: complaints must keep flowing even if the sweep cannot be scheduled."""
    try:
        await schedules.ensure_retention_schedule(client, settings)
    except Exception as e:
        log.error("retention schedule not set up", error=str(e))


def _start_metrics(client: Client, settings: Settings) -> asyncio.Task | None:
    """Business metrics on DESK_METRICS_PORT (0: off), with the open-complaints gauge kept fresh."""
    if not settings.metrics_port:
        return None
    metrics.serve(settings.metrics_port)
    return asyncio.create_task(
        open_complaints.run_open_complaints_gauge(
            client, settings.open_complaints_interval, cache=settings.worker_max_cached_workflows
        ),
        name="open-complaints",
    )


def _install_stop_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def run(settings: Settings, *, stop: asyncio.Event | None = None) -> int:
    """Run until `stop` is set (by default: SIGTERM / SIGINT); returns the process exit code."""
    structlog.contextvars.bind_contextvars(process="worker")
    if stop is None:
        stop = asyncio.Event()
        _install_stop_handlers(stop)
    try:
        if not settings.database_url:
            raise WorkerStartError(
                "DESK_DATABASE_URL is not set (desk up sets it for the embedded PostgreSQL)"
            )
        client = await _connect(settings)
        await _check_namespace(client)
        pool = await _open_ledger(settings)
    except WorkerStartError as e:
        log.error("worker cannot start", reason=str(e))
        return 2
    await _ensure_schedules(client, settings)
    await log_gaps(CalendarBook(settings, pool), "worker")  # never silently on an unconfirmed year
    for problem in unconfigured_outside_systems(settings):  # said at start, not found in a failed delivery
        log.warning("outside system not configured", problem=problem)
    gauge = _start_metrics(client, settings)
    try:
        return await _poll_until_stopped(client, settings, pool, stop)
    finally:
        if gauge is not None:
            gauge.cancel()
        await pool.close()
        telemetry.shutdown_tracing()


async def _poll_until_stopped(
    client: Client, settings: Settings, pool: asyncpg.Pool, stop: asyncio.Event
) -> int:
    workflows = list(WORKFLOWS)
    relay = build_relay(settings, pool)
    activities = list(build_activities(settings, pool, relay))
    executor = ThreadPoolExecutor(max_workers=32) if _needs_thread_pool(activities) else None
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=workflows,
        activities=activities,
        activity_executor=executor,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        **worker_tuning(settings),
    )
    log.info(
        POLLING_EVENT,
        task_queue=settings.task_queue,
        namespace=settings.temporal_namespace,
        address=settings.temporal_address,
        identity=client.identity,
        workflows=[w.__name__ for w in workflows],
        activities=len(activities),
    )
    # Robot messages, paced and digested: activities/notifications/robot_relay.py.
    async with relay.running():
        return await _run_worker(worker, stop, executor)


async def _run_worker(worker: Worker, stop: asyncio.Event, executor: ThreadPoolExecutor | None) -> int:
    running = asyncio.create_task(worker.run(), name="temporal-worker")
    stopping = asyncio.create_task(stop.wait(), name="stop-signal")
    try:
        done, _ = await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if running in done:
            # The worker failed on its own (bad registration, lost namespace): report and exit non-zero.
            log.error("worker failed", error=repr(running.exception()) if running.exception() else "exited")
            return 1
        log.info("worker draining", timeout_seconds=GRACEFUL_SHUTDOWN.total_seconds())
        await worker.shutdown()
        await running
        log.info(STOPPED_EVENT)
        return 0
    finally:
        stopping.cancel()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def main(settings: Settings) -> int:
    return asyncio.run(run(settings))
