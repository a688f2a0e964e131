"""Sustained rate: deadlines falling due at a steady r per second among many open complaints.

A population of open complaints (10,000 by default) is started once. A subset has its first-response
deadlines spread at a steady rate, one band after another (e.g. 5, 10, 20, 40 per second for 60 s each);
the rest are due far later, so they stay open and pass through the worker's sticky cache as in real load
(band members are scattered through the start order, so a woken complaint is as likely evicted as in
production). Lateness is measured as in the burst (bench/lateness.py): the notification done (its
`record_step` local activity completed, or its `notify` activity) in the history − the due moment the workflow recorded in the ledger, per band.
The engine floor does the same with bare workflows (bench/bare.py) at the same rates.

A complaint's deadlines are `received_at` + its policy's windows, so every moment is fixed when it is
started. Every band complaint has the same first-response window W (`standard`, scaled) and
`received_at` = its breach moment − W. The policy's warning ratio is raised to WARN_RATIO so the warning
falls (1 − WARN_RATIO)·W before the breach; W is chosen so that

    t0 ── start + settle (lead) ── warning bands ── gap ── breach bands
                                  └──── (1 − WARN_RATIO)·W ────┘

the warning bands end a gap (as long as the bands, for their backlog to drain) before the breach bands
begin, and every `received_at` lies before t0. Warnings and breaches are each measured on their own; the
breach bands are the figure the report leads with.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import bare, histories, wave
from bench.complaints import complaint_input, policy_with_window, start_complaint
from bench.floor import ASSUMED_START_RATE, TASK_QUEUE, bare_stack
from bench.histories import WakeUp
from bench.lateness import CALIBRATION, calibrate, cpu_phase, require, settled, worker_settings
from bench.progress import Progress
from bench.stats import summary
from core.temporal import workflow_id_for

WARN_RATIO = 0.95  # warning this share of W after intake: (1 − 0.95)·W before the breach
P99_LIMIT_S = 1.0  # the bar: the highest rate whose breach notifications are done p99 <= 1 s
SEED = 15  # the band members' places in the start order (issue 15): the same in every run


@dataclass(frozen=True)
class Band:
    """`rate` deadlines per second for `seconds`, starting `offset` seconds after the first band."""

    rate: float
    offset: float
    seconds: float

    @property
    def count(self) -> int:
        return max(1, round(self.rate * self.seconds))

    def due(self, k: int) -> float:
        """Seconds after the first band's start at which this band's k-th deadline falls due."""
        return self.offset + k / self.rate


def plan_bands(rates: Sequence[float], seconds: float) -> list[Band]:
    """One band per rate, back to back, in the order given."""
    if not rates or any(r <= 0 for r in rates) or seconds <= 0:
        raise ValueError("rates and seconds must be positive")
    return [Band(rate=r, offset=i * seconds, seconds=seconds) for i, r in enumerate(rates)]


def span(bands: Sequence[Band]) -> float:
    return bands[-1].offset + bands[-1].seconds if bands else 0.0


def assign(open_n: int, bands: Sequence[Band], seed: int = SEED) -> list[tuple[int, int] | None]:
    """For each of `open_n` workflows in start order: (band, k) for a band member, None for one due far
    later. Band members are scattered through the start order, in a fixed pseudo-random way."""
    slots: list[tuple[int, int] | None] = [(b, k) for b, band in enumerate(bands) for k in range(band.count)]
    if len(slots) > open_n:
        raise ValueError(
            f"the bands need {len(slots):,} deadlines but only {open_n:,} complaints are open; "
            "raise --open or lower --rates / --rate-seconds"
        )
    slots += [None] * (open_n - len(slots))
    random.Random(seed).shuffle(slots)
    return slots


def window_for(lead: float, bands: Sequence[Band], gap: float) -> float:
    """First-response window W: every received_at (= breach − W) before t0, and the warning bands
    ending `gap` seconds before the breach bands begin."""
    s = span(bands)
    return max((lead + s) / WARN_RATIO, (s + gap) / (1 - WARN_RATIO))


def band_figures(
    bands: Sequence[Band], wakes_by_band: dict[int, list[WakeUp]], first: datetime
) -> list[dict]:
    """Per band: its rate, how many deadlines it had and were measured, and their lateness."""
    out = []
    for b, band in enumerate(bands):
        wakes = wakes_by_band.get(b, [])
        out.append(
            {
                "rate_per_s": band.rate,
                "seconds": band.seconds,
                "from": (first + timedelta(seconds=band.offset)).isoformat(),
                "due": band.count,
                "measured": sum(1 for w in wakes if w.done_late_s is not None),
                "lateness": wave.lateness_of(wakes),
            }
        )
    return out


def highest_rate_within(bands: list[dict], limit: float = P99_LIMIT_S) -> float | None:
    """The highest rate at which it, and every lower rate, had every deadline measured and the action
    done p99 <= limit; None when even the lowest did not."""
    best = None
    for band in sorted(bands, key=lambda b: b["rate_per_s"]):
        p99 = (band.get("lateness", {}).get("action_done_s") or {}).get("p99")
        if p99 is None or band.get("measured") != band.get("due") or p99 > limit:
            break
        best = band["rate_per_s"]
    return best


def _group(wakes: list[WakeUp], band_of: dict[str, int]) -> dict[int, list[WakeUp]]:
    out: dict[int, list[WakeUp]] = {}
    for w in wakes:
        out.setdefault(band_of[w.workflow_id], []).append(w)
    return out


def _summary_of_run(bands: list[dict], *, open_n: int, rates: Sequence[float], seconds: float) -> dict:
    return {
        "open": open_n,
        "rates_per_s": list(rates),
        "rate_seconds": seconds,
        "bands": bands,
        "highest_rate_p99_within_1s": highest_rate_within(bands),
    }


async def run(
    open_n: int,
    rates: Sequence[float],
    seconds: float,
    workdir: Path,
    progress: Progress,
    *,
    workers: int = 1,
) -> dict:
    """Our complaints: `open_n` open, breach (and, earlier, warning) deadlines in bands at `rates`."""
    require(
        "workflows.complaint", "workflows.registry", "activities.registry", "standins.http", "workers.main"
    )
    from bench.product import Product

    bands = plan_bands(rates, seconds)
    slots = assign(open_n, bands)
    members = sum(1 for s in slots if s is not None)
    gap = span(bands)  # as long as the bands: the warning backlog drains before the breaches begin
    product = Product(workdir, env={"DESK_LOG_LEVEL": "WARNING"}, workers=workers)
    load_before = os.getloadavg()
    await product.start(worker=True)
    try:
        assert product.client is not None and product.worker is not None and product.pool is not None
        per = await calibrate(product, progress, min(CALIBRATION, max(20, open_n // 5)))
        lead = per * open_n * 1.5 + 15
        window = window_for(lead, bands, gap)
        policy = policy_with_window(window).model_copy(update={"warn_ratio": WARN_RATIO})
        far = policy_with_window(10 * window)
        t0 = datetime.now(UTC)
        warn_first = t0 + timedelta(seconds=lead)
        breach_first = warn_first + timedelta(seconds=(1 - WARN_RATIO) * window)
        tag = uuid.uuid4().hex[:6]
        cids = [f"S-{tag}-{i}" for i in range(open_n)]
        band_of = {workflow_id_for(cids[i]): s[0] for i, s in enumerate(slots) if s is not None}

        def start_one(i: int):
            s = slots[i]
            if s is None:
                return start_complaint(product.client, product.task_queue, complaint_input(cids[i], t0), far)
            breach = breach_first + timedelta(seconds=bands[s[0]].due(s[1]))
            ci = complaint_input(cids[i], breach - timedelta(seconds=window))
            return start_complaint(product.client, product.task_queue, ci, policy)

        task = progress.add(f"sustained: start {open_n:,} open complaints ({members:,} in the bands)", open_n)
        cpu0, clock0 = product.cpu_seconds(), time.monotonic()
        start_s, memory = await wave.start_all(
            open_n,
            start_one,
            concurrency=32,
            worker=product.worker,
            on_started=lambda: progress.advance(task),
        )
        progress.done(task)
        progress.log(
            f"sustained: started {open_n:,} complaints in {start_s:.0f} s ({open_n / start_s:.0f}/s)"
        )
        task = progress.add("sustained: settle intake work", None)
        in_time = await settled(
            product, complaints=open_n, timeout=max(10.0, (warn_first - datetime.now(UTC)).total_seconds())
        )
        settle_s = time.monotonic() - clock0 - start_s
        progress.done(task)
        progress.log(
            f"sustained: intake work settled {settle_s:.0f} s after the last start"
            + ("" if in_time else " — NOT before the first warning band")
        )
        rss_open = product.worker.rss_bytes()
        memory.append((open_n, rss_open))
        cpu1, clock1 = product.cpu_seconds(), time.monotonic()

        last_breach = breach_first + timedelta(seconds=span(bands))
        task = progress.add(
            f"sustained: warning bands from +{lead:.0f}s, breach bands from "
            f"+{(breach_first - t0).total_seconds():.0f}s to +{(last_breach - t0).total_seconds():.0f}s",
            None,
        )
        await wave.sleep_until(last_breach)
        waves_ok = await settled(
            product, complaints=open_n, kind="sla_breach", events=members, timeout=max(600.0, members * 0.5)
        )
        progress.done(task)
        rss_after = product.worker.rss_bytes()
        cpu2, clock2 = product.cpu_seconds(), time.monotonic()

        rows = await product.pool.fetch(
            "SELECT complaint_id, warn_at, due_at FROM obligations WHERE name = 'first_response' AND occurrence = 1"
        )
        member_cids = {cids[i] for i, s in enumerate(slots) if s is not None}
        rows = [r for r in rows if r["complaint_id"] in member_cids]
        warn_keys = {f"{r['complaint_id']}:warn:first_response:1": r["warn_at"] for r in rows}
        due_keys = {f"{r['complaint_id']}:breach:first_response:1": r["due_at"] for r in rows}
        ids = list(band_of)
        task = progress.add("sustained: read the band complaints' histories", len(ids))
        events = await histories.fetch_all(product.client, ids, on_done=lambda: progress.advance(task))
        progress.done(task)
        actions = [
            a
            for wid, evs in events.items()
            for a in histories.keyed_actions(wid, evs, {**warn_keys, **due_keys})
        ]
        warn_wakes = [a for a in actions if a.timer_id in warn_keys]
        due_wakes = [a for a in actions if a.timer_id in due_keys]
        tasks, timeouts, failures = [], Counter(), 0
        for evs in events.values():
            d, t, f = histories.workflow_tasks(evs, since=warn_first - timedelta(seconds=1))
            tasks += d
            timeouts += t
            failures += f
        breach_bands = band_figures(bands, _group(due_wakes, band_of), breach_first)
        warn_bands = band_figures(bands, _group(warn_wakes, band_of), warn_first)
        warn_done = [w.actions_done for w in warn_wakes if w.actions_done]
        notes = []
        if not in_time:
            notes.append("intake work was still running when the first warning band began")
        if warn_done and max(warn_done) > breach_first:
            notes.append(
                f"the warning bands' work ran until {(max(warn_done) - breach_first).total_seconds():.1f} s "
                "into the breach bands (the first breach band carries that backlog)"
            )
        if not waves_ok:
            notes.append("the breach bands had not fully settled when histories were read")
        out = _summary_of_run(breach_bands, open_n=open_n, rates=rates, seconds=seconds)
        out.update(
            {
                "band_members": members,
                "window_s": round(window, 1),
                "warn_ratio": WARN_RATIO,
                "gap_s": gap,
                "lead_s": round(lead, 1),
                "calibration_s_per_complaint": round(per, 4),
                "start_seconds": round(start_s, 1),
                "start_rate_per_s": round(open_n / start_s, 1),
                "settle_seconds": round(settle_s, 1),
                "settled_before_warning": in_time,
                "warning_bands": warn_bands,
                "warning_highest_rate_p99_within_1s": highest_rate_within(warn_bands),
                "memory": [{"open": o, "rss_mib": round(r / 2**20, 1)} for o, r in memory],
                "rss_open_mib": round(rss_open / 2**20, 1),
                "rss_after_mib": round(rss_after / 2**20, 1),
                "idle_wake_ups": sum(histories.idle_wake_ups(evs) for evs in events.values()),
                "band_workflow_tasks_s": summary(tasks),
                "band_workflow_task_timeouts": sum(timeouts.values()),
                "band_workflow_task_timeouts_by_kind": dict(timeouts),
                "band_workflow_task_failures": failures,
                "cpu_seconds": {
                    "intake": cpu_phase(cpu0, cpu1, clock1 - clock0),
                    "bands": cpu_phase(cpu1, cpu2, clock2 - clock1),
                },
                "worker_settings": worker_settings(),
                "workers": workers,
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                "notes": notes,
            }
        )
        return out
    finally:
        await product.stop()


async def run_floor(
    open_n: int,
    rates: Sequence[float],
    seconds: float,
    workdir: Path,
    progress: Progress,
    *,
    workers: int = 1,
) -> dict:
    """The engine floor: `open_n` bare workflows open, the band members' timers due at `rates`."""
    bands = plan_bands(rates, seconds)
    slots = assign(open_n, bands)
    members = sum(1 for s in slots if s is not None)
    load_before = os.getloadavg()
    async with bare_stack(workdir, workers) as (client, worker):
        tag = uuid.uuid4().hex[:6]
        ids = [f"bare-s-{tag}-{i}" for i in range(open_n)]
        first = datetime.now(UTC) + timedelta(seconds=open_n / ASSUMED_START_RATE + 15)
        last = first + timedelta(seconds=span(bands))
        far = last + timedelta(days=1)
        band_of = {ids[i]: s[0] for i, s in enumerate(slots) if s is not None}

        async def start_one(i: int) -> None:
            s = slots[i]
            due = far if s is None else first + timedelta(seconds=bands[s[0]].due(s[1]))
            await client.start_workflow(
                bare.WORKFLOW_NAME, bare.due_iso(due), id=ids[i], task_queue=TASK_QUEUE
            )

        task = progress.add(
            f"sustained floor: start {open_n:,} bare workflows ({members:,} in the bands)", open_n
        )
        start_s, memory = await wave.start_all(
            open_n, start_one, concurrency=64, worker=worker, on_started=lambda: progress.advance(task)
        )
        progress.done(task)
        progress.log(f"sustained floor: started {open_n:,} in {start_s:.0f} s ({open_n / start_s:.0f}/s)")
        task = progress.add(
            f"sustained floor: bands until +{(last - datetime.now(UTC)).total_seconds():.0f}s", members
        )
        await wave.sleep_until(last)
        query = f"WorkflowType = '{bare.WORKFLOW_NAME}' AND ExecutionStatus = 'Completed'"
        deadline = time.monotonic() + max(600.0, members * 0.5)
        while time.monotonic() < deadline:
            done = (await client.count_workflows(query)).count
            progress.update(task, done)
            if done >= members:
                break
            await asyncio.sleep(1.0)
        progress.done(task)
        rss_after = worker.rss_bytes()
        task = progress.add("sustained floor: read histories", members)
        events, wakes = await wave.collect(client, list(band_of), on_done=lambda: progress.advance(task))
        progress.done(task)
    bands_out = band_figures(bands, _group(wakes, band_of), first)
    out = _summary_of_run(bands_out, open_n=open_n, rates=rates, seconds=seconds)
    out.update(
        {
            "band_members": members,
            "start_seconds": round(start_s, 1),
            "start_rate_per_s": round(open_n / start_s, 1),
            "started_before_due": wave.timers_set_before(events, first),
            "memory": [{"open": o, "rss_mib": round(r / 2**20, 1)} for o, r in memory],
            "rss_after_mib": round(rss_after / 2**20, 1),
            "workers": workers,
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "notes": [] if len(wakes) == members else [f"{len(wakes)} of {members} band timers fired"],
        }
    )
    return out
