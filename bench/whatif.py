"""What-if benchmark (issue 17): a month of complaints in the ledger, replayed under two policies.

    python -m bench.whatif --n 10000 [--templates 60]

A month is made of real recorded complaints: `--templates` scripted complaints (known staff timings, from
`month_scripts`) run through the real workflow on the time-skipping server; what each asked the ledger to
write is written into an embedded PostgreSQL through `ledger.writes.write_batch`, then cloned (new numbers,
moved by whole weeks, so business hours stay the same) up to `--n`. Prints the read time, the replay time
under the policy in force and a proposed one (important resolution 24 h → 12 h), and the calibration share.

The scripts are also the seeded month of tests/workflows/test_whatif_month.py, which computes the breaches
they must give from their timings by plain arithmetic. Every staff moment lies on business time (Mon–Fri
09:00–18:00, November 2026 has no holiday), counted in business minutes from the moment received.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.processes import Postgres, binary
from core.temporal import DATA_CONVERTER, workflow_id_for
from desk.testing_support import Recorder, quiescent, register_search_attributes, sleep_past
from domain import actions as act
from domain.case import ComplaintOptions
from domain.messages import LedgerWrite
from domain.models import (
    Actor,
    Category,
    Channel,
    ComplaintInput,
    ComplaintType,
    Customer,
    Department,
    Role,
    Tier,
)
from domain.policy import Policy, preset
from domain.whatif import Staffing, in_force, what_if
from ledger.schema import migrate
from ledger.whatif import period
from ledger.writes import write_batch
from workflows.complaint import ComplaintWorkflow
from workflows.registry import WORKFLOWS

SH = ZoneInfo("Asia/Shanghai")
MONTH_START, MONTH_END = datetime(2026, 11, 1, tzinfo=SH), datetime(2026, 12, 1, tzinfo=SH)
DAY_START, DAY_END = 9, 18
SPECIALIST = Actor(id="agent-1", role=Role.SPECIALIST)
SUPERVISOR = Actor(id="sup-1", role=Role.SUPERVISOR)
ENGINEER = Actor(id="eng-1", role=Role.ENGINEER, departments=(Department.TECHNICAL,))
H = 60  # business minutes


@dataclass(frozen=True)
class Script:
    """One complaint's known timings, in business minutes after it was received."""

    tier: Tier
    received: datetime  # local, on business time
    ack: int
    assign: int
    plan: int  # general, urgent: the preliminary plan (general: counted from the assignment)
    handling: int  # important: the department starts
    work_done: int  # important
    resolve: int


