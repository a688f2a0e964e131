"""Ledger rows for UI tests that do not need a running workflow: realistic ComplaintViews written through
the ledger's own writer (`ledger.writes.write_batch`), the same path the workflow's activity takes."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta

import asyncpg

from domain.messages import LedgerWrite, TimelineEvent
from domain.models import (
    SYSTEM_ACTOR,
    Actor,
    Category,
    Channel,
    ComplaintType,
    Customer,
    Department,
    Locale,
    ObligationName,
    ObligationStatus,
    Role,
    State,
    Tier,
)
from domain.view import ComplaintView, ObligationView, Rating, Resolution
from ledger.writes import write_batch

ZHANG = Actor(id="zhang", role=Role.SPECIALIST, name="张敏 Zhang Min")
LI = Actor(id="li", role=Role.SPECIALIST, name="李娜 Li Na")
WANG = Actor(id="wang", role=Role.LOGISTICS, name="王磊 Wang Lei")
SUN = Actor(id="sun", role=Role.SENIOR_SUPERVISOR, name="孙经理 Sun Wei")

WINDOWS = {
    Tier.URGENT: [
        (ObligationName.FIRST_RESPONSE, 5),
        (ObligationName.SUPERVISOR_ACK, 15),
        (ObligationName.PRELIMINARY_PLAN, 120),
        (ObligationName.RESOLUTION, 240),
    ],
    Tier.IMPORTANT: [
        (ObligationName.FIRST_RESPONSE, 5),
        (ObligationName.SUPERVISOR_ACK, 15),
        (ObligationName.HANDLING_START, 240),
        (ObligationName.RESOLUTION, 1440),
    ],
    Tier.GENERAL: [
        (ObligationName.FIRST_RESPONSE, 5),
        (ObligationName.ASSIGNMENT, 30),
        (ObligationName.RESOLUTION, 1440),
    ],
}


def view(
    complaint_id: str,
    *,
    received_at: datetime,
    tier: Tier = Tier.GENERAL,
    state: State = State.RECEIVED,
    channel: Channel = Channel.WEB,
    complaint_type: ComplaintType = ComplaintType.COMPLAINT,
    category: Category = Category.DELAYED,
    region: str | None = "上海",
    holder: Actor | None = None,
    departments: list[Department] | None = None,
    outcomes: dict[ObligationName, ObligationStatus] | None = None,
    late_by_min: int = 10,
    ratings: list[int] | None = None,
    locale: Locale = Locale.ZH_CN,
    description: str = "包裹延误三天仍未送达",
    token: str | None = None,
) -> ComplaintView:
    """A complaint with the tier's obligations; each obligation met, met late, breached or still open."""
    outcomes = outcomes or {}
    obligations = []
    for name, minutes in WINDOWS[tier]:
        due = received_at + timedelta(minutes=minutes)
        status = outcomes.get(name, ObligationStatus.OPEN)
        met_at = breached_at = None
        if status == ObligationStatus.MET:
            met_at = received_at + timedelta(minutes=minutes * 0.6)
        elif status == ObligationStatus.MET_LATE:
            met_at, breached_at = due + timedelta(minutes=late_by_min), due
        elif status == ObligationStatus.BREACHED:
            breached_at = due
        obligations.append(
            ObligationView(
                name=name,
                status=status,
                started_at=received_at,
                due_at=due,
                warn_at=received_at + timedelta(minutes=minutes * 0.75),
                met_at=met_at,
                breached_at=breached_at,
            )
        )
    running = [
        o
        for o in obligations
        if o.status in (ObligationStatus.OPEN, ObligationStatus.WARNED, ObligationStatus.BREACHED)
    ]
    nxt = min(running, key=lambda o: o.due_at) if running else None
    breaches = sum(1 for o in obligations if o.breached_at)
    resolved = state in (State.RESOLVED, State.AWAITING_RATING, State.CLOSED)
    resolved_at = received_at + timedelta(hours=3)
    return ComplaintView(
        complaint_id=complaint_id,
        workflow_id=f"complaint-{complaint_id}",
        status_token=token or secrets.token_urlsafe(24),
        policy="standard",
        state=state,
        tier=tier,
        complaint_type=complaint_type,
        category=category,
        channel=channel,
        customer=Customer(name="张三", phone="+8613800000000", locale=locale, region=region),
        description=description,
        order_number="SF1234567890",
        received_at=received_at,
        tier_confirmed=True,
        holder=holder,
        departments=departments or [],
        obligations=obligations,
        next_due=nxt.name if nxt else None,
        next_due_at=nxt.due_at if nxt else None,
        breach_count=breaches,
        last_breach_at=max((o.breached_at for o in obligations if o.breached_at), default=None),
        resolution=Resolution(cause="运输延误", solution="已补发", resolved_by=ZHANG, resolved_at=resolved_at)
        if resolved
        else None,
        ratings=[
            Rating(score=s, at=resolved_at + timedelta(hours=i + 1)) for i, s in enumerate(ratings or [])
        ],
        reopen_count=sum(1 for s in (ratings or []) if s < 4),
        closed_at=resolved_at + timedelta(hours=5) if state == State.CLOSED else None,
    )


