"""The action table: for each staff or customer action, who may do it, in which states, what it does and how
it can be refused. One table, built once, read by the workflow's validators, the staff UI's buttons and
`desk simulate` alike (docs/actions.md shows it).

Who may act on *which* complaint (per-complaint rights): supervisors and senior supervisors act on every
complaint (their team is the whole desk: there is no finer team in the model), and so do customer
service's specialists (the front desk takes every complaint in); everyone else only on a complaint they are
on — its holder, its assignees, the staff of its departments (department heads for their departments). A
refusal names who can do it instead.

`check` is pure: it reads a `Situation` (what the table needs to know of a complaint), built from the
workflow's `CaseState` or from the `ComplaintView` the UI has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain import actions as a
from domain.case import WORKING, CaseState
from domain.clocks import ACTIVE, escalation_target
from domain.models import (
    STAFF_ROLES,
    SUPERVISOR_ROLES,
    TERMINAL_STATES,
    Actor,
    ComplaintType,
    Department,
    ObligationName,
    Role,
    State,
    Tier,
)
from domain.policy import PRESETS, Anchor, Policy, preset
from domain.refusals import (
    REASON_DEMAND_BELOW,
    REASON_NOT_INVESTIGATED,
    REASON_NOT_STAFF,
    REASON_SELF_MERGE,
    Refusal,
    RefusalCode,
    refusal,
)
from domain.view import ComplaintView, DepartmentFinding, Plan

R, N, C = Role, ObligationName, RefusalCode
CUSTOMER = Actor(id="customer", role=Role.CUSTOMER)
FRONT_DESK = frozenset({R.SPECIALIST}) | SUPERVISOR_ROLES
DEPARTMENT_PEOPLE = frozenset({R.ENGINEER, R.LOGISTICS, R.DEPARTMENT_HEAD}) | SUPERVISOR_ROLES
ALL_STAFF = STAFF_ROLES
BEFORE_RESULT = frozenset(
    {State.RECEIVED, State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS, State.WORK_DONE}
)


@dataclass(frozen=True)
class Situation:
    """What the action table needs to know of one complaint."""

    complaint_id: str
    state: State
    tier: Tier
    complaint_type: ComplaintType
    holder: Actor | None
    holder_role: Role
    departments: frozenset[Department]  # handed to (assigned or investigating); a proposal gives no rights
    assignees: frozenset[str]
    active: frozenset[ObligationName]  # clocks that can still be met
    ack_roles: frozenset[Role]  # who meets supervisor_ack
    plan: Plan | None
    findings: tuple[DepartmentFinding, ...]
    investigation_open: bool
    satisfied_score: int

    @classmethod
    def of_case(cls, case: CaseState, complaint_id: str) -> Situation:
        return cls._make(
            complaint_id,
            case.policy,
            state=case.state,
            tier=case.tier,
            complaint_type=case.complaint_type,
            holder=case.holder,
            holder_role=case.holder_role,
            departments=case.departments if _handed_over(case) else (),
            assignees=case.assignees,
            active=frozenset(o.name for o in case.obligations.values() if o.status in ACTIVE),
            plan=case.plan,
            findings=case.investigation,
            investigation_open=case.investigation_open,
        )

    @classmethod
    def of_view(cls, view: ComplaintView, policy: Policy | None = None) -> Situation:
        """From what the UI reads; the policy by its name (a policy document of a simulation: the default)."""
        pol = policy or preset(view.policy if view.policy in PRESETS else "standard")
        active = frozenset(o.name for o in view.obligations if o.status in ACTIVE)
        return cls._make(
            view.complaint_id,
            pol,
            state=view.state,
            tier=view.tier,
            complaint_type=view.complaint_type,
            holder=view.holder,
            holder_role=view.holder_role,
            departments=view.departments if _view_handed_over(view) else (),
            assignees=view.assignees,
            active=active,
            plan=view.plan,
            findings=view.investigation,
            investigation_open=N.DEPARTMENT_REPORT in active,
        )

    @classmethod
    def _make(cls, complaint_id: str, policy: Policy, **kw: Any) -> Situation:
        findings = tuple(kw.pop("findings"))
        departments = frozenset(kw.pop("departments")) | {f.department for f in findings}
        return cls(
            complaint_id=complaint_id,
            departments=departments,
            assignees=frozenset(kw.pop("assignees")),
            ack_roles=ack_roles(policy, kw["tier"]),
            findings=findings,
            satisfied_score=policy.satisfied_score,
            **kw,
        )

    def pending(self) -> list[Department]:
        return [f.department for f in self.findings if f.reported_at is None]


def ack_roles(policy: Policy, tier: Tier) -> frozenset[Role]:
    """Who meets `supervisor_ack`: whoever was alerted at intake besides the specialists (important: the
    supervisor; urgent: the supervisor or a department head — A §3.2), and anyone above them."""
    alerted = set(policy.alert_at_intake.get(tier, [])) - {R.SPECIALIST}
    return frozenset(alerted | SUPERVISOR_ROLES)


def acknowledges(actor: Actor, sit: Situation) -> list[ObligationName]:
    """The acknowledgements this actor's acknowledge meets now: first response, supervisor's, or both."""
    out = []
    if N.FIRST_RESPONSE in sit.active:
        out.append(N.FIRST_RESPONSE)
    if actor.role in sit.ack_roles and N.SUPERVISOR_ACK in sit.active:
        out.append(N.SUPERVISOR_ACK)
    return out


def _handed_over(case: CaseState) -> bool:
    """The departments are the complaint's once someone assigned it (the classifier only proposes them)."""
    return Anchor.ASSIGNMENT in case.anchors or Anchor.DEPARTMENT_ASSIGNED in case.anchors or bool(case.assignees)


