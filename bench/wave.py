"""One wave: N workflows started, all with a timer due at the same moment; then how late each fired.

Shared by the engine floor (bare workflows) and the complaint lateness benchmark so both are measured the
same way: start with bounded concurrency (timed: the start rate), sample the worker's memory as the open
count grows, wait for the due moment and for the work it triggers to drain, read every history.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psutil
from temporalio.client import Client

from bench import histories
from bench.processes import DevServer, PythonProcess
from bench.stats import percentile, summary


@dataclass
class WaveResult:
    n: int
    due: datetime
    start_seconds: float
    start_rate: float  # workflows accepted per second by the server
    started_before_due: int  # workflows whose timer was set before the due moment
    wake_ups: list[histories.WakeUp] = field(default_factory=list)
    memory: list[tuple[int, int]] = field(default_factory=list)  # (open workflows, worker RSS bytes)
    rss_after_wave: int = 0
    drain_seconds: float | None = None  # due moment -> last triggered action done
    notes: list[str] = field(default_factory=list)

    def lateness(self) -> dict[str, dict]:
        return lateness_of(self.wake_ups)

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "due": self.due.isoformat(),
            "start_seconds": round(self.start_seconds, 3),
            "start_rate_per_s": round(self.start_rate, 2),
            "started_before_due": self.started_before_due,
            "wake_ups": len(self.wake_ups),
            "lateness": self.lateness(),
            "drain_seconds": self.drain_seconds,
            "drain_rate_per_s": (
                round(len(self.wake_ups) / self.drain_seconds, 2) if self.drain_seconds else None
            ),
            "memory": [{"open": o, "rss_mib": round(r / 2**20, 1)} for o, r in self.memory],
            "rss_after_wave_mib": round(self.rss_after_wave / 2**20, 1),
            "notes": self.notes,
            # the action-done distribution as 201 quantiles (0 %, 0.5 % … 100 %), for the report's plot
            "done_quantiles": _quantiles([w.done_late_s for w in self.wake_ups if w.done_late_s is not None]),
        }


def lateness_of(wakes: list[histories.WakeUp]) -> dict[str, dict]:
    """Timer fired, action started and action done, each as lateness against the due moment (s)."""
    return {
        "timer_fired_s": summary([w.fired_late_s for w in wakes]),
        "action_started_s": summary([w.started_late_s for w in wakes if w.started_late_s is not None]),
        "action_done_s": summary([w.done_late_s for w in wakes if w.done_late_s is not None]),
    }


def _quantiles(vals: list[float]) -> list[float]:
    return [round(percentile(vals, q / 2), 4) for q in range(201)] if vals else []


async def start_all(
    n: int,
    start_one: Callable[[int], Awaitable[None]],
    *,
    concurrency: int,
    worker: PythonProcess | None,
    on_started: Callable[[], None] | None = None,
    memory_points: int = 10,
) -> tuple[float, list[tuple[int, int]]]:
    """Start n workflows; returns (seconds taken, memory samples as (open, rss))."""
    sem = asyncio.Semaphore(concurrency)
    done = 0
    memory: list[tuple[int, int]] = [(0, worker.rss_bytes() if worker else 0)]
    step = max(1, n // memory_points)

    async def one(i: int) -> None:
        nonlocal done
        async with sem:
            await start_one(i)
        done += 1
        if on_started:
            on_started()
        if worker and done % step == 0:
            memory.append((done, worker.rss_bytes()))

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.monotonic() - t0, memory


async def wait_quiet(
    procs: list[int], *, quiet_cpu: float = 3.0, quiet_for: float = 3.0, timeout: float
) -> bool:
    """Wait until every given process has used under `quiet_cpu` % CPU for `quiet_for` seconds in a row."""
    ps = [psutil.Process(p) for p in procs]
    for p in ps:
        p.cpu_percent(None)
    calm_since: float | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        busy = max(p.cpu_percent(None) for p in ps)
        if busy < quiet_cpu:
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= quiet_for:
                return True
        else:
            calm_since = None
    return False


async def sleep_until(moment: datetime) -> None:
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)


def timers_set_before(events_by_id: dict, due: datetime) -> int:
    """How many workflows had a timer started (the workflow task that set it began) before `due`."""
    from temporalio.api.enums.v1 import EventType

    count = 0
    for events in events_by_id.values():
        by_id = {e.event_id: e for e in events}
        for ev in events:
            if ev.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                wft = by_id.get(ev.timer_started_event_attributes.workflow_task_completed_event_id)
                st = by_id.get(wft.workflow_task_completed_event_attributes.started_event_id) if wft else None
                if st is not None and histories._t(st) < due:
                    count += 1
                    break
    return count


async def collect(
    client: Client,
    ids: list[str],
    *,
    on_done: Callable[[], None] | None = None,
    keep: Callable[[histories.WakeUp], bool] = lambda w: True,
) -> tuple[dict, list[histories.WakeUp]]:
    events = await histories.fetch_all(client, ids, on_done=on_done)
    wake = [w for wid, evs in events.items() for w in histories.wake_ups(wid, evs) if keep(w)]
    return events, wake


__all__ = [
    "DevServer",
    "WaveResult",
    "collect",
    "lateness_of",
    "start_all",
    "sleep_until",
    "wait_quiet",
    "timers_set_before",
]
