"""The worker's tuning from settings (DESK_WORKER_*): one place, so the benchmark's bare engine-floor worker
runs with exactly the product worker's cache, slots and runner."""

from __future__ import annotations

import compileall
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import workflows
from core.settings import Settings


def worker_tuning(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `temporalio.worker.Worker`."""
    return {
        "max_cached_workflows": settings.worker_max_cached_workflows,
        "max_concurrent_workflow_tasks": settings.worker_max_concurrent_workflow_tasks,
        "max_concurrent_activities": settings.worker_max_concurrent_activities,
        "max_concurrent_local_activities": settings.worker_max_concurrent_local_activities,
        "sticky_queue_schedule_to_start_timeout": timedelta(seconds=settings.worker_sticky_timeout_seconds),
        "workflow_runner": SandboxedWorkflowRunner()
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
