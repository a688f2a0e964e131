"""The real `desk up` in a subprocess, on a temporary data folder and free ports.

It must: bring up the Temporal Web UI and the web app; take a complaint through the intake API and one by
e-mail (its SMTP intake port); stop on SIGINT leaving no process behind (dev server and PostgreSQL
included); come back on the same data folder with the complaints still there (in Temporal and in the
PostgreSQL ledger); refuse a second start on a folder in use.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import asyncpg
import httpx
import psutil
import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowExecutionStatus

from core.settings import Settings
from core.temporal import data_converter

pytestmark = pytest.mark.slow

UP_BANNER = "Complaint desk is up"
START_LIMIT_S = 180  # generous bound for a loaded CI machine; the first start includes initdb


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UpProcess:
    """One `desk up` run: start, wait for its banner, stop with a signal, and clean up whatever is left."""

    def __init__(self, data_dir: Path, ports: dict[str, int], log_path: Path):
        self.data_dir, self.ports, self.log_path = data_dir, ports, log_path
        self.proc: subprocess.Popen | None = None
        self.seen: list[psutil.Process] = []  # every process of the stack, for the "nothing left" check

    @property
    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "desk", "up",
            "--data-dir", str(self.data_dir),
            "--temporal-port", str(self.ports["temporal"]),
            "--ui-port", str(self.ports["ui"]),
            "--web-port", str(self.ports["web"]),
            "--smtp-port", str(self.ports["smtp"]),
            "--email-intake-port", str(self.ports["email"]),
        ]  # fmt: skip

    @staticmethod
    def env() -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "TEMPORAL_"))}
        env["DESK_LOG_JSON"] = "true"
        return env

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def start(self) -> None:
        log = self.log_path.open("ab")
        # cwd: the temp folder, so a developer's .env in the repo cannot change what is tested.
        self.proc = subprocess.Popen(
            self.argv, cwd=self.data_dir.parent, env=self.env(), stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + START_LIMIT_S
        while UP_BANNER not in self.output():
            if self.proc.poll() is not None:
                pytest.fail(
                    f"desk up exited with {self.proc.returncode} before it was up:\n{self.output()[-4000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"desk up not up after {START_LIMIT_S}s:\n{self.output()[-4000:]}")
            await asyncio.sleep(0.25)
        self._remember_processes()

    def info(self) -> dict:
        return json.loads((self.data_dir / "desk.json").read_text())

    async def client(self) -> Client:
        """A client with the codec keys this stack made in its data folder (payloads are encrypted)."""
        keys = json.loads((self.data_dir / "secrets.json").read_text())["codec_keys"]
        return await Client.connect(
            self.info()["temporal_address"], data_converter=data_converter(Settings(codec_keys=keys))
        )

    def _remember_processes(self) -> None:
        assert self.proc is not None
        me = psutil.Process(self.proc.pid)
        procs = [me, *me.children(recursive=True)]
        postmaster = self.info()["pids"]["postgres"]
        if postmaster:  # daemonised by pg_ctl: not our child, so found through postmaster.pid
            pg = psutil.Process(postmaster)
            procs += [pg, *pg.children(recursive=True)]
        self.seen += procs

    async def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        deadline = time.monotonic() + 90
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"desk up did not stop within 90 s of {sig.name}:\n{self.output()[-3000:]}")
            await asyncio.sleep(0.2)
        return self.proc.returncode

    def left_behind(self) -> list[str]:
        """Processes of the stack still alive; a bounded grace for init to reap daemonised postgres."""
        _, alive = psutil.wait_procs(self.seen, timeout=15)
        return [f"{p.pid} {p.name()}" for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

    def kill_everything(self) -> None:
        """Test teardown after a failure: never leave servers running on the machine."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for p in self.seen:
            try:
                p.kill()
            except psutil.Error:
                pass


@pytest.fixture
def stack_paths(tmp_path: Path):
    ports = {name: _free_port() for name in ("temporal", "ui", "web", "smtp", "email")}
    runs: list[UpProcess] = []

    def make(label: str) -> UpProcess:
        run = UpProcess(tmp_path / "data", ports, tmp_path / f"{label}.log")
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.kill_everything()


async def _answers(url: str) -> int:
    async with httpx.AsyncClient(timeout=10) as http:
        return (await http.get(url)).status_code


async def _worker_polls(client: Client, task_queue: str, worker_pid: int) -> bool:
    resp = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return any(p.identity.startswith(f"{worker_pid}@") for p in resp.pollers)


