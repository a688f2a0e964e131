"""The product worker's sandbox (workers/tuning.py): complaints run in it, each run still gets its own
workflow module, class and functions, but all runs share one compiled copy of the code
(workers/sandbox_code.py) — the memory a cached complaint no longer holds."""

from __future__ import annotations

import gc
import importlib.util
import sys
import uuid

from temporalio.worker import Worker

from core.settings import Settings
from desk.testing_support import Recorder
from tests.workflows.harness import Desk
from workers.sandbox_code import share_sandbox_code
from workers.tuning import worker_tuning
from workflows.registry import WORKFLOWS


def _fresh(name: str):
    """Import a module afresh through the import system, as the sandbox does for every run (its own
    sys.modules has no copy yet); the process's copy is put back afterwards."""
    saved = sys.modules.pop(name)
    try:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.modules[name] = saved


def test_fresh_imports_of_a_workflow_module_share_code_but_not_state():
    share_sandbox_code("workflows")
    a, b = _fresh("workflows.timer"), _fresh("workflows.timer")
    assert a is not b and a.__dict__ is not b.__dict__
    assert a.MovableTimer is not b.MovableTimer  # each run its own class: module state stays per run
    assert a.MovableTimer.__init__.__code__ is b.MovableTimer.__init__.__code__


def test_a_module_outside_the_shared_packages_is_compiled_per_import():
    share_sandbox_code("workflows")
    a, b = _fresh("domain.refusals"), _fresh("domain.refusals")
    assert a.refusal.__code__ is not b.refusal.__code__


async def test_complaints_run_in_the_product_sandbox_each_with_its_own_class_on_shared_code(ts_env):
    task_queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    world = Recorder()
    async with Worker(
        ts_env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=world.activities(),
        **worker_tuning(Settings(_env_file=None)),
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
            a, b = (type(r) for r in runs)
            assert a is not b  # the sandbox still imports the workflow module per run
            assert a._intake.__code__ is b._intake.__code__  # from one compiled copy
        finally:
            await desk.close()
