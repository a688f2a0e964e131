"""Replay one complaint's recorded life on the obligation book, under any policy (issue 17, docs/what-if.md).

Given what intake knew (`Intake`) and the staff's recorded actions (`Action`: moment, what, who, its few
arguments), `replay` runs the same rules code as a running complaint — `ObligationBook` over a `CaseState`,
`domain/clocks.py`, the policy — forward event by event: before each action every warning and due moment
that came earlier fires in time order, grouped as the workflow's one timer groups them (workflows/complaint.py
`run` and `_fire`: one escalation per timer step), then the action does to the book what its Update handler
does. What it returns is every obligation occurrence's outcome, as the ledger's `obligations` table would
hold it, plus the warnings, breaches and automatic reports and customer updates on the way.

Pure: no clock, no I/O. What is not replayed: messages, the ledger, tracking; a department's report clock
breaches at its due moment (its child workflow's signal, which in a real run lands a few ms later).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain import action_table, clocks
from domain.action_table import CUSTOMER, Situation
from domain.case import MET_BY, CaseState
from domain.clocks import Obligation
from domain.events import EventKind as E
from domain.models import (
    SYSTEM_ACTOR,
    TERMINAL_STATES,
    Actor,
    Category,
    ComplaintType,
    Department,
    ObligationName,
    Role,
    State,
    Tier,
)
from domain.obligation_book import (
    ObligationBook,
    assigned_departments,
    investigation_departments,
    progress_starts_handling,
)
from domain.policy import Anchor, Policy
from domain.view import DepartmentFinding, Rating, Resolution

N = ObligationName
TIMER_RESOLUTION = timedelta(milliseconds=1)  # workflows/timer.py MIN_TIMER: closer than this is "due now"

# The recorded timeline kinds that are staff (or customer) actions, replayed as the Update that wrote them.
ACTION_KINDS = frozenset(
    {
        E.ACKNOWLEDGED,
        E.SUPERVISOR_ACKNOWLEDGED,
        E.CLASSIFIED,
        E.ANSWERED,
        E.ASSIGNED,
        E.HANDLING_STARTED,
        E.PROGRESS,
        E.PLAN_PROPOSED,
        E.DEPARTMENT_REPORT,
        E.INVESTIGATION_OVERRIDDEN,
        E.WORK_DONE,
        E.RESOLVED,
        E.WAITING_ON_CUSTOMER,
        E.RESUMED,
        E.ESCALATED,
        E.REASSIGNED,
        E.CANCELLED,
        E.MERGED,
        E.RATED,
    }
)


@dataclass(frozen=True)
class Intake:
    complaint_id: str
    received_at: datetime
    tier: Tier
    complaint_type: ComplaintType
    category: Category
    departments: tuple[Department, ...] = ()
    region: str | None = None
    business_line: str | None = None


@dataclass(frozen=True)
class Action:
    at: datetime
    kind: E
    actor: Actor
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def by_staff(self) -> bool:
        return self.actor.role not in (Role.CUSTOMER, Role.SYSTEM)


@dataclass(frozen=True)
class Outcome:
    """One obligation occurrence as it ended (or stood at the horizon)."""

    name: ObligationName
    occurrence: int
    department: Department | None
    status: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    breached_at: datetime | None
    periodic: bool

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.name.value, self.occurrence, self.department.value if self.department else "")


@dataclass
class Replayed:
    complaint_id: str
    outcomes: list[Outcome]
    warnings: list[tuple[ObligationName, datetime]]  # (obligation, warned at)
    breaches: list[tuple[ObligationName, datetime]]
    automatic: dict[
        ObligationName, int
    ]  # periodic reports the system wrote: progress_report, customer_update
    state: State
    tier: Tier


class _RecordingBook(ObligationBook):
    """The book, keeping every settled occurrence it archives (the case keeps only the newest few)."""

    def __init__(self, case: CaseState, archive: list[Obligation]) -> None:
        super().__init__(case)
        self.archived = archive

    def _archive(self, ob: Obligation) -> None:
        self.archived.append(ob)
        super()._archive(ob)


_LOCAL_POLICIES: dict[tuple[int, str | None, str | None], tuple[Policy, Policy]] = {}


def local_policy(policy: Policy, region: str | None, business_line: str | None) -> Policy:
    """`Policy.for_complaint`, kept: its calendars are built once per region, not once per complaint."""
    key = (id(policy), region, business_line)
    hit = _LOCAL_POLICIES.get(key)
    if hit is None or hit[0] is not policy:
        if len(_LOCAL_POLICIES) > 256:
            _LOCAL_POLICIES.clear()
        hit = _LOCAL_POLICIES[key] = (policy, policy.for_complaint(region, business_line))
    return hit[1]


class _Run:
    def __init__(self, intake: Intake, policy: Policy) -> None:
        self.intake = intake
        self.s = CaseState(
            policy=local_policy(policy, intake.region, intake.business_line),
            tier=intake.tier,
            complaint_type=intake.complaint_type,
            category=intake.category,
            departments=list(intake.departments),
        )
        self.archived: list[Obligation] = []
        self.book = _RecordingBook(self.s, self.archived)
        self.warnings: list[tuple[ObligationName, datetime]] = []
        self.breaches: list[tuple[ObligationName, datetime]] = []
        self.automatic = {N.PROGRESS_REPORT: 0, N.CUSTOMER_UPDATE: 0}
        self.book.happen(Anchor.INTAKE, intake.received_at)

    # -- the loop: the clocks' moments, as the workflow's one timer meets them ------------------------------
    def _next(self) -> tuple[datetime, str, str] | None:
        wake = clocks.next_wakeup(self.s.obligations)
        best = (wake.at, "clock", wake.key) if wake else None
        for key, ob in self.s.obligations.items():  # a department's own workflow times its report
            if ob.external and ob.status in clocks.RUNNING and (best is None or ob.due_at < best[0]):
                best = (ob.due_at, "department", key)
        return best

    def fire_until(self, until: datetime, *, inclusive: bool) -> None:
        """Every moment before `until` (or at it), one timer step at a time."""
        while self.s.state not in TERMINAL_STATES:
            nxt = self._next()
            if nxt is None or nxt[0] > until or (nxt[0] == until and not inclusive):
                return
            if nxt[1] == "department":
                ob = self.s.obligations[nxt[2]]
                assert ob.department is not None
                if self.book.department_overdue(ob.department, self.s.investigation_round, ob.due_at):
                    self.breaches.append((ob.name, ob.due_at))
                else:
                    self.book.waive_key(ob.key, ob.due_at)  # nothing to do: never wake for it again
                continue
            self._fire(nxt[0] + TIMER_RESOLUTION)

    def _fire(self, horizon: datetime) -> None:
        """workflows/complaint.py `_fire`: each moment stamped with its own time, one escalation per step."""
        escalated = False
        for _ in range(1000):
            wake = clocks.next_wakeup(self.s.obligations)
            if wake is None or wake.at > horizon:
                break
            ob = self.s.obligations[wake.key]
            if wake.kind == "warn":
                self.book.warn(ob, wake.at)
                self.warnings.append((ob.name, wake.at))
            elif ob.name == N.RATING:
                self.book.waive_key(ob.key, wake.at)
                self._close(wake.at)
            elif ob.periodic:
                self.book.rearm(ob, wake.at, SYSTEM_ACTOR)
                self.automatic[ob.name] = self.automatic.get(ob.name, 0) + 1
            else:
                escalated = self.book.breach(ob, wake.at, escalate=not escalated).escalated or escalated
                self.breaches.append((ob.name, wake.at))
            if self.s.state in TERMINAL_STATES:
                break

    # -- the actions: what each Update handler does to the book and the state ---------------------------------
    def act(self, a: Action) -> None:
        if self.s.state in TERMINAL_STATES:
            return
        s, book, now, d = self.s, self.book, a.at, a.data
        k = a.kind
        if k in (E.ACKNOWLEDGED, E.SUPERVISOR_ACKNOWLEDGED):
            sit = Situation.of_case(s, self.intake.complaint_id)
            anchors = [MET_BY[n] for n in action_table.acknowledges(a.actor, sit)]
            s.holder = s.holder or a.actor
            for anchor in anchors:
                book.happen(anchor, now, a.actor)
            if s.state == State.RECEIVED:
                s.state = State.ACKNOWLEDGED
        elif k == E.CLASSIFIED:
            old = (s.tier, s.complaint_type)
            s.tier = Tier(d.get("tier", s.tier))
            s.complaint_type = ComplaintType(d.get("complaint_type", s.complaint_type))
            s.tier_confirmed = True
            if old != (s.tier, s.complaint_type):
                book.replan(now)
        elif k == E.ANSWERED:
            s.holder = s.holder or a.actor
            book.happen(Anchor.ANSWERED, now, a.actor)
            book.waive((N.ASSIGNMENT, N.PRELIMINARY_PLAN, N.HANDLING_START), now)
            s.resolution = Resolution(cause="consultation", solution="", resolved_by=a.actor, resolved_at=now)
            s.state = State.ANSWERED
            self._finish_result(now, a.actor)
        elif k == E.ASSIGNED:
            first = Anchor.ASSIGNMENT not in s.anchors
            depts = [Department(x) for x in d.get("departments", [])]
            assigned_departments(s, depts, first)
            s.assignees = list(dict.fromkeys([*s.assignees, *d.get("assignees", [])]))
            s.holder = s.holder or a.actor
            book.happen(Anchor.ASSIGNMENT, now, a.actor)
            book.waive((N.DIRECT_ANSWER,), now)
            if s.state in (State.RECEIVED, State.ACKNOWLEDGED):
                s.state = State.ASSIGNED
            started = investigation_departments(s)
            if started:
                s.investigation_round += 1
                s.investigation_open = True
                for dept in started:
                    ob = book.open_department(dept, now)
                    s.investigation.append(DepartmentFinding(department=dept, due_at=ob.due_at))
        elif k == E.HANDLING_STARTED:
            book.happen(Anchor.HANDLING_STARTED, now, a.actor)
            s.state = State.IN_PROGRESS
        elif k == E.PROGRESS:
            if progress_starts_handling(a.actor, s):
                book.happen(Anchor.HANDLING_STARTED, now, a.actor)
                s.state = State.IN_PROGRESS
            book.reset_periods(now, a.actor, to_customer=bool(d.get("to_customer")))
        elif k == E.PLAN_PROPOSED:
            book.happen(Anchor.PLAN_PROPOSED, now, a.actor)
        elif k == E.DEPARTMENT_REPORT:
            dept = Department(d["department"])
            finding = book.pending_finding(dept)
            if finding is not None:
                finding.reported_at = now
            book.meet_key(clocks.obligation_key(N.DEPARTMENT_REPORT, dept), now, a.actor)
            if s.investigation_open and all(f.reported_at is not None for f in s.investigation):
                s.investigation_open = False
        elif k == E.INVESTIGATION_OVERRIDDEN:
            self._stop_investigation(now)
        elif k == E.WORK_DONE:
            if Anchor.HANDLING_STARTED not in s.anchors or s.state == State.ASSIGNED:
                book.happen(Anchor.HANDLING_STARTED, now, a.actor)
            book.happen(Anchor.WORK_DONE, now, a.actor)
            s.state = State.WORK_DONE
        elif k == E.RESOLVED:
            s.resolution = Resolution(cause="", solution="", resolved_by=a.actor, resolved_at=now)
            book.happen(Anchor.RESOLVED, now, a.actor)
            s.state = State.RESOLVED
            self._finish_result(now, a.actor)
        elif k == E.WAITING_ON_CUSTOMER:
            s.state_before_wait = s.state
            book.pause_all(now)
            s.state = State.WAITING_ON_CUSTOMER
        elif k == E.RESUMED:
            book.resume_all(now)
            s.state, s.state_before_wait = s.state_before_wait or State.IN_PROGRESS, None
        elif k == E.ESCALATED:
            if d.get("reason") == "manual":  # breach escalations are the book's own doing
                s.holder_role = clocks.escalation_target(s.holder_role)
        elif k == E.REASSIGNED:
            if d.get("to"):
                s.holder = Actor(id=d["to"], role=Role(d.get("to_role", s.holder_role)))
                s.holder_role = s.holder.role
        elif k in (E.CANCELLED, E.MERGED):
            book.waive(None, now)
            self._stop_investigation(now)
            s.state = State.CANCELLED if k == E.CANCELLED else State.MERGED
        elif k == E.RATED:
            score = int(d.get("score", s.policy.satisfied_score))
            s.ratings = [*s.ratings, Rating(score=score, at=now)]
            book.meet(N.RATING, now, CUSTOMER)
            if score >= s.policy.satisfied_score:
                self._close(now)
            else:
                book.reopen(now)
                s.state = State.IN_PROGRESS

    def _finish_result(self, now: datetime, by: Actor) -> None:
        if Anchor.RESOLVED not in self.s.anchors:
            self.book.happen(Anchor.RESOLVED, now, by)
        self.book.waive(self.book.all_but_rating(), now)
        if self.s.state == State.RESOLVED:
            self.s.state = State.AWAITING_RATING

    def _stop_investigation(self, now: datetime) -> None:
        for f in self.s.investigation:
            if f.reported_at is None:
                self.book.waive_key(clocks.obligation_key(N.DEPARTMENT_REPORT, f.department), now)
        self.s.investigation_open = False

    def _close(self, now: datetime) -> None:
        self.book.waive(None, now)
        self.s.closed_at = now
        self.s.state = State.CLOSED

    def result(self) -> Replayed:
        last: dict[tuple[str, int, str], Outcome] = {}
        for ob in [*self.archived, *self.s.obligations.values()]:
            o = Outcome(
                name=ob.name,
                occurrence=ob.occurrence,
                department=ob.department,
                status=ob.status.value,
                started_at=ob.started_at,
                due_at=ob.due_at,
                met_at=ob.met_at,
                breached_at=ob.breached_at,
                periodic=ob.periodic,
            )
            last[o.key] = o
        return Replayed(
            self.intake.complaint_id,
            list(last.values()),
            self.warnings,
            self.breaches,
            self.automatic,
            self.s.state,
            self.s.tier,
        )


def replay(intake: Intake, actions: list[Action], policy: Policy, horizon: datetime) -> Replayed:
    """The complaint's obligations under `policy` when its recorded actions happen as given, clocks fired up
    to `horizon` (when the record was read: a still-open complaint's clocks ran no further)."""
    run = _Run(intake, policy)
    for a in sorted(actions, key=lambda a: a.at):
        if a.at > horizon:
            break
        # Actions are recorded to the whole second, so one recorded at t came in at t + a fraction: a clock
        # due at t itself fired first.
        run.fire_until(a.at, inclusive=True)
        run.act(a)
    run.fire_until(horizon, inclusive=True)
    return run.result()
