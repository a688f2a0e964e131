"""The worker's tuning from settings (DESK_WORKER_*): one place, so the benchmark's bare engine-floor worker
runs with exactly the product worker's cache, slots and runner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

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