def state_events(v: ComplaintView, steps: list[tuple[State, timedelta]]) -> list[TimelineEvent]:
    """One `state_changed` event per step (data names the new state, as the workflow's events do)."""
    return [
        TimelineEvent(
            event_id=f"{v.complaint_id}-s{i}",
            complaint_id=v.complaint_id,
            at=v.received_at + after,
            kind="state_changed",
            actor=SYSTEM_ACTOR,
            data={"state": state.value},
        )
        for i, (state, after) in enumerate(steps)
    ]


async def write(pool: asyncpg.Pool, v: ComplaintView, events: list[TimelineEvent] | None = None) -> None:
    async with pool.acquire() as conn:
        await write_batch(conn, LedgerWrite(complaint=v.model_dump(mode="json"), events=events or []))


async def demo_history(pool: asyncpg.Pool, now: datetime | None = None, n: int = 36, seed: int = 7) -> None:
    """A fortnight of varied complaints for the dashboard: tiers, channels, regions, breaches, ratings."""
    rnd = random.Random(seed)
    now = now or datetime.now(UTC)
    regions = ["上海", "北京", "广州", "深圳", "杭州", "成都"]
    holders = [ZHANG, LI, WANG]
    for i in range(n):
        tier = rnd.choices(list(Tier), weights=[5, 3, 2])[0]
        closed = rnd.random() < 0.7
        if closed:
            received = now - timedelta(days=rnd.uniform(0.5, 14), minutes=rnd.randint(0, 600))
        else:  # open ones: from minutes to a few days old, so the queue and the ageing chart have a spread
            received = now - timedelta(minutes=rnd.choice([3, 12, 25, 50, 90, 200, 400, 1500, 3000, 5000]))
        outcomes = {
            name: (ObligationStatus.MET if rnd.random() < 0.8 else ObligationStatus.MET_LATE)
            if closed or name == ObligationName.FIRST_RESPONSE
            else ObligationStatus.OPEN
            for name, _ in WINDOWS[tier]
        }
        if not closed:  # clocks already past their due time are breached, the others still run
            for name, minutes in WINDOWS[tier]:
                if name != ObligationName.FIRST_RESPONSE and received + timedelta(minutes=minutes) < now:
                    outcomes[name] = ObligationStatus.MET if rnd.random() < 0.6 else ObligationStatus.BREACHED
        score = rnd.choice([5, 5, 4, 4, 3, 2]) if closed else None
        ratings = ([2, 5] if score == 2 else [score]) if score else None
        v = view(
            f"C-DEMO-{i:03d}",
            received_at=received,
            tier=tier,
            state=State.CLOSED
            if closed
            else rnd.choice([State.ACKNOWLEDGED, State.IN_PROGRESS, State.ASSIGNED]),
            channel=rnd.choice([Channel.WEB, Channel.HOTLINE, Channel.APP, Channel.ECOMMERCE, Channel.EMAIL]),
            complaint_type=rnd.choices(list(ComplaintType), weights=[2, 6, 1])[0],
            category=rnd.choice(
                [Category.DELAYED, Category.DAMAGED, Category.LOST, Category.SPOILED, Category.INVOICE]
            ),
            region=rnd.choice(regions),
            holder=rnd.choice(holders),
            departments=[rnd.choice([Department.WAREHOUSE, Department.TRANSPORT, Department.DELIVERY])],
            outcomes=outcomes,
            ratings=ratings,
        )
        steps = [(State.ACKNOWLEDGED, timedelta(minutes=4)), (State.IN_PROGRESS, timedelta(minutes=40))]
        if closed:
            steps += [(State.AWAITING_RATING, timedelta(hours=3)), (State.CLOSED, timedelta(hours=8))]
        await write(pool, v, state_events(v, steps))
