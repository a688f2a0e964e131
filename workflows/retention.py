"""RetentionWorkflow: closed complaints older than the retention period leave the ledger (archived or purged).

Started by the Temporal Schedule `desk-retention` (workers/schedules.py), daily by default, or by hand
(`temporal workflow start --type RetentionWorkflow --input '{"years": 3, "dry_run": true}' ...`).
The cutoff is fixed once, from workflow time, and the activity sweeps batch by batch until a batch comes back
short; a long backlog continues as new with the totals so far. A dry run makes one counting call and changes
nothing. Nothing here is customer data: the report holds counts only.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from domain.retention import (
    ACTIVITY_RETENTION_SWEEP,
    RETENTION_WORKFLOW,
    RetentionBatch,
    RetentionInput,
    RetentionReport,
    RetentionSweep,
    years_before,
)

SWEEP_TIMEOUT = timedelta(minutes=5)
SWEEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5))


@workflow.defn(name=RETENTION_WORKFLOW)
class RetentionWorkflow:
    @workflow.run
    async def run(self, params: RetentionInput) -> RetentionReport:
        cutoff = params.cutoff or years_before(workflow.now(), params.years)
        report = params.carried or RetentionReport(cutoff=cutoff, mode=params.mode, dry_run=params.dry_run)
        sweep = RetentionSweep(
            cutoff=cutoff, mode=params.mode, dry_run=params.dry_run, batch_size=params.batch_size
        )
        verb = "would go" if params.dry_run else params.mode.value
        while True:
            batch = await workflow.execute_activity(
                ACTIVITY_RETENTION_SWEEP,
                sweep,
                result_type=RetentionBatch,
                start_to_close_timeout=SWEEP_TIMEOUT,
                retry_policy=SWEEP_RETRY,
                summary=f"{verb}: closed before {cutoff:%Y-%m-%d}",
            )
            report.add(batch)
            workflow.set_current_details(
                f"{report.complaints} complaints {verb} (closed before {cutoff:%Y-%m-%d}), {report.batches} batches"
            )
            if params.dry_run or batch.complaints < params.batch_size:
                break
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(params.model_copy(update={"cutoff": cutoff, "carried": report}))
        workflow.logger.info(
            "retention done: %s complaints %s, archive records purged %s",
            report.complaints,
            verb,
            report.archive_purged,
        )
        return report
