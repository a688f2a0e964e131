"""The worker process (`desk worker`) on the dev server and a migrated ledger: it polls, runs complaints,
drains and exits 0 on SIGTERM; it refuses to start, with a message a person can act on, when its
configuration cannot work."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core.temporal import workflow_id_for
from workers.main import POLLING_EVENT, STOPPED_EVENT

pytestmark = pytest.mark.slow
WAIT_S = 90  # bound on every wait, so a broken worker fails the test instead of hanging it


def _env(**desk: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "TEMPORAL_"))}
    env.update({"DESK_LOG_JSON": "true", "DESK_TEMPORAL_ENVCONFIG": "false", "PYTHONUNBUFFERED": "1"})
    env["DESK_DEV_MODE"] = "true"  # the built-in secret key: desk worker refuses it otherwise
    env.update({f"DESK_{k.upper()}": v for k, v in desk.items()})
    return env


class WorkerProcess:
    def __init__(self, log_path: Path, env: dict[str, str]):
        self.log_path = log_path
        with log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "desk", "worker"],
                cwd=log_path.parent,  # away from any .env in the repo
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def events(self) -> list[dict]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"event": line})
        return out

    def saw(self, event: str) -> bool:
        return any(e.get("event") == event for e in self.events())

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_exit(self) -> int:
        deadline = time.monotonic() + WAIT_S
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"worker still running after {WAIT_S}s:\n{self.output()[-3000:]}")
            await asyncio.sleep(0.1)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def spawn(tmp_path: Path):
    started: list[WorkerProcess] = []

    def start(**desk: str) -> WorkerProcess:
        worker = WorkerProcess(tmp_path / f"worker-{len(started)}.log", _env(**desk))
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


RETRIED_RPC = (RPCStatusCode.CANCELLED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)


async def _pollers(client: Client, task_queue: str) -> list[str]:
    resp = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return [p.identity for p in resp.pollers]


async def _until(check, what: str, worker: WorkerProcess) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            if await check():
                return
        except RPCError as e:  # a call the loaded dev server cancelled ("operation was canceled"): ask again
            if e.status not in RETRIED_RPC:
                raise
        if worker.proc.poll() is not None:
            pytest.fail(f"{what}: worker exited with {worker.proc.returncode}:\n{worker.output()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {WAIT_S}s:\n{worker.output()[-3000:]}")
        await asyncio.sleep(0.2)


class CarrierGate:
    """The real carrier simulator behind a gate: a tracking lookup arrives, then waits until the test lets
    it through — so an activity is provably in flight when the worker gets SIGTERM."""

    def __init__(self, app):
        self.app = app
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()
        self.answered = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/carrier-sim/"):
            self.arrived.set()
            await self.release.wait()
            await self.app(scope, receive, send)
            self.answered += 1
            return
        await self.app(scope, receive, send)


async def _completed_activities(handle, activity_type: str) -> tuple[int, int]:
    """(scheduled, completed) attempts of one activity type in the workflow's history."""
    scheduled: set[int] = set()
    completed = 0
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            if event.activity_task_scheduled_event_attributes.activity_type.name == activity_type:
                scheduled.add(event.event_id)
        elif event.HasField("activity_task_completed_event_attributes"):
            completed += event.activity_task_completed_event_attributes.scheduled_event_id in scheduled
    return len(scheduled), completed