def _view_handed_over(view: ComplaintView) -> bool:
    """The same from what the UI reads (the buttons; the workflow's own check is `_handed_over`)."""
    before = (State.RECEIVED, State.ACKNOWLEDGED, State.WAITING_ON_CUSTOMER)
    return view.state not in before or bool(view.assignees) or bool(view.investigation)


# -- who is on a complaint --------------------------------------------------------------------------------------
def on_complaint(actor: Actor, sit: Situation) -> bool:
    if actor.role in SUPERVISOR_ROLES or front_desk(actor):
        return True
    if sit.holder is not None and sit.holder.id == actor.id:
        return True
    return actor.id in sit.assignees or bool(set(actor.departments) & sit.departments)


def front_desk(actor: Actor) -> bool:
    """Customer service takes every complaint in and speaks to every customer: its people are on all of
    them (a specialist with no department given is customer service)."""
    if Department.CUSTOMER_SERVICE in actor.departments:
        return actor.role in FRONT_DESK
    return actor.role == R.SPECIALIST and not actor.departments


def leads(actor: Actor, sit: Situation) -> bool:
    """May hand the complaint to someone else: a supervisor, its holder, or a head of one of its departments."""
    if actor.role in SUPERVISOR_ROLES or (sit.holder is not None and sit.holder.id == actor.id):
        return True
    return actor.role == R.DEPARTMENT_HEAD and bool(set(actor.departments) & sit.departments)


Scope = Callable[[Actor, Situation], bool]


# -- the action-specific checks (payload None: the UI asking whether to show the button) ------------------------
Extra = Callable[[Actor, Situation, Any], Refusal | None]


def _acknowledge(actor: Actor, sit: Situation, _: Any) -> Refusal | None:
    if acknowledges(actor, sit) or sit.state == State.RECEIVED:
        return None
    if N.SUPERVISOR_ACK in sit.active:
        return refusal(
            C.WRONG_ROLE, action=a.UPDATE_ACKNOWLEDGE, role=actor.role, allowed_roles=sit.ack_roles
        )
    return refusal(C.ALREADY_DONE, what="acknowledged")


def _answer(actor: Actor, sit: Situation, _: Any) -> Refusal | None:
    if sit.tier == Tier.GENERAL and sit.complaint_type == ComplaintType.CONSULTATION:
        return None
    return refusal(C.NOT_APPLICABLE, action=a.UPDATE_ANSWER, tier=sit.tier, complaint_type=sit.complaint_type)


def _approve(actor: Actor, sit: Situation, _: Any) -> Refusal | None:
    if sit.plan is None:
        return refusal(C.NOTHING_TO_DO, what="plan")
    if sit.plan.approved is not None:
        by = sit.plan.approved_by.id if sit.plan.approved_by else None
        return refusal(C.ALREADY_DONE, what="plan_approved" if sit.plan.approved else "plan_rejected", by=by)
    return None


def _department_report(actor: Actor, sit: Situation, arg: Any) -> Refusal | None:
    if not sit.findings:
        return refusal(C.NOTHING_TO_DO, what="investigation")
    if arg is None:
        return None
    if arg.department in sit.pending():
        return None
    known = list(dict.fromkeys(f.department for f in sit.findings))
    if arg.department in known:
        return refusal(C.ALREADY_DONE, what="department_report", department=arg.department)
    return refusal(
        C.FIELD,
        name="department",
        reason=REASON_NOT_INVESTIGATED,
        department=arg.department,
        departments=known,
    )


