"""Record complaint histories for the replay test: `.venv/bin/python -m tests.histories.record`.

Runs the scripted lifecycles of lifecycles.py on a fresh time-skipping server and writes each run's
history as `<name>.json` (its workflow id in workflow_ids.txt; plus every earlier run of a continued-as-new complaint and one department
investigation child) next to this file. Re-record only on purpose: the point of the recordings is that a
workflow change which would break complaints already running fails tests/workflows/test_replay.py.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from core.temporal import DATA_CONVERTER
from tests.conftest import BIN, register_search_attributes
from tests.histories.lifecycles import ALL
from tests.workflows.harness import desk_on
from workflows.investigation import investigation_id

HERE = Path(__file__).parent


async def record(out: Path = HERE) -> dict[str, int]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=str(BIN / "temporal-test-server")
    )
    counts: dict[str, int] = {}
    ids: dict[str, str] = {}  # file stem → workflow id (a history does not carry its own id)
    try:
        await register_search_attributes(env)
        async with desk_on(env) as desk:
            for name, script in ALL.items():
                c = await script(desk)
                runs = [c.first_run_id]
                latest = await c.handle.fetch_history()
                if latest.run_id not in runs:
                    runs.append(latest.run_id)
                for i, run_id in enumerate(runs):
                    history = await desk.client.get_workflow_handle(
                        c.handle.id, run_id=run_id
                    ).fetch_history()
                    suffix = "" if len(runs) == 1 else f"_run{i + 1}"
                    (out / f"{name}{suffix}.json").write_text(history.to_json(), encoding="utf-8")
                    counts[f"{name}{suffix}"] = len(history.events)
                    ids[f"{name}{suffix}"] = c.handle.id
                if name == "lost_goods_investigation":
                    view = await c.view()
                    child = investigation_id(c.handle.id, view.investigation[-1].department, 1)
                    history = await desk.client.get_workflow_handle(child).fetch_history()
                    (out / "investigation_child_overdue.json").write_text(history.to_json(), encoding="utf-8")
                    counts["investigation_child_overdue"] = len(history.events)
                    ids["investigation_child_overdue"] = child
        (out / "workflow_ids.txt").write_text(
            "".join(f"{k} {v}\n" for k, v in sorted(ids.items())), encoding="utf-8"
        )
    finally:
        await env.shutdown()
    return counts


if __name__ == "__main__":
    counts = asyncio.run(record(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
    print(json.dumps(counts, indent=2))
