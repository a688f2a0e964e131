"""A minimal workflow that runs `notify` the way the complaint workflow does: by name, with a retry policy."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.messages import ACTIVITY_NOTIFY, Notification, NotificationResult


@workflow.defn
class NotifyOnce:
    @workflow.run
    async def run(self, n: Notification, activity_queue: str, timeout_s: float) -> NotificationResult:
        return await workflow.execute_activity(
            ACTIVITY_NOTIFY,
            n,
            task_queue=activity_queue,
            start_to_close_timeout=timedelta(seconds=timeout_s),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=200), backoff_coefficient=2, maximum_attempts=6
            ),
            result_type=NotificationResult,
        )
