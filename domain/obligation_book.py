"""The obligation book: every clock of one complaint, kept over its `CaseState`.

The workflow tells the book what happened (an event of the complaint's life, a tier change, a pause, a
warning or due moment reached); the book changes the clocks and answers what became of them, so the
workflow can write the timeline and send the messages. Pure: no clock, no I/O — `domain/clocks.py` does the
arithmetic of one clock, the book the bookkeeping of all of them (after Zammad's `Escalation` object).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain import clocks
from domain.calendar import CalendarSpec
from domain.case import MEETS, MET_BY, CaseState, ComplaintOptions, complaint_policy, new_case
from domain.clocks import Obligation
from domain.models import ESCALATION_LADDER, Actor, ComplaintInput, Department, ObligationName, Role, State
from domain.policy import Anchor, ObligationRule
from domain.view import DepartmentFinding

N = ObligationName
PAST_CAP = 30  # settled earlier occurrences (periodic reports, reopened clocks) kept for the view
DEPARTMENT_PEOPLE = frozenset({Role.ENGINEER, Role.LOGISTICS, Role.DEPARTMENT_HEAD})


@dataclass(frozen=True)
class Breach:
    """What a breach did: the obligation as breached, and the escalation it caused (if any)."""

    obligation: Obligation
    from_role: Role
    to_role: Role

    @property
    def escalated(self) -> bool:
        return self.to_role != self.from_role


def ladder_level(role: Role) -> int:
    ladder = list(ESCALATION_LADDER)
    return ladder.index(role) if role in ladder else len(ladder) - 1


class ObligationBook:
    def __init__(self, case: CaseState) -> None:
        self.s = case

    # -- which rules apply -------------------------------------------------------------------------------------
    def rules(self) -> list[ObligationRule]:
        """The rules that apply to this complaint now (tier and type), the rating window included."""
        p = self.s.policy
        return [*p.rules_for(self.s.tier, self.s.complaint_type), p.rating_rule()]

    def rule_of(self, ob: Obligation) -> ObligationRule | None:
        if ob.name == N.DEPARTMENT_REPORT:
            return self.s.policy.department_report_rule()
        if ob.name == N.RATING:
            return self.s.policy.rating_rule()
        return next(
            (r for r in self.s.policy.rules_for(self.s.tier, self.s.complaint_type) if r.name == ob.name),
            None,
        )

    def active(self, name: ObligationName) -> bool:
        ob = self.s.obligations.get(name.value)
        return ob is not None and ob.status in clocks.ACTIVE

    # -- opening, meeting, waiving ---------------------------------------------------------------------------
    def open(self, rule: ObligationRule, at: datetime) -> None:
        """Start (or restart, as its next occurrence) the clock of `rule` from `at`."""
        existing = self.s.obligations.get(rule.name.value)
        if existing is not None and existing.status in clocks.RUNNING | {clocks.S.PAUSED}:
            return
        if existing is not None:
            self._archive(existing)
            ob = clocks.reopen(existing, rule, self.s.policy, self.s.tier, at)
        else:
            ob = clocks.open_clock(rule, self.s.policy, self.s.tier, at)
        if self.s.state == State.WAITING_ON_CUSTOMER:
            ob = clocks.pause(ob, self.s.policy.calendar(ob.calendar), at)
        self.s.obligations[ob.key] = ob

    def open_department(self, department: Department, at: datetime) -> Obligation:
        """A department's report clock in a joint investigation (its own child workflow times it)."""
        rule = self.s.policy.department_report_rule()
        ob = clocks.open_clock(rule, self.s.policy, self.s.tier, at, department=department, external=True)
        self.s.obligations[ob.key] = ob
        return ob

    def _archive(self, ob: Obligation) -> None:
        self.s.past = [*self.s.past, ob][-PAST_CAP:]

    def happen(self, anchor: Anchor, at: datetime, by: Actor | None = None) -> list[Obligation]:
        """An event of the complaint's life: meets what it meets, stops the periodic clocks it ends and
        starts the clocks anchored on it. Returns the obligations it met, in order."""
        self.s.anchors[anchor] = at
        met = [m for name in MEETS.get(anchor, ()) if (m := self.meet(name, at, by)) is not None]
        for key, ob in list(self.s.obligations.items()):
            rule = self.rule_of(ob)
            if ob.periodic and rule is not None and rule.until == anchor:
                self.s.obligations[key] = clocks.waive(ob, at)
        for rule in self.rules():
            if rule.anchor == anchor:
                self.open(rule, at)
        return met

    def meet(self, name: ObligationName, at: datetime, by: Actor | None) -> Obligation | None:
        ob = self.s.obligations.get(name.value)
        if ob is None or ob.status not in clocks.ACTIVE:
            return None
        met = clocks.meet(ob, at, by.id if by else None)
        self.s.obligations[ob.key] = met
        return met

    def meet_key(self, key: str, at: datetime, by: Actor) -> Obligation | None:
        if key not in self.s.obligations:
            return None
        self.s.obligations[key] = clocks.meet(self.s.obligations[key], at, by.id)
        return self.s.obligations[key]

    def waive(self, names: tuple[ObligationName, ...] | None, at: datetime) -> None:
        """Waive running clocks that no longer apply (None: all of them). Breaches stay on record."""
        for key, ob in list(self.s.obligations.items()):
            if names is None or ob.name in names:
                self.s.obligations[key] = clocks.waive(ob, at)

    def waive_key(self, key: str, at: datetime) -> None:
        if key in self.s.obligations:
            self.s.obligations[key] = clocks.waive(self.s.obligations[key], at)

    def all_but_rating(self) -> tuple[ObligationName, ...]:
        return tuple(n for n in N if n != N.RATING)

    # -- periodic obligations --------------------------------------------------------------------------------
    def rearm(self, ob: Obligation, at: datetime, by: Actor) -> None:
        """A periodic obligation's occurrence happened: this one settled, the next period starts at `at`."""
        rule = self.rule_of(ob)
        if rule is None:
            return
        done, nxt = clocks.rearm(ob, rule, self.s.policy, self.s.tier, at, by.id)
        self._archive(done)
        self.s.obligations[ob.key] = nxt

    def reset_periods(self, at: datetime, by: Actor, *, to_customer: bool) -> None:
        """A manual post resets the period: the report to the supervisor always, the customer update when
        the post went to the customer."""
        for name in (N.PROGRESS_REPORT, N.CUSTOMER_UPDATE):
            ob = self.s.obligations.get(name.value)
            if ob is not None and ob.status in clocks.RUNNING and (name == N.PROGRESS_REPORT or to_customer):
                self.rearm(ob, at, by)

    # -- tier and type changes, waiting on the customer -----------------------------------------------------
    def replan(self, at: datetime) -> None:
        """A tier or type change: clocks that no longer apply are waived, those that still apply move to the
        new windows from their own start, new ones start from their anchors (if those already happened)."""
        rules = {r.name: r for r in self.rules()}
        for key, ob in list(self.s.obligations.items()):
            if ob.name in (N.DEPARTMENT_REPORT, N.RATING):
                continue
            rule = rules.get(ob.name)
            if rule is None:
                self.s.obligations[key] = clocks.waive(ob, at)
            else:
                # A first occurrence runs from its anchor event (the new calendar may start it earlier);
                # a later one (re-armed, reopened) from its own start.
                anchor_at = self.s.anchors.get(rule.anchor) if ob.occurrence == 1 else None
                self.s.obligations[key] = clocks.replan(ob, rule, self.s.policy, self.s.tier, anchor_at)
        resolved = Anchor.RESOLVED in self.s.anchors
        for rule in rules.values():
            if rule.name.value in self.s.obligations or rule.anchor not in self.s.anchors:
                continue
            if MET_BY.get(rule.name) in self.s.anchors or rule.name == N.RATING:
                continue
            if rule.periodic and (resolved or rule.until in self.s.anchors):
                continue
            self.open(rule, self.s.anchors[rule.anchor])

    def recalendar(self, calendars: dict[str, CalendarSpec], at: datetime) -> dict[str, datetime]:
        """Admins changed the days of some calendars (docs/calendar.md): the policy takes the new days and each
        running clock counts its remaining time again on them. Returns the moved clocks' new due times."""
        old = self.s.policy
        new = old.with_calendars(calendars)
        if new is old:
            return {}
        self.s.policy = new
        moved: dict[str, datetime] = {}
        for key, ob in list(self.s.obligations.items()):
            if ob.external:  # a department's clock runs in its own workflow
                continue
            ob2 = clocks.recalendar(ob, old.calendar(ob.calendar), new.calendar(ob.calendar), at)
            if ob2 != ob:
                self.s.obligations[key] = ob2
                moved[key] = ob2.due_at
        return moved

    def pause_all(self, at: datetime) -> None:
        for key, ob in list(self.s.obligations.items()):
            self.s.obligations[key] = clocks.pause(ob, self.s.policy.calendar(ob.calendar), at)

    def resume_all(self, at: datetime) -> None:
        for key, ob in list(self.s.obligations.items()):
            self.s.obligations[key] = clocks.resume(ob, self.s.policy.calendar(ob.calendar), at)

    # -- warnings and breaches ---------------------------------------------------------------------------------
    def warn(self, ob: Obligation, at: datetime) -> Obligation:
        self.s.obligations[ob.key] = clocks.warn(ob, at)
        return self.s.obligations[ob.key]

    def _count_breach(self, name: ObligationName, at: datetime) -> None:
        self.s.breach_count += 1
        self.s.last_breach_at = at
        if name.value not in self.s.breached:
            self.s.breached = sorted({*self.s.breached, name.value})

    def breach(self, ob: Obligation, at: datetime, *, escalate: bool) -> Breach:
        """Past due: counted, and (once per step) the complaint goes one level up the ladder."""
        breached = clocks.breach(ob, at)
        self._count_breach(ob.name, at)
        before = self.s.holder_role
        if escalate:
            self.s.holder_role = clocks.escalation_target(before, ob)
        breached = breached.model_copy(update={"escalation_level": ladder_level(self.s.holder_role)})
        self.s.obligations[ob.key] = breached
        return Breach(breached, before, self.s.holder_role)

    def department_overdue(self, department: Department, rnd: int, at: datetime) -> Obligation | None:
        """A department missed its report deadline (its child already told the department's head): the
        report clock breaches one level up, counted like any breach. None when there is nothing to do."""
        if rnd != self.s.investigation_round:
            return None
        key = clocks.obligation_key(N.DEPARTMENT_REPORT, department)
        ob = self.s.obligations.get(key)
        finding = self.pending_finding(department)
        if ob is None or finding is None or ob.status not in clocks.RUNNING:
            return None
        finding.escalated = True
        ob = clocks.breach(ob, at).model_copy(update={"escalation_level": 1})  # one level: the head
        self.s.obligations[key] = ob
        self._count_breach(N.DEPARTMENT_REPORT, at)
        return ob

    def pending_finding(self, department: Department) -> DepartmentFinding | None:
        return next(
            (f for f in self.s.investigation if f.department == department and f.reported_at is None), None
        )

    # -- the reopen ----------------------------------------------------------------------------------------------
    def reopen(self, at: datetime) -> Role:
        """A §3.3 / B §2.4: below the satisfied score the complaint reopens, a senior supervisor takes it
        over and handling repeats until the customer is satisfied. Returns who held it before."""
        s = self.s
        s.reopen_count += 1
        for anchor in (Anchor.RESOLVED, Anchor.WORK_DONE, Anchor.ANSWERED):
            s.anchors.pop(anchor, None)
        before = s.holder_role
        s.holder_role = Role.SENIOR_SUPERVISOR
        s.holder = None  # whoever of the senior supervisors picks it up
        s.resolution = None
        s.anchors[Anchor.HANDLING_STARTED] = at  # handling repeats from here
        for rule in self.rules():
            if rule.name == N.RESOLUTION or (
                rule.periodic and rule.anchor in s.anchors and rule.until not in s.anchors
            ):
                self.open(rule, at)
        return before


