"""SIGKILL the Temporal dev server while complaints wait on their clocks, start it again on the same data:
no complaint lost, every clock keeps its due moment, nothing fires early, every due action happens once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench import histories
from core.temporal import workflow_id_for
from tests.faults.scenario import Scenario, all_sent, check_exactly_once, wait_for

pytestmark = pytest.mark.slow

K = 20
WINDOW = 16.0  # warning at 12 s, breach at 16 s after intake


async def test_dev_server_killed_and_restarted_loses_no_complaint_and_keeps_every_clock(
    product_factory, show
):
    product = await product_factory()
    scenario = Scenario(product, window=WINDOW, k=K)
    await scenario.start()

    async def intake_done() -> bool:
        keys = [f"{cid}:confirmation" for cid in scenario.cids]
        return await all_sent(product, keys)

    await wait_for(intake_done, timeout=120, what="every confirmation to be sent")
    before = {
        (r["complaint_id"], r["name"]): (r["warn_at"], r["due_at"])
        for r in await product.pool.fetch(
            "SELECT complaint_id, name, warn_at, due_at FROM obligations WHERE complaint_id = ANY($1::text[]) AND occurrence = 1",
            scenario.cids,
        )
    }
    assert len(before) >= K, "every complaint has its clocks in the ledger before the crash"

    # Down across the warning moment: the timers must fire when it is back, not be lost, not fire early.
    product.server.kill()
    killed_at = datetime.now(UTC)
    await scenario.sleep_until(scenario.warn_at)
    await product.restart_server(kill=False)
    restarted_at = datetime.now(UTC)

    await wait_for(
        lambda: all_sent(product, scenario.keys()), timeout=180, what="every due notification to be sent"
    )

    # No complaint lost: each workflow is still there and running, on the restarted server.
    running = 0
    for cid in scenario.cids:
        desc = await product.client.get_workflow_handle(workflow_id_for(cid)).describe()
        running += desc.status is not None and desc.status.name == "RUNNING"
    # Clocks still right: the due moments did not move, and no warning or breach came before its moment.
    after = {
        (r["complaint_id"], r["name"]): (r["warn_at"], r["due_at"])
        for r in await product.pool.fetch(
            "SELECT complaint_id, name, warn_at, due_at FROM obligations WHERE complaint_id = ANY($1::text[]) AND occurrence = 1",
            scenario.cids,
        )
    }
    moved = [k for k, v in before.items() if k in after and after[k] != v]
    due_by_key = {}
    for (cid, name), (warn, due) in after.items():
        if name == "first_response":
            due_by_key[f"{cid}:warn:first_response:1"] = warn
            due_by_key[f"{cid}:breach:first_response:1"] = due
    events = await histories.fetch_all(product.client, [workflow_id_for(c) for c in scenario.cids])
    actions = [a for wid, evs in events.items() for a in histories.keyed_actions(wid, evs, due_by_key)]
    early = [a for a in actions if a.first_action_started is not None and a.first_action_started < a.due]

    checked = await check_exactly_once(product, scenario)
    show(
        checked.line("dev server SIGKILLed and restarted")
        + f"; {running}/{K} workflows running after the restart, {len(before)} clocks compared ({len(moved)} moved),"
        f" {len(actions)} warning/breach actions timed ({len(early)} early); down {(restarted_at - killed_at).total_seconds():.1f} s"
    )
    assert running == K
    assert moved == []
    assert len(actions) == 2 * K
    assert early == []
    assert checked.problems == []
    assert checked.notifications == K * 5