async def test_worker_runs_complaints_and_drains_in_flight_work_on_sigterm(
    dev_env, ledger_url, ledger_pool, spawn
):
    from domain.messages import ACTIVITY_TRACKING
    from domain.models import Channel, ComplaintInput, Customer
    from standins.http import create_standins_app, serve

    client = dev_env.client
    task_queue = f"worker-test-{uuid.uuid4().hex[:8]}"
    gate = CarrierGate(create_standins_app(ledger_pool))
    async with serve(gate) as carrier:
        worker = spawn(
            temporal_address=client.service_client.config.target_host,
            temporal_namespace=client.namespace,
            task_queue=task_queue,
            database_url=ledger_url,
            tracking_api_url=f"{carrier}/carrier-sim",
        )

        async def polling() -> bool:
            return any(i.startswith(f"{worker.proc.pid}@") for i in await _pollers(client, task_queue))

        await _until(polling, "worker polls its task queue", worker)
        assert worker.saw(POLLING_EVENT)

        # It really runs the complaint workflow: a started complaint answers its `state` query, and its
        # waybill lookup (an activity) reaches the carrier.
        complaint_id = "C-WORKER-" + uuid.uuid4().hex[:6].upper()
        complaint = ComplaintInput(
            complaint_id=complaint_id,
            channel=Channel.API,
            customer=Customer(name="李四"),
            description="快递延误三天还没到",
            order_number="SF" + uuid.uuid4().hex[:10].upper(),
            received_at=datetime.now(UTC),
            status_token=uuid.uuid4().hex,
        )
        # run(input, options=None): both payloads are sent so the SDK decodes them to their declared types.
        handle = await client.start_workflow(
            "ComplaintWorkflow",
            args=[complaint, None],
            id=workflow_id_for(complaint_id),
            task_queue=task_queue,
        )
        state = await handle.query("state")
        assert (state["complaint_id"] if isinstance(state, dict) else state.complaint_id) == complaint_id

        async def lookup_in_flight() -> bool:
            return gate.arrived.is_set()

        await _until(lookup_in_flight, "tracking lookup reaches the carrier", worker)

        # SIGTERM while the lookup is in flight: the worker stops polling, lets it finish, then exits 0.
        worker.proc.send_signal(signal.SIGTERM)

        async def draining() -> bool:
            return worker.saw("worker draining")

        await _until(draining, "worker starts draining", worker)
        assert worker.proc.poll() is None, "the worker must wait for its in-flight activity"
        gate.release.set()
        assert await worker.wait_exit() == 0, worker.output()[-3000:]

    assert gate.answered >= 1
    scheduled, completed = await _completed_activities(handle, ACTIVITY_TRACKING)
    assert scheduled >= 1 and completed >= 1, "the in-flight lookup completed instead of being cut off"
    events = [e.get("event") for e in worker.events()]
    assert events.index("worker draining") < events.index(STOPPED_EVENT)
    assert "Traceback" not in worker.output()


async def test_worker_without_database_url_says_which_setting_is_missing(spawn):
    worker = spawn(temporal_address="127.0.0.1:1")
    assert await worker.wait_exit() == 2, worker.output()[-3000:]
    assert "DESK_DATABASE_URL is not set" in worker.output()
    assert "Traceback" not in worker.output()


async def test_worker_names_the_temporal_address_it_cannot_reach(ledger_url, spawn):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    worker = spawn(temporal_address=address, database_url=ledger_url)
    assert await worker.wait_exit() == 2, worker.output()[-3000:]
    assert f"cannot reach Temporal at {address}" in worker.output()
    assert "Traceback" not in worker.output()


async def test_worker_refuses_a_namespace_without_our_search_attributes(dev_env, ledger_url, spawn):
    name = f"bare-{uuid.uuid4().hex[:8]}"
    await dev_env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=name, workflow_execution_retention_period=Duration(seconds=86400))
    )
    # The namespace reaches the frontend's cache a moment after registration (longer on a loaded machine):
    # wait until a fresh client, like the worker's, can use it.
    fresh = await Client.connect(dev_env.client.service_client.config.target_host, namespace=name)
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            await fresh.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=name))
            await fresh.count_workflows()
            break
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    worker = spawn(
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_namespace=name,
        database_url=ledger_url,
    )
    code = await worker.wait_exit()
    out = worker.output()
    assert code == 2, out[-3000:]
    assert "missing search attributes" in out, out[-3000:]
    assert "temporal operator search-attribute create" in out
    assert "Traceback" not in out
