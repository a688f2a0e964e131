"""Traces, the SDK's metrics runtime, and the complaint number in every span and log line.

Tracing: Temporal's `TracingInterceptor` makes spans for every client call (intake's start, staff Updates),
for the workflow's run/handlers and for each activity, and carries the trace context in Temporal headers.
The complaint number travels beside it as W3C baggage (`complaint.id`): `ComplaintContextInterceptor` puts it
there when a client call or an activity knows it, and `ComplaintSpanProcessor` copies it onto every span as
the attribute `complaint.id` (falling back to the `complaint-<id>` workflow id). Exporter by configuration:
`DESK_TRACING_EXPORTER=otlp|console|none`; the standard OTEL_* variables (sampler, headers) still apply.

Logs: `add_trace_context` (a structlog processor, see core/logs.py) adds trace_id/span_id and the complaint
number from the active context; `add_temporal_context` lifts the workflow/activity ids that Temporal's own
loggers attach; the activity interceptor binds complaint_id / workflow_id / run_id for the activity's logs.

SDK metrics: `runtime_for(settings)` gives a Runtime whose Prometheus endpoint (DESK_SDK_METRICS_BIND) serves
Temporal's worker/client metrics and the replay-safe business metrics recorded inside workflows
(workflows/metrics.py). Business metrics from activities and the web app are in core/metrics.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import structlog
from opentelemetry import baggage, context, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio import activity, client, converter, worker
from temporalio.api.common.v1 import Payload
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core import metrics
from core.settings import Settings

COMPLAINT_KEY = "complaint.id"  # baggage key and span attribute
_WORKFLOW_ID_ATTR = "temporalWorkflowID"  # set by Temporal's TracingInterceptor on its spans
_TRACER_HEADER = "_tracer-data"  # TracingInterceptor's header: a W3C carrier (traceparent, baggage)

log = structlog.get_logger()


def complaint_id_from_workflow_id(workflow_id: str | None) -> str | None:
    """`complaint-C-1` → `C-1`; dedupe-keyed ids (`complaint-d-…`) carry no number."""
    if workflow_id and workflow_id.startswith("complaint-") and not workflow_id.startswith("complaint-d-"):
        return workflow_id[len("complaint-") :]
    return None


def current_complaint_id() -> str | None:
    value = baggage.get_baggage(COMPLAINT_KEY)
    return str(value) if value else None


@contextmanager
def complaint_context(complaint_id: str | None) -> Iterator[None]:
    """Everything inside (client calls, spans, log lines) is tagged with this complaint number."""
    if not complaint_id or current_complaint_id() == complaint_id:
        yield
        return
    token = context.attach(baggage.set_baggage(COMPLAINT_KEY, complaint_id))
    try:
        with structlog.contextvars.bound_contextvars(complaint_id=complaint_id):
            yield
    finally:
        context.detach(token)


# ---------------------------------------------------------------- tracing


class ComplaintSpanProcessor(SpanProcessor):
    """Puts `complaint.id` on every span that belongs to a complaint, whoever created it."""

    def on_start(self, span: Span, parent_context: context.Context | None = None) -> None:
        cid = baggage.get_baggage(COMPLAINT_KEY, parent_context)
        if not cid:
            attrs = span.attributes or {}
            wid = attrs.get(_WORKFLOW_ID_ATTR)
            cid = complaint_id_from_workflow_id(wid if isinstance(wid, str) else None)
        if cid:
            span.set_attribute(COMPLAINT_KEY, str(cid))

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def span_exporter(settings: Settings) -> SpanExporter | None:
    if settings.tracing_exporter == "console":
        return ConsoleSpanExporter(service_name=settings.service_name)
    if settings.tracing_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=settings.otlp_endpoint or None)
    return None


def build_tracer_provider(settings: Settings, exporter: SpanExporter | None = None) -> TracerProvider:
    """A provider that tags complaint numbers; `exporter` overrides the configured one (tests pass an
    in-memory exporter and get each span synchronously)."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(ComplaintSpanProcessor())
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif (configured := span_exporter(settings)) is not None:
        provider.add_span_processor(BatchSpanProcessor(configured))
    return provider


_provider: TracerProvider | None = None


def setup_tracing(settings: Settings) -> TracerProvider | None:
    """The process-wide provider (set once, as OpenTelemetry requires); None when tracing is off."""
    global _provider
    if settings.tracing_exporter == "none":
        return None
    if _provider is None:
        _provider = build_tracer_provider(settings)
        trace.set_tracer_provider(_provider)
    return _provider


def shutdown_tracing() -> None:
    """Flush buffered spans; call on graceful shutdown."""
    if _provider is not None:
        _provider.force_flush()
        _provider.shutdown()


def tracing_interceptor(provider: TracerProvider):
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return TracingInterceptor(provider.get_tracer("complaint-desk"))


# ---------------------------------------------------------------- complaint context on client and activities


def _complaint_id_in(args: Sequence[Any]) -> str | None:
    """Activity and workflow inputs name their complaint: `x.complaint_id`, or a dict under an attribute
    (LedgerWrite.complaint)."""
    for arg in args[:1]:
        cid = getattr(arg, "complaint_id", None) or (
            arg.get("complaint_id") if isinstance(arg, dict) else None
        )
        if isinstance(cid, str) and cid:
            return cid
        for value in getattr(arg, "__dict__", {}).values():
            if isinstance(value, dict) and isinstance(value.get("complaint_id"), str):
                return value["complaint_id"]
    return None