def _reports_for(actor: Actor, sit: Situation, arg: Any) -> bool:
    """A department's findings come from its own people (its head included); the holder, the assignees
    and supervisors may record any department's."""
    if actor.role in SUPERVISOR_ROLES or actor.id in sit.assignees:
        return True
    return (sit.holder is not None and sit.holder.id == actor.id) or arg.department in actor.departments


def _investigation_done(action: str) -> Extra:
    def check(actor: Actor, sit: Situation, _: Any) -> Refusal | None:
        if sit.investigation_open:
            return refusal(C.INVESTIGATION_PENDING, action=action, departments=sit.pending())
        return None

    return check


def _override(actor: Actor, sit: Situation, _: Any) -> Refusal | None:
    return None if sit.investigation_open else refusal(C.NOTHING_TO_DO, what="investigation")


def compensation_covered(actor: Actor, plan: Plan | None, compensation: float | None) -> bool:
    """A compensation needs a supervisor: one resolving, or one who approved a plan offering at least as much."""
    if not compensation or actor.role in SUPERVISOR_ROLES:
        return True
    return bool(
        plan and plan.approved and plan.compensation is not None and compensation <= plan.compensation
    )


def _resolve(actor: Actor, sit: Situation, arg: Any) -> Refusal | None:
    pending = _investigation_done(a.UPDATE_RESOLVE)(actor, sit, arg)
    if pending or arg is None:
        return pending
    if not compensation_covered(actor, sit.plan, arg.compensation):
        approved = sit.plan.compensation if sit.plan and sit.plan.approved else None
        return refusal(C.NEEDS_APPROVAL, compensation=arg.compensation, approved=approved)
    return None


def _escalate(actor: Actor, sit: Situation, _: Any) -> Refusal | None:
    if escalation_target(sit.holder_role) == sit.holder_role:
        return refusal(C.TOP_OF_LADDER, role=sit.holder_role)
    return None


def _reassign(actor: Actor, sit: Situation, arg: Any) -> Refusal | None:
    if arg is not None and arg.holder_role not in STAFF_ROLES:
        return refusal(C.FIELD, name="holder_role", reason=REASON_NOT_STAFF, role=arg.holder_role)
    return None


def _merge(actor: Actor, sit: Situation, arg: Any) -> Refusal | None:
    if arg is not None and arg.target_complaint_id == sit.complaint_id:
        return refusal(C.FIELD, name="target_complaint_id", reason=REASON_SELF_MERGE)
    return None


def low_rating_needs_demand(score: int, demand: str, satisfied_score: int) -> bool:
    """Below the satisfied score the customer says what they expect: it is what the reopen works on."""
    return score < satisfied_score and not demand.strip()


def _rate(actor: Actor, sit: Situation, arg: Any) -> Refusal | None:
    if arg is not None and low_rating_needs_demand(arg.score, arg.demand, sit.satisfied_score):
        return refusal(C.FIELD, name="demand", reason=REASON_DEMAND_BELOW, score=sit.satisfied_score)
    return None


# -- the table ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionRule:
    name: str  # the Update name (domain/actions.py)
    roles: frozenset[Role]
    states: frozenset[State]
    effect: str  # what it does (for engineers and the docs; people read the UI's words)
    scope: Scope | None = on_complaint  # who may act on this complaint (None: whoever has the role)
    instead: frozenset[Role] = SUPERVISOR_ROLES  # named in a not_yours refusal besides the holder
    scope_of_input: Callable[[Actor, Situation, Any], bool] | None = None  # who, given the payload
    extra: Extra | None = None
    hints: tuple[tuple[frozenset[State], str], ...] = ()  # a wrong state's hint: what to do first
    refusals: tuple[RefusalCode, ...] = ()  # beyond finished / wrong_role / wrong_state / not_yours


def _rule(name: str, roles: frozenset[Role], states: frozenset[State], effect: str, **kw: Any) -> ActionRule:
    return ActionRule(name, frozenset(roles), frozenset(states), effect, **kw)


WAITING = frozenset({State.WAITING_ON_CUSTOMER})
UNASSIGNED = frozenset({State.RECEIVED, State.ACKNOWLEDGED})
RESUME_FIRST = ((WAITING, "resume_first"),)

