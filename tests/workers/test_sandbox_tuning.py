"""The two sandboxes complaints run in.

- The product worker's (workers/tuning.py): the workflow code is passed through, so every run shares the
  host's classes (no per-run import: memory and CPU at each start and cache miss) and keeps its own state.
- The tests' workers (the SDK's default sandbox): `workflows` is imported afresh for every run, so the
  sandbox checks every line of workflow code at run time — the steps and clocks too, not only the module
  that holds the workflow class.
"""

from __future__ import annotations

import gc
import uuid

from temporalio.worker import Worker

from core.settings import Settings
from desk.testing_support import Recorder
from tests.workflows.harness import Desk
from workers.tuning import worker_tuning
from workflows.complaint import ComplaintWorkflow
from workflows.complaint_steps import ComplaintSteps
from workflows.registry import WORKFLOWS


async def _two_runs(ts_env, **tuning) -> list[object]:
    task_queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    world = Recorder()
    async with Worker(
        ts_env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=world.activities(),
        **tuning,
    ):
        desk = Desk(env=ts_env, client=ts_env.client, task_queue=task_queue, world=world)
        try:
            first, second = await desk.start(), await desk.start()
            assert (await first.view()).complaint_id == first.id
            assert (await second.view()).complaint_id == second.id
            runs = [
                o
                for o in gc.get_objects()
                if type(o).__name__ == "ComplaintWorkflow"
                and getattr(getattr(o, "_input", None), "complaint_id", None) in (first.id, second.id)
            ]
            assert len(runs) == 2
            return runs
        finally:
            await desk.close()


async def test_the_product_sandbox_shares_the_workflow_code_and_keeps_each_runs_state(ts_env):
    a, b = await _two_runs(ts_env, **worker_tuning(Settings(_env_file=None)))
    assert type(a) is ComplaintWorkflow and type(b) is ComplaintWorkflow  # the host's class, no re-import
    assert a.s is not b.s and a._input.complaint_id != b._input.complaint_id
    assert a._timer is not b._timer


async def test_the_tests_sandbox_imports_all_workflow_code_per_run(ts_env):
    a, b = await _two_runs(ts_env)  # the SDK's default runner, as tests/workflows/harness.py uses
    ta, tb = type(a), type(b)
    assert ta is not ComplaintWorkflow and ta is not tb
    steps = [c for c in ta.__mro__ if c.__name__ == "ComplaintSteps"]
    assert steps and steps[0] is not ComplaintSteps  # the steps are the sandbox's copy: checked at run time
