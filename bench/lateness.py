"""Timer lateness of the real product: N open complaints whose obligations fall due at the same instant.

The real worker (`python -m desk worker`), ledger, notification outbox and sinks run as in `desk up`. Each
complaint is started the way intake starts it (same workflow, search attributes, summary), with
`received_at` = one common moment T0 and the `standard` policy scaled so that the first-response window is
W seconds, around the clock (`domain.policy.scaled`, passed as the workflow's `ComplaintOptions.policy`).
So every complaint has its first-response *warning* at T0 + 0.75·W and its *breach* at T0 + W: two waves
of N obligations due at the same instant, each answered by notifications (warning; breach + escalation)
and a ledger write.

W is chosen from a calibration batch so that all N complaints are started and settled (intake
notifications sent, ledger written) before the first wave; the report says how many really were.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from bench import histories, wave
from bench.complaints import complaint_input, policy_with_window, start_complaint
from bench.histories import WakeUp
from bench.processes import Postgres
from bench.progress import Progress
from bench.stats import summary


class NotReady(Exception):
    """A part of the product this measurement needs is not written yet."""


def require(*modules: str) -> None:
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            raise NotReady(f"{name} is missing ({e.name})") from e


CALIBRATION = 200  # complaints in the calibration batch (fewer when N is small)


def _pids(product) -> list[int]:
    pids = [
        *(product.worker.pids if product.worker else []),
        *([product.server.pid] if product.server.pid else []),
    ]
    if product.pg and product.pg.pid:
        pids.append(product.pg.pid)
        with_children = psutil.Process(product.pg.pid).children(recursive=True)
        pids += [c.pid for c in with_children]
    return pids


async def settled(
    product, *, complaints: int, kind: str | None = None, events: int = 0, timeout: float
) -> bool:
    """Until the ledger has `complaints` rows (and `events` timeline events of `kind`), no notification is
    still queued, sending or failed, and the worker, server and database have gone quiet."""
    assert product.pool is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = await product.pool.fetchval("SELECT count(*) FROM complaints")
        pending = await product.pool.fetchval(
            "SELECT count(*) FROM notifications WHERE status IN ('queued', 'sending', 'failed')"
        )
        have = (
            await product.pool.fetchval("SELECT count(*) FROM timeline_events WHERE kind = $1", kind)
            if kind
            else 0
        )
        if n >= complaints and pending == 0 and have >= events:
            left = max(5.0, deadline - time.monotonic())
            if await wave.wait_quiet(_pids(product), quiet_cpu=8.0, quiet_for=2.0, timeout=left):
                return True
        await asyncio.sleep(1.0)
    return False


async def calibrate(product, progress: Progress, k: int) -> float:
    """Seconds per complaint to start and settle (intake notifications, ledger), from a batch that is
    terminated afterwards."""
    assert product.client is not None
    far = policy_with_window(3600)
    t0 = datetime.now(UTC)
    tag = uuid.uuid4().hex[:6]
    task = progress.add(f"calibrate: {k} complaints", k)
    start = time.monotonic()
    _, _ = await wave.start_all(
        k,
        lambda i: start_complaint(
            product.client, product.task_queue, complaint_input(f"CAL-{tag}-{i}", t0), far
        ),
        concurrency=32,
        worker=None,
        on_started=lambda: progress.advance(task),
    )
    ok = await settled(product, complaints=k, timeout=300)
    per = (time.monotonic() - start) / k
    progress.done(task)
    if not ok:
        raise RuntimeError("calibration batch did not settle in 5 minutes; see the worker log")
    from core.temporal import workflow_id_for

    await asyncio.gather(
        *(
            product.client.get_workflow_handle(workflow_id_for(f"CAL-{tag}-{i}")).terminate(
                "calibration done"
            )
            for i in range(k)
        )
    )
    await product.pool.execute("DELETE FROM complaints")  # the wave counts its own rows
    await product.pool.execute("DELETE FROM notifications")
    return per


async def run(
    n: int,
    workdir: Path,
    progress: Progress,
    *,
    workers: int = 1,
    pg: Postgres | None = None,
) -> dict:
    require(
        "workflows.complaint", "workflows.registry", "activities.registry", "standins.http", "workers.main"
    )
    from bench.product import Product
    from core.temporal import workflow_id_for

    # Warnings only: the worker's per-activity info lines would be a cost of the benchmark, not the product.
    product = Product(workdir, pg=pg, env={"DESK_LOG_LEVEL": "WARNING"}, workers=workers)
    load_before = os.getloadavg()
    await product.start(worker=True)
    try:
        assert product.client is not None and product.worker is not None
        per = await calibrate(product, progress, min(CALIBRATION, max(20, n // 5)))
        # The warning wave (0.75·W) must come after all N are started and settled, with a margin.
        settle_estimate = per * n
        window = max(20.0, (settle_estimate * 1.5 + 15) / 0.75)
        policy = policy_with_window(window)
        t0 = datetime.now(UTC)
        warn_at, due_at = t0 + timedelta(seconds=0.75 * window), t0 + timedelta(seconds=window)
        tag = uuid.uuid4().hex[:6]
        cids = [f"B-{tag}-{i}" for i in range(n)]

        task = progress.add(f"complaints N={n}: start (W={window:.0f}s)", n)
        cpu0, clock0 = product.cpu_seconds(), time.monotonic()
        start_s, memory = await wave.start_all(
            n,
            lambda i: start_complaint(
                product.client, product.task_queue, complaint_input(cids[i], t0), policy
            ),
            concurrency=32,
            worker=product.worker,
            on_started=lambda: progress.advance(task),
        )
        progress.done(task)
        progress.log(f"complaints N={n}: started in {start_s:.0f} s ({n / start_s:.0f}/s)")
        task = progress.add(f"complaints N={n}: settle intake work", None)
        settled_in_time = await settled(
            product, complaints=n, timeout=max(10.0, (warn_at - datetime.now(UTC)).total_seconds())
        )
        settled_at = datetime.now(UTC)
        cpu1, clock1 = product.cpu_seconds(), time.monotonic()
        rss_settled = product.worker.rss_bytes()
        memory.append((n, rss_settled))
        progress.done(task)
        progress.log(f"complaints N={n}: settled; waves at {warn_at:%H:%M:%S} and {due_at:%H:%M:%S} UTC")

        task = progress.add(f"complaints N={n}: waves at +{0.75 * window:.0f}s and +{window:.0f}s", None)
        await wave.sleep_until(due_at)
        waves_ok = await settled(
            product, complaints=n, kind="sla_breach", events=n, timeout=max(600.0, n * 0.5)
        )
        progress.done(task)
        rss_after = product.worker.rss_bytes()
        cpu2, clock2 = product.cpu_seconds(), time.monotonic()

        # The due moments the workflow itself recorded in the ledger, per complaint.
        rows = await product.pool.fetch(
            "SELECT complaint_id, warn_at, due_at FROM obligations WHERE name = 'first_response' AND occurrence = 1"
        )
        warn_keys = {f"{r['complaint_id']}:warn:first_response:1": r["warn_at"] for r in rows}
        due_keys = {f"{r['complaint_id']}:breach:first_response:1": r["due_at"] for r in rows}
        keys = {**warn_keys, **due_keys}
        ids = [workflow_id_for(c) for c in cids]
        task = progress.add(f"complaints N={n}: read histories", n)
        events = await histories.fetch_all(product.client, ids, on_done=lambda: progress.advance(task))
        progress.done(task)
        actions = [a for wid, evs in events.items() for a in histories.keyed_actions(wid, evs, keys)]
        warn_wakes = [a for a in actions if a.timer_id in warn_keys]
        due_wakes = [a for a in actions if a.timer_id in due_keys]
        idle = sum(histories.idle_wake_ups(evs) for evs in events.values())
        wave_tasks, wave_timeouts, wave_failures = [], Counter(), 0
        failure_causes = sum((histories.task_failures(evs) for evs in events.values()), Counter())
        for evs in events.values():
            d, t, f = histories.workflow_tasks(evs, since=warn_at - timedelta(seconds=1))
            wave_tasks += d
            wave_timeouts += t
            wave_failures += f
        recorded = sorted({r["due_at"] for r in rows})
        delivered = await _breach_delivered(product.pool, warn_at)
        result = wave.WaveResult(
            n=n,
            due=due_at,
            start_seconds=start_s,
            start_rate=n / start_s,
            started_before_due=wave.timers_set_before(events, warn_at),
            wake_ups=due_wakes,
            memory=memory,
            rss_after_wave=rss_after,
        )
        dones = [w.actions_done for w in due_wakes if w.actions_done]
        if dones:
            result.drain_seconds = round((max(dones) - min(w.due for w in due_wakes)).total_seconds(), 3)
        warn_result = wave.WaveResult(
            n=n,
            due=warn_at,
            start_seconds=start_s,
            start_rate=n / start_s,
            started_before_due=result.started_before_due,
            wake_ups=warn_wakes,
        )
        wdones = [w.actions_done for w in warn_wakes if w.actions_done]
        if wdones:
            warn_result.drain_seconds = round(
                (max(wdones) - min(w.due for w in warn_wakes)).total_seconds(), 3
            )
        if recorded and (recorded[-1] - recorded[0]).total_seconds() > 0.001:
            result.notes.append(
                f"the workflows recorded first-response due moments spread over {(recorded[-1] - recorded[0]).total_seconds():.3f} s "
                f"(from {recorded[0].isoformat()} to {recorded[-1].isoformat()}; the bench asked for {due_at.isoformat()})"
            )
        if idle:
            result.notes.append(
                f"{idle} timer firings woke a workflow that then did nothing but set another timer "
                "(its own clock said the moment had not come yet)"
            )
        if not settled_in_time:
            result.notes.append(
                f"intake work was still running when the warning wave came (settled {settled_at.isoformat()}): "
                "the waves measure a machine still busy with intake"
            )
        if not waves_ok:
            result.notes.append("the breach wave had not fully settled when histories were read")
        if len(due_wakes) != n:
            result.notes.append(f"{len(due_wakes)} breach wake-ups found for {n} complaints")
        if len(warn_wakes) != n:
            result.notes.append(f"{len(warn_wakes)} warning wake-ups found for {n} complaints")
        out = result.to_json()
        out.update(
            {
                "window_s": round(window, 1),
                "calibration_s_per_complaint": round(per, 4),
                "settled_before_warning": settled_in_time,
                "rss_settled_mib": round(rss_settled / 2**20, 1),
                "warning_wave": {
                    "wake_ups": len(warn_wakes),
                    "lateness": warn_result.lateness(),
                    "drain_seconds": warn_result.drain_seconds,
                },
                "breach_delivered": delivered,
                "actions_per_breach": _actions(due_wakes),
                "actions_per_warning": _actions(warn_wakes),
                "idle_wake_ups": idle,
                "wave_workflow_tasks_s": summary(wave_tasks),
                "wave_workflow_task_timeouts": sum(wave_timeouts.values()),
                "wave_workflow_task_timeouts_by_kind": dict(wave_timeouts),
                "wave_workflow_task_failures": wave_failures,
                "workflow_task_failure_causes": dict(failure_causes.most_common(5)),
                "cpu_seconds": {
                    "intake": cpu_phase(cpu0, cpu1, clock1 - clock0),
                    "waves": cpu_phase(cpu1, cpu2, clock2 - clock1),
                },
                "worker_settings": worker_settings(),
                "workers": workers,
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            }
        )
        return out
    finally:
        await product.stop()


async def _breach_delivered(pool, since) -> dict[str, object]:
    """When the breach message reached each channel, from the outbox (`sent_at` − the recorded due moment):
    the robots' part goes out through the relay (paced to the robots' 20 a minute, digested), after the
    step; and how many robot messages carried the waves."""
    from activities.notifications.routing import ROBOTS

    rows = await pool.fetch(
        "SELECT n.channel, extract(epoch FROM n.sent_at - o.due_at) AS late"
        "  FROM notifications n JOIN obligations o"
        "    ON o.complaint_id = n.complaint_id AND o.name = 'first_response' AND o.occurrence = 1"
        " WHERE n.notification_key = n.complaint_id || ':breach:first_response:1' AND n.sent_at IS NOT NULL"
    )
    robots = [float(r["late"]) for r in rows if r["channel"] in ROBOTS]
    others = [float(r["late"]) for r in rows if r["channel"] not in ROBOTS]
    messages = await pool.fetch(
        "SELECT channel, count(*) AS n FROM sink_messages"
        " WHERE channel = ANY($2::text[]) AND received_at >= $1 GROUP BY channel",
        since,
        list(ROBOTS),
    )
    return {
        "lateness": {"robot_s": summary(robots), "other_channels_s": summary(others)},
        "robot_messages_in_waves": {r["channel"]: r["n"] for r in messages},
    }


def worker_settings() -> dict[str, object]:
    """The worker's tuning as its process resolves it (DESK_WORKER_* in this environment, else defaults)."""
    from core.settings import Settings

    s = Settings(_env_file=None)
    return {k: v for k, v in s.model_dump().items() if k.startswith("worker_")}


def cpu_phase(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, float]:
    """CPU seconds each part used in a phase, and the phase's wall-clock seconds (2 cores: 2 × wall max)."""
    out = {k: round(after.get(k, 0.0) - before.get(k, 0.0), 1) for k in after}
    out["wall"] = round(wall, 1)
    return out


def _actions(wakes: list[WakeUp]) -> dict[str, float]:
    """Activities run in answer to one wake-up, on average, by type."""
    if not wakes:
        return {}
    counts: dict[str, int] = {}
    for w in wakes:
        for t in w.action_types:
            counts[t] = counts.get(t, 0) + 1
    return {k: round(v / len(wakes), 2) for k, v in sorted(counts.items())}