ACTIONS: dict[str, ActionRule] = {
    r.name: r
    for r in (
        _rule(
            a.UPDATE_ACKNOWLEDGE,
            ALL_STAFF,
            WORKING,
            "first response to the customer (first_response), or the supervisor's acknowledgement"
            " (supervisor_ack); the first to acknowledge holds the complaint",
            extra=_acknowledge,
            refusals=(C.ALREADY_DONE,),
        ),
        _rule(
            a.UPDATE_CLASSIFY,
            FRONT_DESK,
            WORKING,
            "confirm or change tier and type; a change re-plans every deadline",
            hints=((frozenset(State) - WORKING, "has_result"),),
        ),
        _rule(
            a.UPDATE_ANSWER,
            FRONT_DESK,
            UNASSIGNED,
            "answer a general consultation directly: the result, then the survey",
            extra=_answer,
            hints=((frozenset(State) - UNASSIGNED, "before_assignment"),),
            refusals=(C.NOT_APPLICABLE,),
        ),
        _rule(
            a.UPDATE_ASSIGN,
            FRONT_DESK | {R.DEPARTMENT_HEAD},
            UNASSIGNED | {State.ASSIGNED, State.IN_PROGRESS},
            "hand to departments (several, or lost goods: a joint investigation); meets assignment",
            hints=RESUME_FIRST,
        ),
        _rule(
            a.UPDATE_START_HANDLING,
            ALL_STAFF,
            frozenset({State.ASSIGNED}),
            "the department starts (handling_start); the first progress from the department does too",
            hints=((UNASSIGNED, "assign_first"),),
        ),
        _rule(
            a.UPDATE_PROGRESS,
            ALL_STAFF,
            WORKING,
            "progress: resets the report period, and the customer-update period when sent to the customer",
        ),
        _rule(
            a.UPDATE_PROPOSE_PLAN,
            ALL_STAFF,
            WORKING - {State.WORK_DONE},
            "preliminary plan (preliminary_plan); a supervisor is asked to approve it",
        ),
        _rule(
            a.UPDATE_APPROVE,
            SUPERVISOR_ROLES,
            frozenset(State) - TERMINAL_STATES,
            "approve or reject the plan and its compensation",
            extra=_approve,
            refusals=(C.NOTHING_TO_DO, C.ALREADY_DONE),
        ),
        _rule(
            a.UPDATE_DEPARTMENT_REPORT,
            DEPARTMENT_PEOPLE,
            frozenset(State) - TERMINAL_STATES,
            "a department's findings in a joint investigation (department_report)",
            extra=_department_report,
            scope_of_input=_reports_for,
            refusals=(C.NOTHING_TO_DO, C.ALREADY_DONE, C.FIELD),
        ),
        _rule(
            a.UPDATE_OVERRIDE_INVESTIGATION,
            SUPERVISOR_ROLES,
            frozenset(State) - TERMINAL_STATES,
            "stop waiting for the missing department reports",
            extra=_override,
            refusals=(C.NOTHING_TO_DO,),
        ),
        _rule(
            a.UPDATE_WORK_DONE,
            ALL_STAFF,
            frozenset({State.ASSIGNED, State.IN_PROGRESS}),
            "the department's work is done: the result is due to the customer (result_feedback)",
            extra=_investigation_done(a.UPDATE_WORK_DONE),
            refusals=(C.INVESTIGATION_PENDING,),
        ),
        _rule(
            a.UPDATE_RESOLVE,
            FRONT_DESK,
            BEFORE_RESULT,
            "cause, solution, compensation to the customer; every clock stops, the survey window opens",
            extra=_resolve,
            hints=RESUME_FIRST,
            refusals=(C.INVESTIGATION_PENDING, C.NEEDS_APPROVAL),
        ),
        _rule(
            a.UPDATE_WAIT,
            ALL_STAFF,
            frozenset({State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS, State.WORK_DONE}),
            "waiting on the customer: the clocks that pause, pause",
        ),
        _rule(
            a.UPDATE_RESUME,
            ALL_STAFF,
            WAITING,
            "the clocks run again with the working time they had left",
        ),
        _rule(
            a.UPDATE_ESCALATE,
            ALL_STAFF,
            frozenset(State) - TERMINAL_STATES,
            "one level up the ladder specialist → supervisor → senior supervisor",
            extra=_escalate,
            refusals=(C.TOP_OF_LADDER,),
        ),
        _rule(
            a.UPDATE_REASSIGN,
            ALL_STAFF,
            frozenset(State) - TERMINAL_STATES,
            "another member of staff holds it (a supervisor, a department head or the holder decides)",
            scope=leads,
            instead=SUPERVISOR_ROLES | {R.DEPARTMENT_HEAD},
            extra=_reassign,
            refusals=(C.FIELD,),
        ),
        _rule(
            a.UPDATE_CANCEL,
            SUPERVISOR_ROLES,
            frozenset(State) - TERMINAL_STATES,
            "cancelled, with a reason; every clock is waived",
        ),
        _rule(
            a.UPDATE_MERGE,
            FRONT_DESK,
            frozenset(State) - TERMINAL_STATES,
            "a duplicate: merged into the complaint it repeats",
            extra=_merge,
            refusals=(C.FIELD,),
        ),
        _rule(
            a.UPDATE_RATE,
            frozenset({R.CUSTOMER}),
            frozenset({State.AWAITING_RATING, State.ANSWERED}),
            "the customer's 1–5: from the satisfied score it closes, below it reopens with the demand",
            scope=None,
            extra=_rate,
            hints=((BEFORE_RESULT | WAITING, "after_result"),),
            refusals=(C.FIELD,),
        ),
        _rule(
            a.UPDATE_ADD_REPORT,
            frozenset({R.CUSTOMER, R.SYSTEM}),
            frozenset(State) - TERMINAL_STATES,
            "the same customer, order and issue reported again: joined to this complaint",
            scope=None,
        ),
        _rule(
            a.UPDATE_REPLY,
            FRONT_DESK,
            frozenset(State) - TERMINAL_STATES,
            "a free reply to the customer on the customer's channels (the conversation shows it)",
        ),
        _rule(
            a.UPDATE_NOTE,
            ALL_STAFF,
            frozenset(State) - TERMINAL_STATES,
            "an internal note: staff see it in the conversation, the customer never does",
        ),
        _rule(
            a.UPDATE_CUSTOMER_MESSAGE,
            frozenset({R.CUSTOMER, R.SYSTEM}),
            frozenset(State) - TERMINAL_STATES,
            "the customer adds information or files; while waiting on the customer the clocks run again",
            scope=None,
        ),
    )
}


