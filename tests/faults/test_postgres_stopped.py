"""Stop PostgreSQL while complaints' obligations fall due: ledger writes and notifications retry and catch
up once it is back; nothing lost, nothing duplicated."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bench import histories
from core.temporal import workflow_id_for
from tests.faults.scenario import Scenario, all_sent, check_exactly_once, wait_for

pytestmark = pytest.mark.slow

K = 20
WINDOW = 16.0  # warning at 12 s, breach at 16 s after intake


async def test_postgres_down_across_the_deadlines_ledger_and_notifications_catch_up_once(
    product_factory, fault_pg, show
):
    product = await product_factory()
    scenario = Scenario(product, window=WINDOW, k=K)
    await scenario.start()
    await wait_for(
        lambda: all_sent(product, [f"{cid}:confirmation" for cid in scenario.cids]),
        timeout=120,
        what="every confirmation to be sent",
    )
    events_before = await product.pool.fetchval(
        "SELECT count(*) FROM timeline_events WHERE complaint_id = ANY($1::text[])", scenario.cids
    )

    # Down from before the warning until after the breach: both waves meet a dead ledger and outbox.
    await scenario.sleep_until(scenario.warn_at - timedelta(seconds=2))
    await asyncio.to_thread(fault_pg.stop)
    stopped_at = datetime.now(UTC)
    await scenario.sleep_until(scenario.due_at + timedelta(seconds=3))
    await asyncio.to_thread(fault_pg.start)
    started_at = datetime.now(UTC)
    down = (started_at - stopped_at).total_seconds()

    await wait_for(
        lambda: all_sent(product, scenario.keys()), timeout=180, what="every due notification to be sent"
    )

    async def ledger_caught_up() -> bool:
        n = await product.pool.fetchval(
            "SELECT count(*) FROM timeline_events WHERE complaint_id = ANY($1::text[]) AND kind = 'sla_breach'",
            scenario.cids,
        )
        return n >= K

    await wait_for(ledger_caught_up, timeout=120, what="the ledger to record every breach")
    rows = await product.pool.fetchval(
        "SELECT count(*) FROM complaints WHERE complaint_id = ANY($1::text[])", scenario.cids
    )
    events_after = await product.pool.fetchval(
        "SELECT count(*) FROM timeline_events WHERE complaint_id = ANY($1::text[])", scenario.cids
    )
    # The outage must really have been met: what the workflows did while it lasted reached the ledger later.
    during = await product.pool.fetchval(
        "SELECT count(*) FROM timeline_events WHERE complaint_id = ANY($1::text[]) AND at BETWEEN $2 AND $3",
        scenario.cids,
        stopped_at,
        started_at,
    )
    hist = await histories.fetch_all(product.client, [workflow_id_for(c) for c in scenario.cids])
    retried = sum((histories.retries(evs) for evs in hist.values()), Counter())
    dues = {
        f"{r['complaint_id']}:breach:first_response:1": r["due_at"]
        for r in await product.pool.fetch(
            "SELECT complaint_id, due_at FROM obligations WHERE complaint_id = ANY($1::text[])"
            " AND name = 'first_response' AND occurrence = 1",
            scenario.cids,
        )
    }
    breaches = [a for wid, evs in hist.items() for a in histories.keyed_actions(wid, evs, dues)]
    late = max((a.started_late_s or 0.0) for a in breaches) if breaches else None
    checked = await check_exactly_once(product, scenario)
    show(
        checked.line("PostgreSQL stopped across the deadlines")
        + f"; down {down:.1f} s, {rows}/{K} complaint rows, timeline events {events_before} → {events_after},"
        f" {during} timeline events stamped during the outage written after it,"
        f" activity retries: {dict(retried) or 'none'}; breach notifications started at most {late:.1f} s after"
        " their due moment (the workflow waits for its ledger write before it goes on)"
    )
    assert during > 0  # written while the ledger was down, caught up after (completeness: check_exactly_once)
    assert len(breaches) == K
    assert rows == K
    assert checked.problems == []
    assert checked.notifications == K * 5
