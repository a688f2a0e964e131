"""The obligation clock: pure functions over serializable data (survives continue-as-new as it is).

An `Obligation` is one running rule of a policy for one complaint: when it started, when it warns, when it
is due, what became of it. Functions return new values instead of mutating, so each step is testable on
its own and the workflow only keeps a dict of them. Times are timezone-aware; durations between moments
are counted on the obligation's calendar (business hours or around the clock).

Life of a clock: open → (warned) → met | met_late | breached → (met late); paused ⇄ open while waiting on
the customer; waived when it no longer applies. Periodic ones (reports, customer updates) re-arm after
each occurrence instead of breaching.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from domain.calendar import ZERO, Calendar
from domain.models import ESCALATION_LADDER, Department, ObligationName, ObligationStatus, Role, Tier
from domain.policy import ObligationRule, Policy

S = ObligationStatus
RUNNING = frozenset({S.OPEN, S.WARNED})  # the clock ticks and can wake the workflow
ACTIVE = frozenset({S.OPEN, S.WARNED, S.PAUSED, S.BREACHED})  # can still be met


class Obligation(BaseModel):
    key: str  # unique within a complaint: the name, or "department_report:<department>"
    name: ObligationName
    status: ObligationStatus = S.OPEN
    calendar: str
    window: timedelta  # this occurrence's window, peak factor applied
    warn_ratio: float | None = None
    started_at: datetime  # when the clock began running (next business moment after the anchor)
    due_at: datetime
    warn_at: datetime | None = None
    met_at: datetime | None = None
    breached_at: datetime | None = None
    settled_at: datetime | None = None  # met, met late or waived
    occurrence: int = 1
    periodic: bool = False
    pauses_when_waiting: bool = False
    paused_at: datetime | None = None
    paused_from: ObligationStatus | None = None  # open or warned: what it goes back to on resume
    remaining: timedelta | None = None  # working time left when paused
    warn_remaining: timedelta | None = None
    department: Department | None = None
    escalation_level: int = 0  # how many levels up the ladder its breach took the complaint
    external: bool = False  # clocked by another workflow (a department's investigation); never wakes us
    met_by: str | None = None


class Wakeup(BaseModel):
    at: datetime
    key: str
    name: ObligationName
    kind: Literal["warn", "due"]


def obligation_key(name: ObligationName, department: Department | None = None) -> str:
    return f"{name.value}:{department.value}" if department else name.value


def open_clock(
    rule: ObligationRule,
    policy: Policy,
    tier: Tier,
    anchor_at: datetime,
    *,
    department: Department | None = None,
    occurrence: int = 1,
    external: bool = False,
) -> Obligation:
    """Start the clock of `rule` from `anchor_at`: on a business calendar it starts at the next business
    moment; the window shrinks by the peak factor when the start falls in peak season; the warning point
    sits at the warn ratio of the window."""
    cal_name = policy.calendar_name(rule, tier)
    cal = policy.calendar(cal_name)
    started = cal.next_business_moment(anchor_at)
    window = rule.window * policy.peak_factor_at(started)
    ratio = policy.warn_ratio_for(rule)
    return Obligation(
        key=obligation_key(rule.name, department),
        name=rule.name,
        calendar=cal_name,
        window=window,
        warn_ratio=ratio,
        started_at=started,
        due_at=cal.add(started, window),
        warn_at=cal.add(started, window * ratio) if ratio else None,
        occurrence=occurrence,
        periodic=rule.periodic,
        pauses_when_waiting=rule.pauses_when_waiting,
        department=department,
        external=external,
    )


def reopen(ob: Obligation, rule: ObligationRule, policy: Policy, tier: Tier, at: datetime) -> Obligation:
    """The same obligation running again from `at` (a reopened complaint, a re-armed period)."""
    fresh = open_clock(
        rule, policy, tier, at, department=ob.department, occurrence=ob.occurrence + 1, external=ob.external
    )
    return fresh.model_copy(update={"escalation_level": ob.escalation_level})


def replan(
    ob: Obligation, rule: ObligationRule, policy: Policy, tier: Tier, anchor_at: datetime | None = None
) -> Obligation:
    """A tier change: the clock runs again from the same event (`anchor_at`, default its own start) under
    the new rule — window and calendar — so its due and warning points move; what already happened stays
    (a warning already given is not given again)."""
    if ob.status not in RUNNING:
        return ob
    start = anchor_at or ob.started_at
    fresh = open_clock(rule, policy, tier, start, department=ob.department, occurrence=ob.occurrence)
    return fresh.model_copy(
        update={"status": ob.status, "escalation_level": ob.escalation_level, "external": ob.external}
    )


def meet(ob: Obligation, at: datetime, by: str | None = None) -> Obligation:
    """Met on time, or late when past due (a breached obligation can still be met, late)."""
    if ob.status not in ACTIVE:
        return ob
    late = ob.status == S.BREACHED or (ob.status != S.PAUSED and at > ob.due_at)
    return ob.model_copy(
        update={
            "status": S.MET_LATE if late else S.MET,
            "met_at": at,
            "settled_at": at,
            "met_by": by,
            "paused_at": None,
            "paused_from": None,
        }
    )


def waive(ob: Obligation, at: datetime) -> Obligation:
    """No longer applies. A breach stays on record: a breached obligation is not waived."""
    if ob.status not in ACTIVE or ob.status == S.BREACHED:
        return ob
    return ob.model_copy(
        update={"status": S.WAIVED, "settled_at": at, "paused_at": None, "paused_from": None}
    )


def warn(ob: Obligation, at: datetime) -> Obligation:
    return ob.model_copy(update={"status": S.WARNED}) if ob.status == S.OPEN else ob


def breach(ob: Obligation, at: datetime) -> Obligation:
    if ob.status not in RUNNING:
        return ob
    return ob.model_copy(update={"status": S.BREACHED, "breached_at": at})


def pause(ob: Obligation, cal: Calendar, at: datetime) -> Obligation:
    """Stop the clock, keeping the working time left until the warning and due points."""
    if ob.status not in RUNNING or not ob.pauses_when_waiting:
        return ob
    warn_left = cal.between(at, ob.warn_at) if ob.status == S.OPEN and ob.warn_at else None
    return ob.model_copy(
        update={
            "status": S.PAUSED,
            "paused_at": at,
            "remaining": cal.between(at, ob.due_at),
            "warn_remaining": warn_left,
            "paused_from": ob.status,
        }
    )


def resume(ob: Obligation, cal: Calendar, at: datetime) -> Obligation:
    """Restart the clock with the working time it had left (from the next business moment)."""
    if ob.status != S.PAUSED:
        return ob
    start = cal.next_business_moment(at)
    remaining = ob.remaining if ob.remaining is not None else ZERO
    warn_at = cal.add(start, ob.warn_remaining) if ob.warn_remaining is not None else None
    return ob.model_copy(
        update={
            "status": ob.paused_from or S.OPEN,
            "due_at": cal.add(start, remaining),
            "warn_at": warn_at if warn_at is not None else ob.warn_at,
            "paused_at": None,
            "paused_from": None,
            "remaining": None,
            "warn_remaining": None,
        }
    )


def recalendar(ob: Obligation, old: Calendar, new: Calendar, now: datetime) -> Obligation:
    """The days under a running clock changed (a holiday added or taken back): the working time it has
    left, counted on the old calendar, is counted again on the new one from `now`; a clock that has not
    started yet starts at the new calendar's next business moment. Paused clocks keep their working time
    left and resume on the new calendar; settled ones, and one already due, stay as they were. Days
    already past are not counted again."""
    if ob.status not in RUNNING or ob.due_at <= now:
        return ob
    base = max(now, ob.started_at)
    update: dict[str, object] = {"due_at": new.add(now, old.between(base, ob.due_at))}
    if ob.started_at > now:
        update["started_at"] = new.next_business_moment(now)
    if ob.status == S.OPEN and ob.warn_at is not None and ob.warn_at > now:
        update["warn_at"] = new.add(now, old.between(base, ob.warn_at))
    return ob.model_copy(update=update)


def rearm(
    ob: Obligation, rule: ObligationRule, policy: Policy, tier: Tier, at: datetime, by: str | None = None
) -> tuple[Obligation, Obligation]:
    """A periodic obligation's occurrence happened at `at` (a report sent, by a person or by the system):
    returns this occurrence settled and the next one, whose period starts at `at`."""
    return meet(ob, at, by), reopen(ob, rule, policy, tier, at)


def escalation_target(current: Role, ob: Obligation | None = None) -> Role:
    """One level up the ladder specialist → supervisor → senior supervisor; a department's missing report
    goes to that department's head. At the top it stays at the top."""
    if ob is not None and ob.name == ObligationName.DEPARTMENT_REPORT:
        return Role.DEPARTMENT_HEAD
    ladder = list(ESCALATION_LADDER)
    if current not in ladder:
        # Department heads and admins sit beside the ladder: a breach goes to the senior supervisor.
        return ladder[-1]
    return ladder[min(ladder.index(current) + 1, len(ladder) - 1)]


def next_wakeup(obligations: list[Obligation] | dict[str, Obligation]) -> Wakeup | None:
    """The earliest warning or due moment of all running obligations: the one timer the workflow sets."""
    items = obligations.values() if isinstance(obligations, dict) else obligations
    best: Wakeup | None = None
    for ob in items:
        if ob.external or ob.status not in RUNNING:
            continue
        if ob.status == S.OPEN and ob.warn_at is not None and ob.warn_at < ob.due_at:
            cand = Wakeup(at=ob.warn_at, key=ob.key, name=ob.name, kind="warn")
        else:
            cand = Wakeup(at=ob.due_at, key=ob.key, name=ob.name, kind="due")
        if best is None or (cand.at, cand.kind != "due") < (best.at, best.kind != "due"):
            best = cand
    return best


def next_due(obligations: list[Obligation] | dict[str, Obligation]) -> Obligation | None:
    """The running obligation due first (what people should look at), warnings aside."""
    items = obligations.values() if isinstance(obligations, dict) else obligations
    running = [ob for ob in items if ob.status in RUNNING]
    return min(running, key=lambda ob: ob.due_at) if running else None