def progress_starts_handling(actor: Actor, case: CaseState) -> bool:
    """The first progress from the department's people means the department has started (A §3.2)."""
    from_department = actor.id in case.assignees or actor.role in DEPARTMENT_PEOPLE
    return case.state == State.ASSIGNED and from_department


def assigned_departments(case: CaseState, departments: list[Department], first: bool) -> list[Department]:
    """Until the first assignment the departments are the classifier's proposal; from then on they are the
    ones actually assigned, and later assignments add to them. Returns the departments new to it."""
    before = [] if first else case.departments
    case.departments = list(dict.fromkeys([*before, *departments]))
    return [d for d in departments if d not in before]


def investigation_departments(case: CaseState) -> list[Department]:
    """B §1.3: lost goods → warehouse, transport and delivery (and whoever else was named); any assignment
    to several departments works the same way. Only those not yet investigating."""
    assigned = list(case.departments)
    joint = case.policy.joint_investigation.get(case.category)
    if joint:
        wanted = list(dict.fromkeys([*joint, *[d for d in assigned if d != Department.CUSTOMER_SERVICE]]))
    else:
        wanted = list(dict.fromkeys(assigned)) if len(set(assigned)) > 1 else []
    investigating = {f.department for f in case.investigation}
    return [d for d in wanted if d not in investigating]


def opened_at_intake(input: ComplaintInput, options: ComplaintOptions, received: datetime) -> CaseState:
    """A complaint's state the moment it is taken, its intake clocks running from `received`: what the
    workflow's intake builds (the same policy, `new_case`, `happen(INTAKE)`), for intake to answer from
    without waiting for the workflow's first task."""
    policy, _ = complaint_policy(input, options)
    case = new_case(input, policy)
    ObligationBook(case).happen(Anchor.INTAKE, received)
    return case
