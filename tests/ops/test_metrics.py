"""Metric content: the SDK endpoint with the workflow's replay-safe business metrics, and prometheus_client's."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import structlog
import structlog.testing
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig
from temporalio.worker import Replayer, Worker

from core import metrics
from core.settings import Settings
from core.telemetry import ComplaintContextInterceptor, runtime_for
from core.temporal import DATA_CONVERTER, workflow_id_for
from domain.actions import Acknowledge
from domain.models import Actor, Role, State, Tier
from tests.ops.conftest import client_on, free_port, task_queue
from tests.ops.sample_workflow import SampleComplaintWorkflow, complaint, notify, start_attributes
from workers import open_complaints
from workflows.metrics import BREACHES, HISTOGRAM_BUCKETS, TIMER_LATENESS


def _samples(text: str, name: str) -> list:
    """Samples of one metric; the parser reports counters as `<name>_total` whatever the exposition says."""
    return [
        s
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name in (name, name + "_total")
    ]


async def _breach_then_ack(env, worker_client: Client, complaint_id: str):
    """Run the sample complaint past its first-response deadline, then acknowledge it."""
    tq = task_queue()
    c = complaint(complaint_id, tier=Tier.URGENT)
    async with Worker(worker_client, task_queue=tq, workflows=[SampleComplaintWorkflow], activities=[notify]):
        handle = await env.client.start_workflow(
            SampleComplaintWorkflow.run,
            c,
            id=workflow_id_for(complaint_id),
            task_queue=tq,
            search_attributes=start_attributes(c),
        )
        await env.sleep(timedelta(minutes=6))  # past the 5-minute first response
        await handle.execute_update(
            SampleComplaintWorkflow.acknowledge, Acknowledge(actor=Actor(id="zhang", role=Role.SPECIALIST))
        )
        await handle.result()
    return handle


async def test_breach_and_timer_lateness_reach_the_sdk_prometheus_endpoint_once(ts_env):
    bind = f"127.0.0.1:{free_port()}"
    runtime = runtime_for(Settings(sdk_metrics_bind=bind), HISTOGRAM_BUCKETS)
    assert runtime is not None
    worker_client = await Client.connect(
        ts_env.client.service_client.config.target_host,
        namespace=ts_env.client.namespace,
        data_converter=DATA_CONVERTER,
        runtime=runtime,
    )
    handle = await _breach_then_ack(ts_env, worker_client, "C-MET-1")

    def our_breaches(text: str) -> list:
        return [
            s
            for s in _samples(text, BREACHES)
            if s.labels["obligation"] == "first_response"
            and s.labels["workflow_type"] == "OpsSampleComplaint"
        ]

    async with httpx.AsyncClient() as http:
        for _ in range(100):  # the SDK hands recordings to its exporter asynchronously
            text = (await http.get(f"http://{bind}/metrics")).text
            if our_breaches(text):
                break
            await asyncio.sleep(0.1)
    breaches = our_breaches(text)
    assert [(s.labels["tier"], s.value) for s in breaches] == [("urgent", 1.0)]
    lateness = {
        s.labels["le"]: s.value
        for s in _samples(text, TIMER_LATENESS + "_bucket")
        if s.labels["obligation"] == "first_response"
    }
    # Our bucket overrides apply (seconds, not the SDK's millisecond defaults); the time-skipping server
    # fires the timer on the dot.
    assert lateness["0.05"] == 1.0 and lateness["+Inf"] == 1.0

    # Replaying the history (worker restart, cache eviction) must not count the breach again.
    buffer = MetricBuffer(1000)
    replay_runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    history = await handle.fetch_history()
    await Replayer(
        workflows=[SampleComplaintWorkflow], data_converter=DATA_CONVERTER, runtime=replay_runtime
    ).replay_workflow(history)
    assert [u for u in buffer.retrieve_updates() if u.metric.name == BREACHES] == []


def test_second_process_on_the_same_sdk_metrics_port_starts_without_metrics():
    port = free_port()
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert runtime_for(Settings(sdk_metrics_bind=f"127.0.0.1:{port}")) is None


def test_notification_and_intake_counters():
    before_failed = (
        REGISTRY.get_sample_value(
            "desk_notification_failures_total", {"channel": "sms", "reason": "rejected"}
        )
        or 0
    )
    metrics.notification_failed("sms", "rejected")
    metrics.notification_sent("email")
    assert (
        REGISTRY.get_sample_value(
            "desk_notification_failures_total", {"channel": "sms", "reason": "rejected"}
        )
        == before_failed + 1
    )
    assert REGISTRY.get_sample_value("desk_notifications_sent_total", {"channel": "email"}) >= 1


async def test_intake_latency_is_observed_when_a_complaint_workflow_starts(dev_env):
    # On the dev server: a workflow left without a worker on the time-skipping server stalls its clock for
    # every later test, even once terminated.
    before = REGISTRY.get_sample_value("desk_intake_latency_seconds_count", {"channel": "web"}) or 0
    client = client_on(dev_env, interceptors=[ComplaintContextInterceptor()])
    c = complaint(f"C-INTAKE-{uuid.uuid4().hex[:6]}")
    handle = await client.start_workflow(
        SampleComplaintWorkflow.run,
        c,
        id=workflow_id_for(c.complaint_id),
        task_queue=task_queue(),
        search_attributes=start_attributes(c),
    )
    await handle.terminate("test over")
    assert REGISTRY.get_sample_value("desk_intake_latency_seconds_count", {"channel": "web"}) == before + 1


async def test_open_complaints_gauge_counts_running_complaints_by_tier_and_state(dev_env):
    """Visibility on the real dev server (the time-skipping server has no count queries)."""
    tq = task_queue()  # no worker: the complaints stay running with their start attributes
    started = []
    for tier in (Tier.URGENT, Tier.URGENT, Tier.GENERAL):
        c = complaint(f"C-OPEN-{uuid.uuid4().hex[:6]}", tier=tier)
        started.append(
            await dev_env.client.start_workflow(
                SampleComplaintWorkflow.run,
                c,
                id=workflow_id_for(c.complaint_id),
                task_queue=tq,
                search_attributes=start_attributes(c),
            )
        )
    try:
        counts: dict = {}
        for _ in range(100):  # visibility is eventually consistent
            counts = await open_complaints.refresh_open_complaints(dev_env.client)
            if counts[("urgent", "received")] >= 2 and counts[("general", "received")] >= 1:
                break
            await asyncio.sleep(0.1)
        assert counts[("urgent", "received")] >= 2
        assert len(counts) == len(Tier) * len(open_complaints.OPEN_STATES)
        assert State.CLOSED.value not in {s for _, s in counts}
        assert (
            REGISTRY.get_sample_value("desk_open_complaints", {"tier": "urgent", "state": "received"})
            == counts[("urgent", "received")]
        )
    finally:
        for h in started:
            await h.terminate("test over")


def test_the_worker_says_once_when_open_complaints_outgrow_its_cache():
    watch = open_complaints.CacheWatch(1000)
    with structlog.testing.capture_logs() as logs:
        said = [watch.check(n) for n in (10, 1000, 1001, 5000, 999, 1200)]
    assert said == [False, False, True, False, False, True]  # on each crossing, not on every count
    warned = [e for e in logs if "exceed this worker's cache" in e["event"]]
    assert [(e["open"], e["cache"]) for e in warned] == [(1001, 1000), (1200, 1000)]
