"""The record_step activity against the real ledger and stand-ins: the step's ledger batch, then each of its
notifications tried once; one that does not settle is deferred (to the retrying notify activity), never lost."""

from __future__ import annotations

import asyncio
import time

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from temporalio.testing import ActivityEnvironment

from activities.ledger import LedgerWriter
from activities.notifications.channels import JsonSmsChannel
from activities.notifications.notifier import Notifier
from activities.step import StepRecorder
from domain.messages import StepWrite
from standins.http import serve

from .factories import batch, event, view
from .test_notify import customer_note


async def test_a_step_writes_its_batch_and_sends_its_notifications_in_one_call(notifier, standins):
    step = StepRecorder(LedgerWriter(standins.pool), notifier)
    sms_only = customer_note("C-1/confirmation", customer={"name": "张三", "phone": "+86 138 0000 0000"})
    result = await ActivityEnvironment().run(
        step.record_step, StepWrite(ledger=batch(view("C-1"), event("C-1", 0)), notifications=[sms_only])
    )
    assert result.new_events == 1 and result.settled == ["C-1/confirmation"] and result.deferred == []
    assert [r["channel"] for r in await standins.sink("C-1")] == ["sms"]
    async with standins.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM timeline_events WHERE complaint_id = 'C-1'") == 1

    # The same step again (a retried attempt): nothing new in the ledger, nothing sent twice.
    again = await ActivityEnvironment().run(
        step.record_step, StepWrite(ledger=batch(view("C-1"), event("C-1", 0)), notifications=[sms_only])
    )
    assert again.new_events == 0 and again.settled == ["C-1/confirmation"]
    assert [(r["channel"], r["deliveries"]) for r in await standins.sink("C-1")] == [("sms", 1)]


async def test_a_notification_that_does_not_settle_is_deferred_and_the_others_still_go(notifier, standins):
    step = StepRecorder(LedgerWriter(standins.pool), notifier)
    greylisted = customer_note("C-1/update", customer={"name": "X", "email": "x@greylist.example.com"})
    fine = customer_note("C-1/confirmation", customer={"name": "张三", "phone": "+86 138 0000 0000"})
    result = await ActivityEnvironment().run(
        step.record_step, StepWrite(ledger=None, notifications=[greylisted, fine])
    )
    assert result.deferred == ["C-1/update"] and result.settled == ["C-1/confirmation"]
    assert (await standins.outbox("C-1/update"))[0]["status"] == "failed"  # the retry sends it
    assert [r["channel"] for r in await standins.sink("C-1")] == ["sms"]


async def test_a_provider_that_hangs_is_deferred_after_the_budget_not_its_timeout(standins, http):
    """The step holds its workflow task: a slow provider is left to the retrying activity after the step's
    budget, while the attempt itself is not cut off (a robot would get a resend twice)."""
    provider = FastAPI()

    @provider.post("/sms")
    async def hanging_sms() -> JSONResponse:
        await asyncio.sleep(4)
        return JSONResponse({"id": "late"})

    async with serve(provider) as provider_url:
        notifier = Notifier(standins.pool, {"sms": JsonSmsChannel(http, f"{provider_url}/sms")})
        step = StepRecorder(LedgerWriter(standins.pool), notifier, budget_s=0.5)
        started = time.monotonic()
        result = await ActivityEnvironment().run(step.record_step, StepWrite(notifications=[customer_note()]))
        waited = time.monotonic() - started
        assert result.deferred == ["C-1/confirmation"] and waited < 2  # not the provider's 4 s
        assert (await standins.outbox("C-1/confirmation"))[0]["status"] == "sending"
        # Not cut off: the attempt goes on (holding the delivery's lock against the retry) and settles it.
        await step.finish_unwaited()
    assert (await standins.outbox("C-1/confirmation"))[0]["status"] == "sent"
