"""The real ComplaintWorkflow: traces, replay-safe metrics, and what the Temporal Web UI can read."""

from __future__ import annotations

import asyncio

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig
from temporalio.worker import Replayer

from core.codec import ENCODING, generate_key
from core.settings import Settings
from core.telemetry import (
    COMPLAINT_KEY,
    ComplaintContextInterceptor,
    build_tracer_provider,
    runtime_for,
    tracing_interceptor,
)
from core.temporal import DATA_CONVERTER, data_converter, dedupe_workflow_id
from domain.view import ComplaintView
from tests.ops.conftest import client_on, free_port
from tests.ops.real_complaint import SECRETS, run_breached_complaint
from tests.ops.test_codec import _history_bytes_and_payloads
from tests.ops.test_metrics import _samples
from workflows.metrics import BREACHES, HISTOGRAM_BUCKETS, TIMER_LATENESS, WARNINGS
from workflows.registry import WORKFLOWS


async def test_real_complaint_is_traced_end_to_end_and_counts_its_breach_once(ts_env):
    exporter = InMemorySpanExporter()
    chain = [
        ComplaintContextInterceptor(),
        tracing_interceptor(build_tracer_provider(Settings(), exporter=exporter)),
    ]
    bind = f"127.0.0.1:{free_port()}"
    worker_client = await Client.connect(
        ts_env.client.service_client.config.target_host,
        namespace=ts_env.client.namespace,
        data_converter=DATA_CONVERTER,
        interceptors=chain,
        runtime=runtime_for(Settings(sdk_metrics_bind=bind), HISTOGRAM_BUCKETS),
    )
    # A dedupe-keyed id: the complaint number reaches the workflow and activities only as baggage.
    wf_id = dedupe_workflow_id(f"ops-trace|{free_port()}")
    run = await run_breached_complaint(
        ts_env, starter=client_on(ts_env, interceptors=chain), worker_client=worker_client, workflow_id=wf_id
    )
    cid = run.complaint.complaint_id

    spans = exporter.get_finished_spans()
    names = {s.name for s in spans}
    for expected in (
        "StartWorkflow:ComplaintWorkflow",
        "RunWorkflow:ComplaintWorkflow",
        "StartActivity:record_step",  # a step's ledger write and notifications (PATCH_ONE_STEP)
        "RunActivity:record_step",
        "StartWorkflowUpdate:acknowledge",
        "ValidateUpdate:acknowledge",
        "HandleUpdate:acknowledge",
        "CompleteWorkflow:ComplaintWorkflow",
    ):
        assert expected in names, f"{expected} missing from {sorted(names)}"
    assert [s.name for s in spans if s.attributes.get(COMPLAINT_KEY) != cid] == []
    start = next(s for s in spans if s.name == "StartWorkflow:ComplaintWorkflow")
    assert {s.context.trace_id for s in spans if s.name.startswith("RunActivity:")} == {
        start.context.trace_id
    }

    def ours(text: str, name: str, obligation: str) -> list:
        return [
            s
            for s in _samples(text, name)
            if s.labels.get("workflow_type") == "ComplaintWorkflow"
            and s.labels.get("obligation") == obligation
        ]

    async with httpx.AsyncClient() as http:
        for _ in range(100):  # the SDK hands recordings to its exporter asynchronously
            text = (await http.get(f"http://{bind}/metrics")).text
            if ours(text, BREACHES, "first_response") and ours(text, WARNINGS, "first_response"):
                break
            await asyncio.sleep(0.1)
    assert [(s.labels["tier"], s.value) for s in ours(text, BREACHES, "first_response")] == [("urgent", 1.0)]
    assert [(s.labels["tier"], s.value) for s in ours(text, WARNINGS, "first_response")] == [("urgent", 1.0)]
    (count,) = ours(text, TIMER_LATENESS + "_count", "first_response")
    assert count.value == 2  # the warning point and the deadline
    (late_ok,) = [
        s for s in ours(text, TIMER_LATENESS + "_bucket", "first_response") if s.labels["le"] == "2"
    ]
    assert late_ok.value == 2  # fired within 2 s of due on the time-skipping server

    buffer = MetricBuffer(1000)
    await Replayer(
        workflows=WORKFLOWS,
        data_converter=DATA_CONVERTER,
        runtime=Runtime(telemetry=TelemetryConfig(metrics=buffer)),
    ).replay_workflow(await run.handle.fetch_history())
    assert [u.metric.name for u in buffer.retrieve_updates() if u.metric.name.startswith("desk_")] == []