async def _workflow_of(database_url: str, complaint_id: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        workflow_id = await conn.fetchval(
            "SELECT workflow_id FROM intake_receipts WHERE complaint_id = $1 ORDER BY id LIMIT 1",
            complaint_id,
        )
    finally:
        await conn.close()
    assert workflow_id, f"no intake receipt for {complaint_id}"
    return workflow_id


async def _file_complaint(info: dict) -> tuple[str, str]:
    """(complaint id, workflow id) of a complaint filed through the intake API with the dev key."""
    async with httpx.AsyncClient(timeout=60) as http:
        resp = await http.post(
            f"{info['web_url']}/api/v1/complaints",
            headers={"X-API-Key": info["dev_api_key"], "Idempotency-Key": uuid.uuid4().hex},
            json={
                "channel": "app",
                "customer": {"name": "张三", "phone": "+86 138 0000 0000", "locale": "zh-CN"},
                "order_number": "SF" + uuid.uuid4().hex[:10].upper(),
                "description": "生鲜水果到货时已经腐烂变质 — restart test",
            },
        )
    assert resp.status_code == 201, resp.text
    complaint_id = resp.json()["complaint_id"]
    return complaint_id, await _workflow_of(info["database_url"], complaint_id)


async def _mail_complaint(info: dict) -> tuple[str, str]:
    """(complaint id, workflow id) of a complaint sent as an e-mail to the stack's SMTP intake."""
    host, port = info["email_intake"].rsplit(":", 1)
    msg = EmailMessage()
    msg["From"] = f"王芳 <wf-{uuid.uuid4().hex[:6]}@example.com>"
    msg["To"] = "complaints@desk.example"
    msg["Subject"] = "投诉：快递延误"
    msg.set_content(f"运单号 SF{uuid.uuid4().int % 10**12:012d} 已经延误五天，请尽快处理。")
    _, reply = await aiosmtplib.send(msg, hostname=host, port=int(port), timeout=60)
    assert reply.startswith("OK complaint C-") and reply.endswith("filed"), reply
    complaint_id = reply.split()[2]
    return complaint_id, await _workflow_of(info["database_url"], complaint_id)


async def _ledger_row(database_url: str, complaint_id: str) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM complaints WHERE complaint_id = $1", complaint_id))
    finally:
        await conn.close()


async def _eventually(check, what: str, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {limit_s:.0f}s")
        await asyncio.sleep(0.25)


async def test_up_runs_everything_and_a_restart_keeps_the_complaint(stack_paths):
    first = stack_paths("first")
    await first.start()
    info = first.info()
    assert Path(info["data_dir"]) == first.data_dir.resolve()

    # The parts answer where the banner says.
    assert await _answers(info["temporal_ui_url"]) == 200
    assert await _answers(f"{info['web_url']}/healthz") == 200
    assert await _answers(f"{info['web_url']}/docs") == 200
    banner = first.output()
    assert info["email_intake"] == f"127.0.0.1:{first.ports['email']}"
    for where in (info["temporal_ui_url"], info["web_url"], f"{info['web_url']}/docs", info["email_intake"]):
        assert where in banner

    # A second `desk up` on the same folder says so and leaves the running stack alone.
    second = subprocess.run(
        first.argv, cwd=first.data_dir.parent, env=first.env(), capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 3
    assert "already running" in second.stdout and str(info["pid"]) in second.stdout
    assert await _answers(f"{info['web_url']}/healthz") == 200

    client = await first.client()
    assert await _worker_polls(client, info["task_queue"], info["pids"]["worker"])
    filed = [await _file_complaint(info), await _mail_complaint(info)]
    before = {}
    for complaint_id, workflow_id in filed:
        before[workflow_id] = await client.get_workflow_handle(workflow_id).describe()
        assert before[workflow_id].status == WorkflowExecutionStatus.RUNNING
        await _eventually(
            lambda cid=complaint_id: _ledger_row(info["database_url"], cid), f"ledger row of {complaint_id}"
        )

    # Ctrl-C: everything stops, nothing is left running.
    assert await first.stop(signal.SIGINT) == 0, first.output()[-3000:]
    assert first.left_behind() == []
    assert not (first.data_dir / "desk.json").exists()
    assert not (first.data_dir / "pg" / "postmaster.pid").exists()

    # Same folder again: the complaints are still there.
    again = stack_paths("again")
    await again.start()
    info2 = again.info()
    client = await again.client()
    assert await _worker_polls(client, info2["task_queue"], info2["pids"]["worker"])
    for complaint_id, workflow_id in filed:
        handle = client.get_workflow_handle(workflow_id)
        after = await handle.describe()
        assert after.run_id == before[workflow_id].run_id
        assert after.status == WorkflowExecutionStatus.RUNNING
        state = await handle.query("state")
        assert (state["complaint_id"] if isinstance(state, dict) else state.complaint_id) == complaint_id
        assert await _ledger_row(info2["database_url"], complaint_id)

    # SIGTERM (what a service manager sends) stops it just as cleanly.
    assert await again.stop(signal.SIGTERM) == 0, again.output()[-3000:]
    assert again.left_behind() == []


async def test_up_refuses_a_taken_port_naming_the_flag(stack_paths):
    run = stack_paths("taken")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", run.ports["web"]))
        blocker.listen()
        run.data_dir.mkdir(parents=True)
        done = subprocess.run(
            run.argv, cwd=run.data_dir.parent, env=run.env(), capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 1
    assert f"port {run.ports['web']} (web app) is already in use" in done.stdout
    assert "--web-port" in done.stdout
    assert not (run.data_dir / "temporal.db").exists(), "nothing may start when a port is taken"
    assert not (run.data_dir / "desk.json").exists()