def business_after(start: datetime, minutes: int) -> datetime:
    """`minutes` of Mon–Fri 09:00–18:00 after `start` (which lies on business time): plain arithmetic."""
    t = start
    left = minutes
    while True:
        end_of_day = t.replace(hour=DAY_END, minute=0, second=0, microsecond=0)
        room = int((end_of_day - t).total_seconds() // 60)
        if left <= room:
            return t + timedelta(minutes=left)
        left -= room
        t = (t + timedelta(days=1)).replace(hour=DAY_START, minute=0, second=0, microsecond=0)
        while t.weekday() >= 5:
            t += timedelta(days=1)


def month_scripts(n: int, seed: int = 17, first_week_only: bool = False) -> list[Script]:
    """`n` complaints on the weekdays of November 2026 (or its first full week), 09:00–11:59 received."""
    rnd = random.Random(seed)
    days = [date(2026, 11, d) for d in range(2, 28 if not first_week_only else 7)]
    days = [d for d in days if d.weekday() < 5]
    out = []
    for i in range(n):
        tier = (Tier.GENERAL, Tier.IMPORTANT, Tier.URGENT)[i % 3]
        day = days[rnd.randrange(len(days))]
        received = datetime(day.year, day.month, day.day, 9 + rnd.randrange(3), rnd.randrange(60), tzinfo=SH)
        ack = rnd.choice([2, 3, 4, 7, 12, 19])  # some past 5 (first response), some past 15 (supervisor)
        assign = ack + rnd.choice([8, 20, 35])
        if tier == Tier.URGENT:  # around the clock: kept within the day, so business = wall minutes
            plan = assign + rnd.choice([30, 75, 101])
            resolve = plan + rnd.choice([41, 95, 170])
            out.append(Script(tier, received.replace(hour=9), ack, assign, plan, 0, 0, resolve))
            continue
        plan = assign + rnd.choice([45, 100, 150]) if tier == Tier.GENERAL else assign + 15
        handling = assign + rnd.choice([25, 131, 251])
        work_done = handling + rnd.choice([97, 301, 611])
        resolve = rnd.choice([8 * H + 7, 11 * H + 53, 13 * H + 29, 20 * H + 11, 26 * H + 41])
        resolve = max(resolve, work_done + 13, plan + 13)
        out.append(Script(tier, received, ack, assign, plan, handling, work_done, resolve))
    return out


def _steps(s: Script) -> list[tuple[int, str, object]]:
    if s.tier == Tier.GENERAL:
        return [
            (s.ack, act.UPDATE_ACKNOWLEDGE, act.Acknowledge(actor=SPECIALIST)),
            (s.assign, act.UPDATE_ASSIGN, act.Assign(actor=SPECIALIST, departments=[Department.TECHNICAL])),
            (s.plan, act.UPDATE_PROPOSE_PLAN, act.ProposePlan(actor=ENGINEER, plan="换货")),
            (s.resolve, act.UPDATE_RESOLVE, act.Resolve(actor=SPECIALIST, cause="破损", solution="换货")),
        ]
    steps = [
        (s.ack, act.UPDATE_ACKNOWLEDGE, act.Acknowledge(actor=SUPERVISOR)),
        (s.assign, act.UPDATE_ASSIGN, act.Assign(actor=SUPERVISOR, departments=[Department.TECHNICAL])),
    ]
    if s.tier == Tier.IMPORTANT:
        steps += [
            (s.handling, act.UPDATE_START_HANDLING, act.StaffAction(actor=ENGINEER)),
            (s.plan, act.UPDATE_PROPOSE_PLAN, act.ProposePlan(actor=ENGINEER, plan="维修")),
            (s.work_done, act.UPDATE_WORK_DONE, act.WorkDone(actor=ENGINEER, summary="修好了")),
        ]
    else:
        steps.append((s.plan, act.UPDATE_PROPOSE_PLAN, act.ProposePlan(actor=ENGINEER, plan="补发")))
    steps.append(
        (s.resolve, act.UPDATE_RESOLVE, act.Resolve(actor=SUPERVISOR, cause="故障", solution="处理"))
    )
    return sorted(steps, key=lambda x: x[0])


async def _settle(handle) -> None:
    for _ in range(500):
        if quiescent(await handle.fetch_history()):
            return
        await asyncio.sleep(0.02)
    raise RuntimeError(f"{handle.id} still busy after 10 s")


async def _run_one(env: WorkflowEnvironment, task_queue: str, s: Script) -> None:
    """The script on the real workflow: each step at its moment, the rating half an hour after the result."""
    now = await env.get_current_time()
    cid = f"C-W{uuid.uuid4().hex[:10].upper()}"
    received = s.received.astimezone(UTC)
    inp = ComplaintInput(
        complaint_id=cid,
        channel=Channel.HOTLINE,
        customer=Customer(name="张三", phone="+8613800000000"),
        description="包裹破损,要求处理",
        category=Category.OTHER,
        complaint_type=ComplaintType.COMPLAINT,
        tier=s.tier,
        received_at=received,
        status_token=uuid.uuid4().hex,
        policy="standard",
        classified_by="staff",
    )
    opts = ComplaintOptions(time_shift=received - now)
    handle = await env.client.start_workflow(
        ComplaintWorkflow.run, args=[inp, opts], id=workflow_id_for(cid), task_queue=task_queue
    )
    await _settle(handle)
    steps = _steps(s)
    last = business_after(s.received, s.resolve)
    moments = [(business_after(s.received, m), u, a) for m, u, a in steps]
    moments.append((last + timedelta(minutes=30), act.UPDATE_RATE, act.Rate(score=5)))
    for at, update, arg in moments:
        await sleep_past(env, now + (at - s.received))
        await handle.execute_update(update, arg)
        await _settle(handle)


async def record(scripts: list[Script]) -> list[LedgerWrite]:
    """Every script through the real workflow on a time-skipping server; the ledger writes it asked for."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=binary("temporal-test-server")
    )
    world = Recorder()
    try:
        await register_search_attributes(env)
        task_queue = f"whatif-{uuid.uuid4().hex[:8]}"
        async with Worker(
            env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=world.activities()
        ):
            for s in scripts:
                await _run_one(env, task_queue, s)
    finally:
        await env.shutdown()
    return world.ledger


def _shift(value, delta: timedelta, renames: dict[str, str]):
    """A ledger batch's JSON with every moment moved by `delta` and the complaint renumbered."""
    if isinstance(value, dict):
        return {k: _shift(v, delta, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, delta, renames) for v in value]
    if isinstance(value, str):
        for old, new in renames.items():
            if old in value:
                return value.replace(old, new)
        if len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
            try:
                return (datetime.fromisoformat(value) + delta).isoformat()
            except ValueError:
                return value
    return value


def merged(batches: list[LedgerWrite]) -> list[LedgerWrite]:
    """One batch per complaint holding what all its batches wrote: its last view and every event (the
    obligations and ratings are in the view; writes are upserts, so the ledger ends the same)."""
    by_cid: dict[str, LedgerWrite] = {}
    for b in batches:
        cid = b.complaint["complaint_id"]
        before = by_cid.get(cid)
        events = {e.event_id: e for e in [*(before.events if before else []), *b.events]}
        by_cid[cid] = LedgerWrite(complaint=b.complaint, events=list(events.values()))
    return list(by_cid.values())


def clones(batches: list[LedgerWrite], n: int) -> list[LedgerWrite]:
    """The recorded complaints, copied to `n` complaints: copy k moved by k mod 4 weeks, renumbered."""
    originals = merged(batches)
    out: list[LedgerWrite] = []
    for k in range(n):
        b = originals[k % len(originals)]
        copy = k // len(originals)
        if copy == 0:
            out.append(b)
            continue
        cid, token = b.complaint["complaint_id"], b.complaint["status_token"]
        renames = {cid: f"{cid}-{copy}", token: f"{token[:24]}{copy:08d}"}
        data = json.loads(b.model_dump_json())
        out.append(LedgerWrite.model_validate(_shift(data, timedelta(weeks=copy % 4), renames)))
    return out


async def seed(pool: asyncpg.Pool, batches: list[LedgerWrite]) -> None:
    async with pool.acquire() as conn:
        for b in batches:
            await write_batch(conn, b)


def proposed_policy() -> Policy:
    """The standard policy with 12 h instead of 24 h for important complaints' resolution."""
    p = preset("standard")
    rules = [
        r.model_copy(update={"window": timedelta(hours=12)})
        if r.name.value == "resolution" and Tier.IMPORTANT in r.tiers
        else r
        for r in p.rules
    ]
    return p.model_copy(update={"name": "important-12h", "rules": rules})


async def run(n: int, templates: int, workdir: Path) -> dict:
    t0 = time.perf_counter()
    batches = await record(month_scripts(templates, first_week_only=True))
    record_s = time.perf_counter() - t0
    pg = Postgres(workdir / "pg")
    try:
        url = await pg.create_database("whatif_bench")
        await migrate(url)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            t = time.perf_counter()
            await seed(pool, clones(batches, n))
            print(f"seeded {n:,} complaints", file=sys.stderr)
            seed_s = time.perf_counter() - t
            t = time.perf_counter()
            records = await period(pool, MONTH_START, MONTH_END)
            read_s = time.perf_counter() - t
        finally:
            await pool.close()
    finally:
        pg.cleanup()
    common = dict(
        start=MONTH_START.date(),
        end=(MONTH_END - timedelta(days=1)).date(),
        as_of=datetime(2026, 12, 31, tzinfo=SH),
    )
    t = time.perf_counter()
    two = what_if(records, proposed_policy(), in_force, staff_steps=0, **common)
    two_s = time.perf_counter() - t
    t = time.perf_counter()
    report = what_if(
        records, proposed_policy(), in_force, staffing=Staffing(extra_staff=1), staff_steps=3, **common
    )
    staffed_s = time.perf_counter() - t
    cal = two.calibration
    return {
        "complaints": len(records),
        "templates": templates,
        "record_s": round(record_s, 1),
        "seed_s": round(seed_s, 1),
        "read_s": round(read_s, 1),
        "replay_two_policies_s": round(two_s, 1),
        "replay_three_sides_and_staff_series_s": round(staffed_s, 1),
        "calibration": f"{cal.reproduced}/{cal.total}",
        "breaches": {s.label: s.breach_total for s in report.sides},
        "busiest_day": str(report.busiest_day),
        "staff_series": report.staff_series,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.whatif", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10_000, help="complaints in the month")
    p.add_argument("--templates", type=int, default=60, help="complaints run through the real workflow")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="whatif-bench-") as d:
        result = asyncio.run(run(args.n, args.templates, Path(d)))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
