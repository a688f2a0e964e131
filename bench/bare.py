"""The engine floor's workload: a bare workflow with one timer and one activity, and its worker process.

`python -m bench.bare --address HOST:PORT --task-queue Q` runs the worker in its own process, like the
complaint worker, so both pay the same process, sandbox and data-converter costs.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import UTC, datetime, timedelta

from temporalio import activity, workflow

WORKFLOW_NAME = "BenchBareTimer"
ACTIVITY_NAME = "bench_bare_action"


@activity.defn(name=ACTIVITY_NAME)
async def bare_action(due_iso: str) -> str:
    return due_iso


@workflow.defn(name=WORKFLOW_NAME)
class BareTimerWorkflow:
    """Sleep until an absolute due moment, then run one activity: the least an SLA clock can cost."""

    @workflow.run
    async def run(self, due_iso: str) -> str:
        due = datetime.fromisoformat(due_iso)
        delay = (due - workflow.now()).total_seconds()
        if delay > 0:
            await workflow.sleep(delay)
        return await workflow.execute_activity(
            ACTIVITY_NAME, due_iso, start_to_close_timeout=timedelta(seconds=60)
        )


def due_iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


async def _serve(address: str, task_queue: str) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from bench import bare  # run as __main__: the workers get the module's importable copy
    from core.settings import Settings
    from core.temporal import DATA_CONVERTER
    from workers.tuning import worker_tuning

    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[bare.BareTimerWorkflow],
        activities=[bare.bare_action],
        # the product worker's tuning (DESK_WORKER_*); this workflow module passed through, as `workflows` is
        **worker_tuning(Settings(_env_file=None), workflow_code=(bare.__name__,)),
    )
    async with worker:
        print("bare worker ready", flush=True)
        await stop.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--address", required=True)
    p.add_argument("--task-queue", required=True)
    a = p.parse_args()
    asyncio.run(_serve(a.address, a.task_queue))


if __name__ == "__main__":
    main()
