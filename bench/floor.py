"""The engine floor: N bare workflows (one timer, one activity) due at the same instant, on a fresh dev server.

Our complaint figures are reported as ratios of these, measured in the same run on the same machine, so
machine noise cancels out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client

from bench import bare, wave
from bench.processes import DevServer, ProcessGroup, PythonProcess
from bench.progress import Progress
from core.temporal import DATA_CONVERTER

TASK_QUEUE = "bench-floor"
# The start rate assumed when placing the due moment; the real one is measured, and the report says how
# many timers were set before the due moment (all of them, unless the machine is far slower than this).
ASSUMED_START_RATE = 100.0


async def _ready(group: ProcessGroup, timeout: float = 60.0) -> None:
    """Until every bare worker has printed that it polls (so the idle memory sample is a started worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all("bare worker ready" in p.log_tail(5) for p in group.procs):
            return
        if not group.running():
            raise RuntimeError(f"bare worker exited: {group.log_tail()}")
        await asyncio.sleep(0.2)
    raise TimeoutError(f"bare workers not ready after {timeout}s")


@contextlib.asynccontextmanager
async def bare_stack(workdir: Path, workers: int) -> AsyncIterator[tuple[Client, ProcessGroup]]:
    """A fresh dev server and `workers` bare worker processes polling TASK_QUEUE, stopped on exit."""
    server = DevServer(workdir / "temporal")
    server.start()
    args = ["--address", server.address, "--task-queue", TASK_QUEUE]
    worker = ProcessGroup(
        [PythonProcess("bench.bare", args, {}, workdir / f"bare-worker{i}.log") for i in range(workers)]
    )
    try:
        await server.wait_ready()
        worker.start()
        await _ready(worker)
        yield await Client.connect(server.address, data_converter=DATA_CONVERTER), worker
    finally:
        worker.stop()
        server.stop()


async def run(
    n: int,
    workdir: Path,
    progress: Progress,
    *,
    workers: int = 1,
    lead: float | None = None,
) -> wave.WaveResult:
    async with bare_stack(workdir, workers) as (client, worker):
        tag = uuid.uuid4().hex[:6]
        lead_s = lead if lead is not None else n / ASSUMED_START_RATE + 15
        due = datetime.now(UTC) + timedelta(seconds=lead_s)
        ids = [f"bare-{tag}-{i}" for i in range(n)]

        async def start_one(i: int) -> None:
            await client.start_workflow(
                bare.WORKFLOW_NAME, bare.due_iso(due), id=ids[i], task_queue=TASK_QUEUE
            )

        task = progress.add(f"floor N={n}: start", n)
        start_s, memory = await wave.start_all(
            n, start_one, concurrency=64, worker=worker, on_started=lambda: progress.advance(task)
        )
        progress.done(task)

        task = progress.add(f"floor N={n}: wait for the due moment", None)
        await wave.sleep_until(due)
        progress.done(task)
        task = progress.add(f"floor N={n}: drain", n)
        query = f"WorkflowType = '{bare.WORKFLOW_NAME}' AND ExecutionStatus = 'Running'"
        t0 = time.monotonic()
        while True:
            running = (await client.count_workflows(query)).count
            progress.update(task, n - running)
            if running == 0:
                break
            if time.monotonic() - t0 > max(600, n):
                break
            await asyncio.sleep(1.0)
        progress.done(task)
        rss_after = worker.rss_bytes()
        loads = os.getloadavg()

        task = progress.add(f"floor N={n}: read histories", n)
        events, wakes = await wave.collect(client, ids, on_done=lambda: progress.advance(task))
        progress.done(task)
        result = wave.WaveResult(
            n=n,
            due=due,
            start_seconds=start_s,
            start_rate=n / start_s,
            started_before_due=wave.timers_set_before(events, due),
            wake_ups=wakes,
            memory=memory,
            rss_after_wave=rss_after,
        )
        result.notes.append(f"{workers} bare worker process(es); load average after the wave {loads[0]:.2f}")
        dones = [w.actions_done for w in wakes if w.actions_done]
        if dones:
            result.drain_seconds = round((max(dones) - due).total_seconds(), 3)
        # The history-derived due moment must be the one the workflow was given: checks the method.
        off = max((abs((w.due - due).total_seconds()) for w in wakes), default=0.0)
        result.notes.append(
            f"history-derived due moment vs the one given: max difference {off * 1000:.3f} ms"
        )
        if len(wakes) != n:
            result.notes.append(
                f"{n - len(wakes)} of {n} bare workflows did not fire a timer (started after due)"
            )
        return result