def _baggage_complaint_id(headers: Mapping[str, Payload]) -> str | None:
    header = headers.get(_TRACER_HEADER)
    if not header:
        return None
    try:
        carrier = converter.PayloadConverter.default.from_payloads([header])[0]
    except Exception:  # a header we cannot read is not worth failing an activity for
        return None
    value = baggage.get_baggage(COMPLAINT_KEY, W3CBaggagePropagator().extract(carrier))
    return str(value) if value else None


class ComplaintContextInterceptor(client.Interceptor, worker.Interceptor):
    """Client side: tags each call with its complaint number (baggage) and times intake starts.
    Worker side: binds complaint/workflow/run ids for each activity's logs and spans.

    Put it before TracingInterceptor so the baggage is in place when the span is made (core.temporal does)."""

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        return _ClientComplaintContext(next)

    def intercept_activity(
        self, next: worker.ActivityInboundInterceptor
    ) -> worker.ActivityInboundInterceptor:
        return _ActivityComplaintContext(next)


class _ClientComplaintContext(client.OutboundInterceptor):
    async def start_workflow(self, input: client.StartWorkflowInput) -> client.WorkflowHandle[Any, Any]:
        complaint = input.args[0] if input.args else None
        cid = _complaint_id_in(input.args) or complaint_id_from_workflow_id(input.id)
        with complaint_context(cid):
            started = time.perf_counter()
            handle = await super().start_workflow(input)
            _observe_intake(complaint, started)
            return handle

    async def start_update_with_start_workflow(
        self, input: client.StartWorkflowUpdateWithStartInput
    ) -> client.WorkflowUpdateHandle[Any]:
        start = input.start_workflow_input
        complaint = start.args[0] if start.args else None
        cid = _complaint_id_in(start.args) or complaint_id_from_workflow_id(start.id)
        with complaint_context(cid):
            started = time.perf_counter()
            handle = await super().start_update_with_start_workflow(input)
            _observe_intake(complaint, started)
            return handle

    async def start_workflow_update(
        self, input: client.StartWorkflowUpdateInput
    ) -> client.WorkflowUpdateHandle[Any]:
        with complaint_context(complaint_id_from_workflow_id(input.id)):
            return await super().start_workflow_update(input)

    async def query_workflow(self, input: client.QueryWorkflowInput) -> Any:
        with complaint_context(complaint_id_from_workflow_id(input.id)):
            return await super().query_workflow(input)

    async def signal_workflow(self, input: client.SignalWorkflowInput) -> None:
        with complaint_context(complaint_id_from_workflow_id(input.id)):
            return await super().signal_workflow(input)


def _observe_intake(complaint: Any, started: float) -> None:
    """A new complaint (anything with a channel and a complaint number) durably accepted by Temporal."""
    channel = getattr(complaint, "channel", None)
    if channel is not None and getattr(complaint, "complaint_id", None):
        metrics.intake(str(getattr(channel, "value", channel)), time.perf_counter() - started)


class _ActivityComplaintContext(worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: worker.ExecuteActivityInput) -> Any:
        info = activity.info()
        cid = (
            _baggage_complaint_id(input.headers)
            or _complaint_id_in(input.args)
            or complaint_id_from_workflow_id(info.workflow_id)
        )
        ids = {
            "workflow_id": info.workflow_id,
            "run_id": info.workflow_run_id,
            "activity": info.activity_type,
        }
        with complaint_context(cid), structlog.contextvars.bound_contextvars(**ids):
            return await super().execute_activity(input)


# ---------------------------------------------------------------- logs


def add_trace_context(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: trace_id / span_id of the active span and the complaint number in baggage."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", format(span_context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span_context.span_id, "016x"))
    cid = current_complaint_id()
    if cid:
        event_dict.setdefault("complaint_id", cid)
    return event_dict


def add_temporal_context(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor for stdlib records: Temporal's workflow/activity loggers attach their ids as
    `extra` (`temporal_workflow`, `temporal_activity`); lift them into the line."""
    record = event_dict.get("_record")
    details = getattr(record, "temporal_workflow", None) or getattr(record, "temporal_activity", None)
    if isinstance(details, Mapping):
        wid = details.get("workflow_id")
        event_dict.setdefault("workflow_id", wid)
        event_dict.setdefault("run_id", details.get("run_id") or details.get("workflow_run_id"))
        if cid := complaint_id_from_workflow_id(wid):
            event_dict.setdefault("complaint_id", cid)
    return event_dict


# ---------------------------------------------------------------- SDK metrics runtime

_runtimes: dict[str, Runtime] = {}


def runtime_for(
    settings: Settings, histogram_buckets: Mapping[str, Sequence[float]] | None = None
) -> Runtime | None:
    """One Runtime per process with the Prometheus endpoint, or None (the SDK default) when off or when the
    port is taken (a second process on the same host must not crash for want of a metrics port).
    `histogram_buckets`: bucket bounds per histogram name (the worker passes workflows.metrics')."""
    bind = settings.sdk_metrics_bind
    if not bind:
        return None
    if bind not in _runtimes:
        try:
            _runtimes[bind] = Runtime(
                telemetry=TelemetryConfig(
                    metrics=PrometheusConfig(
                        bind_address=bind,
                        histogram_bucket_overrides={k: list(v) for k, v in (histogram_buckets or {}).items()},
                    )
                )
            )
        except Exception as e:
            log.warning("Temporal SDK metrics endpoint not started", bind=bind, error=str(e))
            return None
        log.info("Temporal SDK metrics endpoint", url=f"http://{bind}/metrics")
    return _runtimes[bind]
