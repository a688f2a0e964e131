"""Duplicate sends after a real crash: a worker process is killed in the middle of `notify`, Temporal retries
the activity on another worker, and each recipient still holds exactly one message.

Setup: the workflow (time-skipping server) runs `notify` on a queue polled first by `crash_worker.py`, a
separate process that exits hard at the chosen point; once it is dead, an in-process worker takes the queue.
The activity's start-to-close timeout (4 s, real time: the test server does not skip time while an activity
is outstanding) is what makes Temporal retry.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.worker import Worker

from domain.messages import Audience, Notification, TemplateKey

from .notify_workflow import NotifyOnce

ROOT = Path(__file__).resolve().parents[2]
ORDER = ["sms", "email", "push"]  # the order the notifier delivers a customer's channels in
CUSTOMER = {"name": "Alex", "phone": "+8613800000000", "email": "alex@example.com"}


def note() -> Notification:
    return Notification(
        idempotency_key="C-9/result",
        complaint_id="C-9",
        template=TemplateKey.RESULT,
        audience=Audience.CUSTOMER,
        context={
            "customer": CUSTOMER,
            "channel": "app",
            "status_token": "tok-9",
            "cause": "c",
            "solution": "s",
        },
    )


async def run_with_crash(ts_env, standins, ledger_url, notifier, crash: str):
    settings = standins.settings().model_dump(
        include={
            "sms_url",
            "push_url",
            "wecom_webhook_url",
            "dingtalk_webhook_url",
            "smtp_host",
            "smtp_port",
            "public_base_url",
        }
    )
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    cfg = {
        "target": ts_env.client.service_client.config.target_host,
        "namespace": ts_env.client.namespace,
        "queue": f"{queue}-activities",
        "database_url": ledger_url,
        "settings": settings,
        "crash": crash,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.activities.crash_worker",
        json.dumps(cfg),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"polling\n"
        async with Worker(ts_env.client, task_queue=queue, workflows=[NotifyOnce]):
            handle = await ts_env.client.start_workflow(
                NotifyOnce.run, args=[note(), f"{queue}-activities", 4.0], id=f"wf-{queue}", task_queue=queue
            )
            assert await asyncio.wait_for(proc.wait(), 60) == 3, "the worker did not die where it was told to"
            before = {r["channel"]: r for r in await standins.outbox("C-9/result")}
            async with Worker(ts_env.client, task_queue=f"{queue}-activities", activities=[notifier.notify]):
                result = await handle.result()
        return before, result
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("channel", ["sms", "email"])
async def test_killed_after_the_provider_accepted_the_recipient_still_gets_one_message(
    ts_env, standins, ledger_url, notifier, channel
):
    before, result = await run_with_crash(ts_env, standins, ledger_url, notifier, f"after_send:{channel}")
    # The crash left the delivery unrecorded although the provider had it.
    assert before[channel]["status"] == "sending"
    assert len(await standins.sink("C-9", channel)) == 1

    assert sorted(result.delivered) == ["email", "push", "sms"] and not result.duplicate
    sink = await standins.sink("C-9")
    assert sorted(r["channel"] for r in sink) == ["email", "push", "sms"]  # one message each, as seen
    deliveries = {r["channel"]: r["deliveries"] for r in sink}
    assert deliveries[channel] >= 2  # the retry did resend — with the same key, and the receiver collapsed it
    outbox = {r["channel"]: r for r in await standins.outbox("C-9/result")}
    assert {r["status"] for r in outbox.values()} == {"sent"}
    assert outbox[channel]["attempts"] >= 2
    for settled in ORDER[: ORDER.index(channel)]:  # sent and recorded before the crash: never touched again
        assert (deliveries[settled], outbox[settled]["attempts"]) == (1, 1)


async def test_killed_after_recording_but_before_reporting_sends_nothing_again(
    ts_env, standins, ledger_url, notifier
):
    before, result = await run_with_crash(ts_env, standins, ledger_url, notifier, "before_completion")
    assert {r["status"] for r in before.values()} == {"sent"}
    assert result.duplicate and sorted(result.delivered) == ["email", "push", "sms"]
    assert [r["deliveries"] for r in await standins.sink("C-9")] == [1, 1, 1]  # no provider was called again
