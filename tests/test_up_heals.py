"""The real `desk up`, attacked: its parts killed with SIGKILL, its histories read raw.

- The worker and the web app, killed with `kill -9`, come back on their own (backoff, said in the log), and
  no complaint is lost: one filed before the worker died, one while it was down, one after the web app came
  back — all running in Temporal and in the ledger. Temporal and PostgreSQL, killed, are started again too.
- Customer data is encrypted by default: the history of a complaint filed through the intake API, read as
  the Temporal server holds it (`temporal workflow show -o json` and the raw protobuf), carries neither the
  customer's name, phone, e-mail nor description; the key `desk up` made in the data folder opens it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from google.protobuf.json_format import MessageToJson
from pydantic import SecretStr
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus

from core.settings import Settings
from core.temporal import DATA_CONVERTER, data_converter
from desk.stack import CORE_TRIES
from tests.test_up import (
    UpProcess,
    _eventually,
    _free_port,
    _ledger_row,
    _worker_polls,
    _workflow_of,
)

pytestmark = pytest.mark.slow

NAME, PHONE, EMAIL = "欧阳娜娜 Ouyang Nana", "+86 139 1234 5678", "ouyang.nana@example.cn"
DESCRIPTION = "冰箱门把手断裂 the fridge handle snapped off on day two"
PLAIN = [NAME, "欧阳娜娜", "Ouyang Nana", PHONE, "1234 5678", "12345678", EMAIL, "ouyang.nana", DESCRIPTION,
         "冰箱门把手断裂", "fridge handle"]  # fmt: skip


@pytest.fixture
def up(tmp_path: Path):
    """One `desk up` on a temporary folder and free ports; whatever is left is killed afterwards."""
    ports = {name: _free_port() for name in ("temporal", "ui", "web", "smtp", "email")}
    run = UpProcess(tmp_path / "data", ports, tmp_path / "up.log")
    yield run
    run.kill_everything()


def _sealed_client_settings(data_dir: Path) -> Settings:
    secrets = json.loads((data_dir / "secrets.json").read_text())
    return Settings(codec_keys=SecretStr(secrets["codec_keys"]))


async def _file(info: dict, label: str) -> tuple[str, str]:
    """(complaint id, workflow id) of a complaint with the customer above, through the intake API; retried
    while the web app is coming back (a refused connection is what a client sees during a restart)."""
    body = {
        "channel": "app",
        "customer": {"name": NAME, "phone": PHONE, "email": EMAIL, "locale": "zh-CN"},
        "order_number": "JD" + uuid.uuid4().hex[:10].upper(),
        "description": f"{DESCRIPTION} ({label})",
    }
    key = uuid.uuid4().hex
    resp = None

    async def filed() -> bool:
        nonlocal resp
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                resp = await http.post(
                    f"{info['web_url']}/api/v1/complaints",
                    headers={"X-API-Key": info["dev_api_key"], "Idempotency-Key": key},
                    json=body,
                )
        except httpx.TransportError:
            return False
        return True

    await _eventually(filed, f"filing the {label} complaint", limit_s=90)
    assert resp is not None and resp.status_code == 201, resp.text if resp is not None else None
    complaint_id = resp.json()["complaint_id"]
    return complaint_id, await _workflow_of(info["database_url"], complaint_id)


async def _came_back(run: UpProcess, part: str, old_pid: int) -> int:
    new_pid = 0

    async def back() -> bool:
        nonlocal new_pid
        pid = run.info()["pids"][part]
        if pid and pid != old_pid:
            new_pid = pid
            return True
        return False

    await _eventually(back, f"{part} restarted by desk up", limit_s=120)
    return new_pid


async def test_killed_worker_and_web_app_come_back_and_no_complaint_is_lost(up):
    run = up
    await run.start()
    info = run.info()
    assert "restarted" in run.output()  # the banner says the stack heals
    client = await Client.connect(
        info["temporal_address"], data_converter=data_converter(_sealed_client_settings(run.data_dir))
    )
    before = await _file(info, "before")

    # The worker dies hard; a complaint filed meanwhile waits in Temporal for the new one.
    worker_pid = info["pids"]["worker"]
    os.kill(worker_pid, signal.SIGKILL)
    during = await _file(info, "while the worker was down")
    new_worker = await _came_back(run, "worker", worker_pid)
    await _eventually(lambda: _worker_polls(client, info["task_queue"], new_worker), "new worker polls")

    # The web app dies hard; it answers again and takes the next complaint.
    web_pid = info["pids"]["web"]
    os.kill(web_pid, signal.SIGKILL)
    await _came_back(run, "web", web_pid)
    after = await _file(run.info(), "after the web app came back")

    for complaint_id, workflow_id in (before, during, after):
        handle = client.get_workflow_handle(workflow_id)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        await _eventually(
            lambda cid=complaint_id: _ledger_row(info["database_url"], cid), f"ledger row of {complaint_id}"
        )
        assert (await handle.query("state"))["complaint_id"] == complaint_id

    out = run.output()
    for part in ("worker", "web"):
        assert f"{part} exited on its own (code -9); restarting it in" in out, out[-3000:]
        assert f"{part} is back (pid " in out
    assert run.info()["restarts"] == {"worker": 1, "web": 1}

    run.seen.clear()
    run._remember_processes()  # the restarted children too
    assert await run.stop(signal.SIGINT) == 0, run.output()[-3000:]
    assert run.left_behind() == []


async def test_killed_temporal_and_postgresql_come_back_and_take_the_next_complaint(up):
    run = up
    await run.start()
    info = run.info()
    before = await _file(info, "before")
    os.kill(info["pids"]["temporal"], signal.SIGKILL)
    await _came_back(run, "temporal", info["pids"]["temporal"])
    os.kill(info["pids"]["postgres"], signal.SIGKILL)
    await _came_back(run, "postgres", info["pids"]["postgres"])
    after = await _file(run.info(), "after Temporal and PostgreSQL came back")

    client = await Client.connect(
        info["temporal_address"], data_converter=data_converter(_sealed_client_settings(run.data_dir))
    )
    for complaint_id, workflow_id in (before, after):
        assert (
            await client.get_workflow_handle(workflow_id).describe()
        ).status == WorkflowExecutionStatus.RUNNING
        await _eventually(
            lambda cid=complaint_id: _ledger_row(info["database_url"], cid), f"ledger row of {complaint_id}"
        )
    out = run.output()
    assert "temporal exited on its own (code -9); restarting it in" in out
    assert "PostgreSQL (pid " in out and "PostgreSQL is back (pid " in out
    assert run.info()["restarts"] == {"temporal": 1, "postgres": 1}

    run.seen.clear()
    run._remember_processes()
    assert await run.stop(signal.SIGINT) == 0, run.output()[-3000:]
    assert run.left_behind() == []


async def test_when_temporal_cannot_be_restarted_the_whole_stack_stops_and_says_why(up):
    run = up
    await run.start()
    info = run.info()
    run.seen.clear()
    run._remember_processes()
    with socket.socket() as squatter:  # its port taken the moment it dies: every restart fails
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        os.kill(info["pids"]["temporal"], signal.SIGKILL)
        await _eventually(lambda: _bind(squatter, run.ports["temporal"]), "taking Temporal's port", limit_s=5)
        squatter.listen()  # listening: the dev server's own SO_REUSEADDR cannot share the port
        deadline = time.monotonic() + 120
        while run.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
    assert run.proc.returncode == 1, run.output()[-3000:]
    out = run.output()
    assert out.count("temporal did not come back") == CORE_TRIES
    assert "temporal keeps exiting (3 restarts failed)" in out and "stopping the stack" in out
    assert "stopped: every part is down" in out
    assert run.left_behind() == []


async def _bind(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def _decoded_data(node) -> str:
    """Every base64 `data` field of the CLI's JSON (payload bodies), decoded: clear JSON would show here."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "data" and isinstance(v, str):
                with contextlib.suppress(ValueError):
                    out.append(base64.b64decode(v).decode("utf-8", "replace"))
            else:
                out.append(_decoded_data(v))
    elif isinstance(node, list):
        out.extend(_decoded_data(v) for v in node)
    return "\n".join(out)