def _secrets_in(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


async def test_web_ui_surfaces_of_a_real_complaint_hold_no_customer_data(ts_env):
    """Without encryption: search attributes, memo, summaries (timers, activities, children) and current
    details are what the Web UI shows everyone; none may carry the customer's name, phone, e-mail or words."""
    details: list[str] = []

    async def read_details(handle):
        meta = await handle.query("__temporal_workflow_metadata")
        details.append(meta.current_details)

    run = await run_breached_complaint(ts_env, while_open=read_details)
    assert details and run.complaint.complaint_id in details[0] and _secrets_in(details[0]) == []

    history = await run.handle.fetch_history()
    _, payloads = _history_bytes_and_payloads(history)
    visible = [
        (path, p)
        for path, p in payloads
        if ".search_attributes." in path or "user_metadata" in path or ".memo." in path
    ]
    assert any("user_metadata" in path for path, _ in visible)  # summaries are there to be read …
    for path, p in visible:
        assert _secrets_in(p.data.decode("utf-8", "replace")) == [], path  # … without customer data
    # The customer's data is in the history (input, Update args) — which is why payloads are encrypted.
    raw, _ = _history_bytes_and_payloads(history)
    assert _secrets_in(raw.decode("utf-8", "replace")) != []
    # What the server reports for the run (the Web UI's "summary & details" page), read raw.
    desc = await ts_env.client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=ts_env.client.namespace, execution=WorkflowExecution(workflow_id=run.handle.id)
        )
    )
    assert _secrets_in(desc.SerializeToString().decode("utf-8", "replace")) == []


async def test_encrypted_real_complaint_shows_the_server_no_customer_data(ts_env):
    settings = Settings(codec_keys=SecretStr(generate_key("k1")))
    sealed = client_on(ts_env, data_converter=data_converter(settings))
    seen_by_plain_client: list[Exception] = []

    async def query_without_key(handle):
        try:
            await ts_env.client.get_workflow_handle(handle.id).query("state")
        except Exception as e:  # noqa: BLE001 - any failure to read is the point
            seen_by_plain_client.append(e)

    run = await run_breached_complaint(
        ts_env, starter=sealed, worker_client=sealed, while_open=query_without_key
    )
    assert seen_by_plain_client, "a client without the key read the complaint's state"

    history = await ts_env.client.get_workflow_handle(run.handle.id).fetch_history()
    raw, payloads = _history_bytes_and_payloads(history)
    plain = {path for path, p in payloads if p.metadata["encoding"] != ENCODING}
    # Left readable: search attributes (the server indexes them) and the SDK's own local-activity marker
    # metadata (activity id and type, times); the local activity's result in that marker is sealed.
    assert all(
        ".search_attributes." in path or ".marker_recorded_event_attributes." in path for path in plain
    ), plain
    assert any(
        ".marker_recorded_event_attributes." in path
        for path, p in payloads
        if p.metadata["encoding"] == ENCODING
    )
    assert _secrets_in(raw.decode("utf-8", "replace")) == []
    # The engineer with the key (the codec server) still reads everything back.
    view = await sealed.get_workflow_handle(run.handle.id, result_type=ComplaintView).result()
    assert view.customer.phone == "+86 138 0013 8000" and view.state == "cancelled"
