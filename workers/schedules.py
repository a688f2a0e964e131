"""Temporal Schedules the product owns, created or brought up to date at start-up (worker).

`desk-retention` starts RetentionWorkflow on DESK_RETENTION_CRON in DESK_RETENTION_TIMEZONE with the
configured period, mode and dry-run flag. Settings changed → the next start updates the schedule in place;
DESK_RETENTION_YEARS=0 removes it. Overlaps are skipped (a long sweep is never run twice at once), and a
missed run (cluster down at 03:30) is caught up within a day.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from core.settings import Settings
from domain.retention import RETENTION_WORKFLOW, RetentionInput, RetentionMode

RETENTION_SCHEDULE_ID = "desk-retention"

log = structlog.get_logger()


def retention_schedule(settings: Settings) -> Schedule:
    params = RetentionInput(
        years=settings.retention_years,
        mode=RetentionMode(settings.retention_mode),
        dry_run=settings.retention_dry_run,
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RETENTION_WORKFLOW,
            params,
            id=RETENTION_SCHEDULE_ID,  # the schedule appends the run time
            task_queue=settings.task_queue,
            execution_timeout=timedelta(hours=23),
        ),
        spec=ScheduleSpec(
            cron_expressions=[settings.retention_cron], time_zone_name=settings.retention_timezone
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
        state=ScheduleState(
            note=f"{'dry run: count' if params.dry_run else params.mode.value} closed complaints older than "
            f"{params.years} years"
        ),
    )


async def ensure_retention_schedule(client: Client, settings: Settings) -> ScheduleHandle | None:
    """Create the schedule, or update it to match the settings; delete it when retention is off (years 0)."""
    handle = client.get_schedule_handle(RETENTION_SCHEDULE_ID)
    if settings.retention_years <= 0:
        try:
            await handle.delete()
            log.info("retention schedule removed", schedule=RETENTION_SCHEDULE_ID)
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
        return None
    wanted = retention_schedule(settings)
    try:
        handle = await client.create_schedule(RETENTION_SCHEDULE_ID, wanted)
        log.info("retention schedule created", schedule=RETENTION_SCHEDULE_ID, cron=settings.retention_cron)
        return handle
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        # Keep the live state (paused by an operator stays paused), replace what the settings define.
        schedule = current.description.schedule
        schedule.action = wanted.action
        schedule.spec = wanted.spec
        schedule.policy = wanted.policy
        schedule.state.note = wanted.state.note
        return ScheduleUpdate(schedule=schedule)

    await handle.update(update)
    log.info("retention schedule updated", schedule=RETENTION_SCHEDULE_ID, cron=settings.retention_cron)
    return handle
