"""SIGKILL the worker while complaints' obligations fall due; a new worker finishes the job: every due action
happens once, none twice."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.faults.scenario import Scenario, all_sent, check_exactly_once, wait_for

pytestmark = pytest.mark.slow

K = 20
WINDOW = 12.0  # first response due 12 s after intake, warning at 9 s


async def test_worker_killed_mid_wave_every_due_action_happens_once(product_factory, show):
    product = await product_factory()
    scenario = Scenario(product, window=WINDOW, k=K)
    await scenario.start()

    # Kill the worker the moment the warning wave has begun: some warnings sent, others in flight.
    async def warnings_started() -> bool:
        return bool(
            await product.pool.fetchval(
                "SELECT count(*) FROM notifications WHERE notification_key LIKE '%:warn:first_response:1'"
            )
        )

    await wait_for(warnings_started, timeout=120, what="the first warning notifications")
    product.worker.kill()
    # What was being sent at that instant is the only thing a keyless channel may repeat.
    in_flight = await product.pool.fetch(
        "SELECT complaint_id, channel FROM notifications WHERE status = 'sending' AND complaint_id = ANY($1::text[])",
        scenario.cids,
    )
    crash_window = Counter((r["complaint_id"], r["channel"]) for r in in_flight)
    sent_before = await product.pool.fetchval("SELECT count(*) FROM notifications WHERE status = 'sent'")

    # The breach moment passes with no worker at all; then a new worker process takes over.
    await scenario.sleep_until(scenario.due_at)
    await product.start_worker()
    await wait_for(
        lambda: all_sent(product, scenario.keys()), timeout=180, what="every due notification to be sent"
    )

    checked = await check_exactly_once(product, scenario, crash_window=crash_window)
    show(
        checked.line("worker SIGKILLed mid-wave")
        + f" ({len(in_flight)} deliveries in flight at the kill, {sent_before} sent before it)"
    )
    assert checked.problems == []
    assert checked.notifications == K * 5
    assert product.worker.starts == 2
