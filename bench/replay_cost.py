"""Worker CPU per workflow task, without a server: replay the recorded histories (tests/histories) through the
product's sandboxed runner, with the SDK payload fast path (workers/sdk_fastpath.py) on and off.

A replay builds each complaint from nothing and runs every one of its workflow tasks, as a worker does after a
cache miss; so this is the workflow's own cost per task (activities excluded), free of the server's and the
other processes' share of the CPU that makes `desk bench` figures vary from run to run.

    python -m bench.replay_cost                 # every history, 100 replays each, fast path off and on
    python -m bench.replay_cost --replays 300 urgent_reopened_one_step
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

HISTORIES = Path(__file__).resolve().parent.parent / "tests" / "histories"


async def _measure(names: list[str], replays: int, fastpath: bool) -> dict[str, dict[str, float]]:
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from core.settings import Settings
    from core.temporal import DATA_CONVERTER
    from workers import sdk_fastpath
    from workers.tuning import worker_tuning
    from workflows.registry import WORKFLOWS

    runner = worker_tuning(Settings(_env_file=None))["workflow_runner"]  # installs the fast path
    if not fastpath:
        sdk_fastpath.uninstall()
    ids = dict(
        line.split() for line in (HISTORIES / "workflow_ids.txt").read_text().splitlines() if line.strip()
    )
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER, workflow_runner=runner)
    out: dict[str, dict[str, float]] = {}
    for name in names:
        history = WorkflowHistory.from_json(
            ids[name], (HISTORIES / f"{name}.json").read_text(encoding="utf-8")
        )
        tasks = sum(1 for e in history.events if e.HasField("workflow_task_completed_event_attributes"))
        await replayer.replay_workflow(history)  # warm: imports, caches

        async def histories(h: WorkflowHistory = history):
            for _ in range(replays):
                yield h

        cpu = time.process_time()
        async with replayer.workflow_replay_iterator(histories()) as results:
            async for r in results:
                if r.replay_failure is not None:
                    raise r.replay_failure
        per_replay = (time.process_time() - cpu) / replays
        out[name] = {"events": len(history.events), "tasks": tasks, "ms_per_task": 1000 * per_replay / tasks}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="history names (default: all in tests/histories)")
    p.add_argument("--replays", type=int, default=100)
    p.add_argument("--only", choices=["on", "off"], help=argparse.SUPPRESS)  # one variant, in this process
    a = p.parse_args()
    names = a.names or sorted(f.stem for f in HISTORIES.glob("*.json"))
    if a.only:
        print(json.dumps(asyncio.run(_measure(names, a.replays, a.only == "on"))))
        return
    runs = {}
    for variant in ("off", "on"):  # each in a fresh process: neither inherits the other's warm caches
        print(f"replaying {len(names)} histories × {a.replays}, fast path {variant} …", file=sys.stderr)
        cmd = [
            sys.executable,
            "-m",
            "bench.replay_cost",
            "--only",
            variant,
            "--replays",
            str(a.replays),
            *names,
        ]
        runs[variant] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    print("| history | events | workflow tasks | ms CPU per task, fast path off | on | saved |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        off, on = runs["off"][name], runs["on"][name]
        saved = 1 - on["ms_per_task"] / off["ms_per_task"]
        print(
            f"| {name} | {off['events']} | {off['tasks']} | {off['ms_per_task']:.2f} | {on['ms_per_task']:.2f} "
            f"| {100 * saved:.0f} % |"
        )


if __name__ == "__main__":
    main()
