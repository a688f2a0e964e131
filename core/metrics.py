"""Business metrics from activities and the web app (prometheus_client), one function per fact.

Who records what, and where it is served:

| metric | recorded by | served on |
|---|---|---|
| desk_open_complaints{tier,state} (gauge) | `run_open_complaints_gauge` task in the worker (workers/open_complaints.py): counts running complaints in Temporal visibility | worker :DESK_METRICS_PORT |
| desk_notification_failures_total{channel,reason} | notify activity: `notification_failed` | worker |
| desk_notifications_sent_total{channel} | notify activity: `notification_sent` | worker |
| desk_intake_latency_seconds{channel} (histogram) | automatically, by core.telemetry's client interceptor when a complaint workflow is started | web app / importer |
| desk_obligation_breaches, desk_obligation_warnings, desk_timer_lateness | the workflow, replay-safe: workflows/metrics.py | worker SDK endpoint :DESK_SDK_METRICS_BIND |

Never call these from workflow code: a replay would count again. Activities may run more than once (retries);
`notification_*` callers skip the count for a duplicate (already-sent) notification.
The open-complaints gauge is a global figure: with several replicas aggregate it with max(), not sum().
"""

from __future__ import annotations

import hmac

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import start_http_server as _start_http_server

log = structlog.get_logger()

OPEN_COMPLAINTS = Gauge("desk_open_complaints", "Running complaints by tier and state", ["tier", "state"])
NOTIFICATION_FAILURES = Counter(
    "desk_notification_failures", "Notifications a channel refused or could not take", ["channel", "reason"]
)
NOTIFICATIONS_SENT = Counter("desk_notifications_sent", "Notifications a channel took", ["channel"])
INTAKE_LATENCY = Histogram(
    "desk_intake_latency_seconds",
    "From handing a new complaint to Temporal until it is durably accepted",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def notification_sent(channel: str) -> None:
    NOTIFICATIONS_SENT.labels(channel=channel).inc()


def notification_failed(channel: str, reason: str = "error") -> None:
    """reason: `rejected` (the channel refused for good, e.g. a bad number) or `error` (will be retried)."""
    NOTIFICATION_FAILURES.labels(channel=channel, reason=reason).inc()


def intake(channel: str, seconds: float) -> None:
    INTAKE_LATENCY.labels(channel=channel).observe(seconds)


def serve(port: int, addr: str = "0.0.0.0", registry: CollectorRegistry = REGISTRY) -> None:
    """The worker's /metrics endpoint (a daemon thread); the web app includes `web_router(token)`."""
    _start_http_server(port, addr=addr, registry=registry)
    log.info("business metrics endpoint", url=f"http://{addr}:{port}/metrics")


def web_router(token: str) -> APIRouter:
    """The web app's /metrics (ui/app.py includes it only when DESK_METRICS_TOKEN is set): Prometheus sends
    `Authorization: Bearer <token>` (scrape config `authorization: {credentials: …}`); anything else is a 401."""
    router = APIRouter(include_in_schema=False)
    expected = f"Bearer {token}".encode()

    @router.get("/metrics")
    def metrics_page(request: Request) -> Response:
        sent = request.headers.get("authorization", "").encode("latin-1", "replace")
        if not hmac.compare_digest(sent, expected):
            return Response(
                "bearer token required\n", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router
