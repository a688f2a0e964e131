"""Traces and logs of a real run: intake → workflow → activity → staff Update, all tagged with the complaint."""

from __future__ import annotations

import gzip
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.worker import Worker

from core.settings import Settings
from core.telemetry import (
    COMPLAINT_KEY,
    ComplaintContextInterceptor,
    build_tracer_provider,
    complaint_context,
    tracing_interceptor,
)
from core.temporal import dedupe_workflow_id, interceptors
from domain.actions import Acknowledge
from domain.models import Actor, Role
from tests.ops.conftest import client_on, free_port, task_queue
from tests.ops.sample_workflow import SampleComplaintWorkflow, complaint, notify, start_attributes


async def test_every_span_from_intake_to_activity_carries_the_complaint_number(ts_env, json_logs):
    exporter = InMemorySpanExporter()
    provider = build_tracer_provider(Settings(), exporter=exporter)
    client = client_on(ts_env, interceptors=[ComplaintContextInterceptor(), tracing_interceptor(provider)])
    tq = task_queue()
    c = complaint("C-TRACE-1")
    # A dedupe-keyed workflow id holds no complaint number: it must travel as baggage from intake.
    wf_id = dedupe_workflow_id(f"{c.customer.phone}|{c.order_number}|spoiled|{tq}")
    async with Worker(client, task_queue=tq, workflows=[SampleComplaintWorkflow], activities=[notify]):
        handle = await client.start_workflow(
            SampleComplaintWorkflow.run,
            c,
            id=wf_id,
            task_queue=tq,
            search_attributes=start_attributes(c),
            static_summary="urgent · spoiled",
        )
        await ts_env.sleep(timedelta(minutes=1))
        with complaint_context(c.complaint_id):  # what the staff UI does around its calls
            await handle.execute_update(
                SampleComplaintWorkflow.acknowledge,
                Acknowledge(actor=Actor(id="zhang", role=Role.SPECIALIST)),
            )
        assert await handle.result() == "C-TRACE-1 acknowledged by zhang"

    spans = exporter.get_finished_spans()
    names = {s.name for s in spans}
    for expected in (
        "StartWorkflow:OpsSampleComplaint",
        "RunWorkflow:OpsSampleComplaint",
        "StartActivity:notify",
        "RunActivity:notify",
        "StartWorkflowUpdate:acknowledge",
        "HandleUpdate:acknowledge",
        "CompleteWorkflow:OpsSampleComplaint",
    ):
        assert expected in names, f"{expected} missing from {sorted(names)}"
    untagged = [s.name for s in spans if s.attributes.get(COMPLAINT_KEY) != "C-TRACE-1"]
    assert untagged == []

    # One trace from intake through the workflow to the activity.
    start = next(s for s in spans if s.name == "StartWorkflow:OpsSampleComplaint")
    assert start.kind == SpanKind.CLIENT
    run_activity = next(s for s in spans if s.name == "RunActivity:notify")
    run_workflow = next(s for s in spans if s.name == "RunWorkflow:OpsSampleComplaint")
    assert run_workflow.context.trace_id == start.context.trace_id
    assert run_activity.context.trace_id == start.context.trace_id
    assert run_activity.attributes["temporalWorkflowID"] == wf_id

    # The activity's log line names the complaint, the run and the trace.
    (line,) = [e for e in json_logs.find("notification sent") if e.get("workflow_id") == wf_id]
    assert line["complaint_id"] == "C-TRACE-1"
    assert line["run_id"] == handle.result_run_id
    assert line["trace_id"] == format(run_activity.context.trace_id, "032x")
    assert line["span_id"] == format(run_activity.context.span_id, "016x")
    # Temporal's own (stdlib) loggers: their lines carry the ids too.
    by_message = {e["event"].split(" (")[0]: e for e in json_logs.all() if e.get("workflow_id") == wf_id}
    for message in ("stdlib line from the workflow", "stdlib line from the activity"):
        assert by_message[message]["run_id"] == handle.result_run_id, message
        assert by_message[message]["complaint_id"] == "C-TRACE-1", message


async def test_complaint_number_comes_from_the_workflow_id_when_nobody_set_it(ts_env):
    exporter = InMemorySpanExporter()
    provider = build_tracer_provider(Settings(), exporter=exporter)
    client = client_on(ts_env, interceptors=[tracing_interceptor(provider)])  # no complaint interceptor
    tq = task_queue()
    c = complaint("C-TRACE-2")
    async with Worker(client, task_queue=tq, workflows=[SampleComplaintWorkflow], activities=[notify]):
        handle = await client.start_workflow(
            SampleComplaintWorkflow.run,
            c,
            id="complaint-C-TRACE-2",
            task_queue=tq,
            search_attributes=start_attributes(c),
        )
        await handle.execute_update(
            SampleComplaintWorkflow.acknowledge, Acknowledge(actor=Actor(id="li", role=Role.SPECIALIST))
        )
        await handle.result()
    spans = exporter.get_finished_spans()
    assert spans
    assert {s.attributes.get(COMPLAINT_KEY) for s in spans} == {"C-TRACE-2"}


def test_tracing_is_configuration_only():
    assert [type(i).__name__ for i in interceptors(Settings())] == ["ComplaintContextInterceptor"]


class _Collector(BaseHTTPRequestHandler):
    received: list[ExportTraceServiceRequest] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        type(self).received.append((self.path, request))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_otlp_exporter_sends_spans_with_the_complaint_number_to_the_collector():
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Collector.received = []
    try:
        settings = Settings(
            tracing_exporter="otlp",
            otlp_endpoint=f"http://127.0.0.1:{port}/v1/traces",
            service_name="desk-test",
        )
        provider = build_tracer_provider(settings)
        with complaint_context("C-OTLP-1"):
            with provider.get_tracer("t").start_as_current_span("intake"):
                pass
        provider.force_flush()
        provider.shutdown()
    finally:
        server.shutdown()
    ((path, request),) = _Collector.received
    assert path == "/v1/traces"
    resource = request.resource_spans[0]
    assert any(
        a.key == "service.name" and a.value.string_value == "desk-test" for a in resource.resource.attributes
    )
    (span,) = resource.scope_spans[0].spans
    assert span.name == "intake"
    assert {a.key: a.value.string_value for a in span.attributes}[COMPLAINT_KEY] == "C-OTLP-1"
