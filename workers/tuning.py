"""The worker's tuning from settings (DESK_WORKER_*): one place, so the benchmark's bare engine-floor worker
runs with exactly the product worker's cache, slots and runner."""

from __future__ import annotations

import compileall
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import workflows
from core.settings import Settings
from workers.sandbox_code import share_sandbox_code

# Pure, import-side-effect-free modules every run uses, shared with the host instead of imported again per
# run. pydantic loads email_validator and idna lazily, at the first EmailStr it checks: without them here
# a run whose workflow module does not pass them through would import both afresh (`bench.memory_probe`).
PASSED_THROUGH = ("domain", "pydantic", "pydantic_core", "annotated_types", "email_validator", "idna")


def worker_tuning(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `temporalio.worker.Worker`."""
    if settings.worker_sandbox:
        share_sandbox_code()  # one compiled copy of workflows/*.py for every sandboxed run (memory)
    return {
        "max_cached_workflows": settings.worker_max_cached_workflows,
        "max_concurrent_workflow_tasks": settings.worker_max_concurrent_workflow_tasks,
        "max_concurrent_activities": settings.worker_max_concurrent_activities,
        "max_concurrent_local_activities": settings.worker_max_concurrent_local_activities,
        "sticky_queue_schedule_to_start_timeout": timedelta(seconds=settings.worker_sticky_timeout_seconds),
        "workflow_runner": SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
        )
        if settings.worker_sandbox
        else UnsandboxedWorkflowRunner(),
    }


def cache_sandbox_bytecode(*packages: ModuleType) -> None:
    """Write the bytecode of the modules the sandbox imports afresh for every complaint it loads (each start
    and each cache miss). With PYTHONDONTWRITEBYTECODE (the Dockerfile, many shells) nothing cached it, so
    every load compiled workflows/*.py from source again: a quarter of the worker's CPU at intake under
    py-spy (docs/benchmarks.md). Python reads a cached file even with that setting; a read-only install
    (the image compiles at build time) just keeps what it has."""
    for package in packages or (workflows,):
        compileall.compile_dir(Path(package.__file__).parent, quiet=2)