def _history_json(address: str, workflow_id: str) -> str:
    temporal = Path(sys.executable).parent / "temporal"
    done = subprocess.run(
        [str(temporal), "workflow", "show", "-o", "json", "--address", address, "--workflow-id", workflow_id],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


async def test_history_of_a_complaint_filed_through_desk_up_holds_no_customer_data_in_clear(up):
    run = up
    await run.start()
    info = run.info()
    secrets = run.data_dir / "secrets.json"
    assert secrets.stat().st_mode & 0o777 == 0o600
    complaint_id, workflow_id = await _file(info, "sealed")
    sealed = await Client.connect(
        info["temporal_address"], data_converter=data_converter(_sealed_client_settings(run.data_dir))
    )
    handle = sealed.get_workflow_handle(workflow_id)
    await _eventually(lambda: _ledger_row(info["database_url"], complaint_id), "ledger row")

    async def acknowledged_sent() -> bool:  # an activity ran: its input and result are in the history too
        history = await handle.fetch_history()
        return any(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED for e in history.events)

    await _eventually(acknowledged_sent, "an activity completed")

    # What the server holds, read with the CLI and raw, without any key.
    shown = _history_json(info["temporal_address"], workflow_id)
    # The complaint number is there for engineers: the ComplaintId search attribute, which the codec leaves
    # unsealed (base64 JSON in the CLI's output).
    started = json.loads(shown)["events"][0]["workflowExecutionStartedEventAttributes"]
    number = started["searchAttributes"]["indexedFields"]["ComplaintId"]["data"]
    assert json.loads(base64.b64decode(number)) == complaint_id
    plain = await Client.connect(info["temporal_address"], data_converter=DATA_CONVERTER)
    history = await plain.get_workflow_handle(workflow_id).fetch_history()
    raw = b"".join(e.SerializeToString() for e in history.events).decode("utf-8", "replace")
    desc = await plain.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace="default", execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    described = desc.SerializeToString().decode("utf-8", "replace")
    texts = {
        "workflow show -o json": shown + _decoded_data(json.loads(shown)),
        "history": raw,
        "describe": described,
    }
    for where, text in texts.items():
        found = [p for p in PLAIN if p in text]
        assert found == [], f"{where} carries {found}"

    # The Web UI is pointed at the web app's codec endpoint, which decodes for nobody without a session.
    async with httpx.AsyncClient(timeout=10) as http:
        ui_settings = (await http.get(f"{info['temporal_ui_url']}/api/v1/settings")).json()
        assert ui_settings["Codec"]["Endpoint"] == f"{info['web_url']}/codec"
        sealed_input = history.events[0].workflow_execution_started_event_attributes.input
        refused = await http.post(
            f"{info['web_url']}/codec/decode",
            content=MessageToJson(sealed_input),
            headers={"Origin": info["temporal_ui_url"], "Content-Type": "application/json"},
        )
        assert refused.status_code == 401, refused.text
        assert not any(p in refused.text for p in PLAIN)

    # The key desk up made opens it: the engineer's view through the codec is complete.
    state = await handle.query("state")
    assert state["customer"]["phone"].replace(" ", "").endswith("13912345678")
    assert state["customer"]["email"] == EMAIL

    assert await run.stop(signal.SIGINT) == 0, run.output()[-3000:]
    assert run.left_behind() == []