def _not_yours(action: str, sit: Situation, instead: frozenset[Role]) -> Refusal:
    return refusal(
        C.NOT_YOURS,
        action=action,
        holder=sit.holder.id if sit.holder else None,
        holder_role=sit.holder_role,
        allowed_roles=instead,
    )


def check(action: str, actor: Actor, sit: Situation, arg: Any = None, *, who: bool = True) -> Refusal | None:
    """None when `actor` may do `action` on this complaint now, else why not. `arg` is the action's payload
    (None: everything that does not depend on it). `who=False` checks only what the complaint's state
    decides — the handlers' re-check after waiting for the lock, which must stay as it was for the
    histories of running complaints."""
    rule = ACTIONS[action]
    if sit.state in TERMINAL_STATES:
        return refusal(C.FINISHED, action=action, state=sit.state)
    if who and actor.role not in rule.roles:
        return refusal(C.WRONG_ROLE, action=action, role=actor.role, allowed_roles=rule.roles)
    if sit.state not in rule.states:
        hint = next((h for states, h in rule.hints if sit.state in states), None)
        return refusal(C.WRONG_STATE, action=action, state=sit.state, allowed_states=rule.states, hint=hint)
    if who and rule.scope is not None and not rule.scope(actor, sit):
        # A head alerted at intake acknowledges an urgent complaint whoever holds it (A §3.2).
        if not (action == a.UPDATE_ACKNOWLEDGE and actor.role in sit.ack_roles):
            return _not_yours(action, sit, rule.roles & rule.instead)
    if who and arg is not None and rule.scope_of_input is not None and not rule.scope_of_input(actor, sit, arg):
        return _not_yours(action, sit, rule.roles & rule.instead)
    return rule.extra(actor, sit, arg) if rule.extra is not None else None


def allowed(actor: Actor, sit: Situation) -> list[str]:
    """The actions this actor may take on this complaint now, in table order: the buttons the UI shows."""
    return [name for name in ACTIONS if check(name, actor, sit) is None]


def as_markdown() -> str:
    """The table as docs/actions.md shows it (tests/domain/test_action_table.py keeps the two equal)."""
    rows = [
        "| action | roles | states | effect | refusals |",
        "|---|---|---|---|---|",
    ]
    for r in ACTIONS.values():
        roles = ", ".join(x.value for x in Role if x in r.roles)
        states = ", ".join(x.value for x in State if x in r.states)
        who = {on_complaint: "on the complaint", leads: "holder, supervisor or head"}.get(r.scope, "anyone")
        codes = ", ".join(c.value for c in (C.FINISHED, C.WRONG_ROLE, C.WRONG_STATE, *r.refusals))
        if r.scope is not None:
            codes += ", not_yours"
        rows.append(f"| `{r.name}` | {roles} ({who}) | {states} | {r.effect} | {codes} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(as_markdown(), end="")
