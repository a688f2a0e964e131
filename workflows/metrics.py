"""Business metrics recorded from inside the complaint workflow, replay-safe.

Workflow code runs again on every replay (cache eviction, worker restart, another worker taking over), so a
plain counter there would count a breach again each time. `workflow.metric_meter()` drops recordings made
while replaying, so these count each event once per first execution. They are served on the Temporal SDK
metrics endpoint (DESK_SDK_METRICS_BIND, see core/telemetry.py) with the SDK's labels (namespace, task_queue,
workflow_type) added:

    desk_obligation_breaches{obligation, tier}       counter: an obligation's deadline passed unmet
    desk_obligation_warnings{obligation, tier}       counter: an obligation reached its warning point
    desk_timer_lateness{obligation}                  histogram, seconds: timer fired minus its due time

Imports only temporalio.workflow: safe inside the sandbox, e.g.
    from workflows import metrics as workflow_metrics
    ...
    workflow_metrics.breach(ObligationName.RESOLUTION, tier)
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

BREACHES = "desk_obligation_breaches"
WARNINGS = "desk_obligation_warnings"
TIMER_LATENESS = "desk_timer_lateness"
# Seconds: timers fire late by milliseconds normally, by seconds under load; minutes means trouble.
LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)
HISTOGRAM_BUCKETS = {
    TIMER_LATENESS: LATENESS_BUCKETS
}  # for core.telemetry.runtime_for (the worker's runtime)


def _label(value: object) -> str:
    return str(getattr(value, "value", value))


def breach(obligation: object, tier: object) -> None:
    workflow.metric_meter().create_counter(BREACHES, "obligations breached").add(
        1, {"obligation": _label(obligation), "tier": _label(tier)}
    )


def warning(obligation: object, tier: object) -> None:
    workflow.metric_meter().create_counter(WARNINGS, "warnings before a breach").add(
        1, {"obligation": _label(obligation), "tier": _label(tier)}
    )


def timer_fired(obligation: object, due_at: datetime, *, now: datetime | None = None) -> float:
    """Call right after the obligation's timer fires; records and returns fired-minus-due in seconds.

    `now` defaults to `workflow.now()`, the start of the workflow task that saw the timer fire, so this is
    the lateness the complaint experienced (server queueing + worker pick-up), never negative. Pass `now`
    when the workflow keeps its deadlines on a shifted clock (ComplaintOptions.time_shift)."""
    lateness = max(0.0, ((now or workflow.now()) - due_at).total_seconds())
    workflow.metric_meter().create_histogram_float(TIMER_LATENESS, "timer fired minus due", unit="s").record(
        lateness, {"obligation": _label(obligation)}
    )
    return lateness
