"""The worker's tuning from settings (DESK_WORKER_*): one place, so the benchmark's bare engine-floor worker
runs with exactly the product worker's cache, slots and runner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from core.settings import Settings
from workers import sdk_fastpath

# Shared with the host instead of imported again for every run the worker loads (each start, each cache
# miss): the SDK advises passing through every module whose calls are deterministic. `workflows` too: its
# class, 21 Update definitions and their signatures cost ~4 ms and ~55 KiB per run when imported afresh
# (`bench.memory_probe`); nothing in it keeps module state. The run-time check of workflow code is the
# tests': their workers use the SDK's default sandbox, which imports `workflows` for every run and fails a
# non-deterministic call (tests/workers/test_sandbox_tuning.py), and `tests/workflows/test_determinism.py`
# reads every workflow and domain module for them. pydantic loads email_validator and idna lazily, at the
# first EmailStr it checks.
PASSED_THROUGH = ("domain", "pydantic", "pydantic_core", "annotated_types", "email_validator", "idna")
WORKFLOW_CODE = ("workflows",)


def worker_tuning(settings: Settings, *, workflow_code: Sequence[str] = WORKFLOW_CODE) -> dict[str, Any]:
    """Keyword arguments for `temporalio.worker.Worker`. `workflow_code`: the modules that define its
    workflows (the bare benchmark worker has its own), passed through like the rest. Also turns on the SDK
    payload fast path for this process (workers/sdk_fastpath.py): every worker built here, the floor's too."""
    sdk_fastpath.install()
    return {
        "max_cached_workflows": settings.worker_max_cached_workflows,
        "max_concurrent_workflow_tasks": settings.worker_max_concurrent_workflow_tasks,
        "max_concurrent_activities": settings.worker_max_concurrent_activities,
        "max_concurrent_local_activities": settings.worker_max_concurrent_local_activities,
        "sticky_queue_schedule_to_start_timeout": timedelta(seconds=settings.worker_sticky_timeout_seconds),
        "workflow_runner": SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH, *workflow_code)
        )
        if settings.worker_sandbox
        else UnsandboxedWorkflowRunner(),
    }
