"""What a complaint shows of itself, computed from its state: the view people read, the current details and
search attributes engineers read, the promised times and report contents customers and supervisors read, and
the addressing of every message it sends. Pure functions of `CaseState` and the intake (`ComplaintInput`);
the workflow only hands them on.
"""

from __future__ import annotations

from typing import Any

from domain import clocks
from domain import search_attributes as sa
from domain.calendar import in_zone
from domain.case import CaseState
from domain.clocks import Obligation
from domain.events import EventKind
from domain.messages import Audience, Notification, TemplateKey
from domain.models import ComplaintInput, Department, ObligationName, ObligationStatus, Role, State
from domain.view import ComplaintView, ObligationView

N = ObligationName


def role_words(role: Role) -> str:
    """A role as engineers read it in the Web UI (people read the UI's words)."""
    return role.value.replace("_", " ")


def _state_words(state: State) -> str:
    return state.value.replace("_", " ")


def search_attribute_values(
    case: CaseState, input: ComplaintInput, nxt: Obligation | None
) -> list[tuple[Any, Any]]:
    """Typed search attributes (never customer data): how engineers find complaints."""
    return [
        (sa.COMPLAINT_ID, input.complaint_id),
        (sa.TIER, case.tier.value),
        (sa.STATE, case.state.value),
        (sa.COMPLAINT_TYPE, case.complaint_type.value),
        (sa.CATEGORY, case.category.value),
        (sa.CHANNEL, input.channel.value),
        (sa.POLICY, case.policy.name),
        (sa.HOLDER_ROLE, case.holder_role.value),
        (sa.DEPARTMENTS, [d.value for d in case.departments]),
        (sa.BREACHED, list(case.breached)),
        (sa.BREACH_COUNT, case.breach_count),
        (sa.LAST_BREACH_AT, case.last_breach_at),
        (sa.NEXT_DUE_AT, nxt.due_at if nxt else None),
        (sa.REOPEN_COUNT, case.reopen_count),
    ]


def details_text(case: CaseState, input: ComplaintInput, nxt: Obligation | None) -> str:
    """Where it stands, in words: the Temporal Web UI's current details for engineers."""
    s = case
    zone = s.policy.peak.timezone
    lines = [
        f"**{input.complaint_id}** · {s.tier.value} {s.complaint_type.value} · **{_state_words(s.state)}**"
        f" · held by {role_words(s.holder_role)} · policy {s.policy.name}",
    ]
    if nxt is not None:
        local = in_zone(nxt.due_at, zone)
        lines.append(f"Next deadline: {nxt.name.value} due {local:%Y-%m-%d %H:%M} ({zone})")
    if s.breach_count:
        lines.append(f"Breaches: {s.breach_count} ({', '.join(s.breached)})")
    if s.reopen_count:
        lines.append(f"Reopened {s.reopen_count}×")
    if s.investigation_open:
        pending = [f.department.value for f in s.investigation if f.reported_at is None and not f.escalated]
        late = [f.department.value for f in s.investigation if f.reported_at is None and f.escalated]
        lines.append(
            f"Joint investigation: waiting for {', '.join(pending + late) or '—'}"
            + (f" (late: {', '.join(late)})" if late else "")
        )
    return "\n".join(lines)


def promises(case: CaseState) -> dict[str, Any]:
    """The promised times the confirmation names (B §1.2: the customer is told when to expect feedback)."""
    return {
        "promised": {
            ob.name.value: ob.due_at.isoformat()
            for ob in case.obligations.values()
            if ob.name in (N.FIRST_RESPONSE, N.DIRECT_ANSWER, N.PRELIMINARY_PLAN, N.RESOLUTION)
        },
        "tier": case.tier.value,
    }


def progress_context(case: CaseState) -> dict[str, Any]:
    """What an automatic report says: the state of the complaint and what is due next."""
    nxt = clocks.next_due(case.obligations)
    return {
        "tier": case.tier.value,
        "departments": [d.value for d in case.departments],
        "last_progress": case.last_progress,
        "plan": case.plan.text if case.plan else None,
        "next_due": nxt.name.value if nxt else None,
        "next_due_at": nxt.due_at.isoformat() if nxt else None,
        "open_obligations": sorted(k for k, o in case.obligations.items() if o.status in clocks.RUNNING),
        "breaches": case.breach_count,
    }


# The promises the customer was given (the confirmation's times), in what they mean to the customer.
CUSTOMER_PROMISES = frozenset(
    {N.FIRST_RESPONSE, N.DIRECT_ANSWER, N.PRELIMINARY_PLAN, N.RESULT_FEEDBACK, N.RESOLUTION}
)
PEOPLE = frozenset(Role) - {Role.SYSTEM, Role.CUSTOMER}


def standing(case: CaseState) -> str:
    """Where the complaint stands, as a code the customer templates word."""
    if case.investigation_open:
        return "awaiting_findings"
    if case.plan is not None and case.plan.approved is None:
        return "plan_under_review"
    return {
        State.RECEIVED: "awaiting_review",
        State.ACKNOWLEDGED: "awaiting_review",
        State.ASSIGNED: "with_departments",
        State.IN_PROGRESS: "with_departments",
        State.WORK_DONE: "result_being_prepared",
        State.WAITING_ON_CUSTOMER: "waiting_on_you",
    }.get(case.state, "with_departments")


def customer_update_context(case: CaseState, since: Any) -> dict[str, Any]:
    """What an automatic update to the customer may truthfully say (issue 14): the staff's newest progress
    since the last update if there is any (progress already sent to the customer is not repeated), else
    where the complaint stands and the next promise still ahead — or the promise already missed, and who
    holds it now. `no_progress`: no person did anything on it since `since` (the holder and the supervisor
    are told; the dashboard counts such updates apart)."""
    recent = [e for e in case.timeline if e.at >= since]
    worked = any(e.actor.role in PEOPLE for e in recent)
    fresh = [
        e
        for e in recent
        if e.actor.role in PEOPLE
        and (
            e.kind == EventKind.WORK_DONE
            or (e.kind == EventKind.PROGRESS and not e.data.get("to_customer", True))
        )
    ]
    promises = [o for o in case.obligations.values() if o.name in CUSTOMER_PROMISES]
    ahead = [o for o in promises if o.status in clocks.RUNNING]
    missed = [o for o in promises if o.status == ObligationStatus.BREACHED]
    nxt = min(ahead, key=lambda o: o.due_at) if ahead else None
    late = min(missed, key=lambda o: o.due_at) if missed else None
    pending = [f.department.value for f in case.investigation if f.reported_at is None]
    return {
        "message": None,  # an old message is never sent again as news
        "last_progress": None,
        "progress": str(fresh[-1].data.get("text") or fresh[-1].text) if fresh else None,
        "standing": standing(case),
        "pending_departments": pending,
        "next_promise": nxt.name.value if nxt else None,
        "next_promise_at": nxt.due_at.isoformat() if nxt else None,
        "missed": late.name.value if late else None,
        "missed_at": late.due_at.isoformat() if late else None,
        "holder_role": case.holder_role.value,
        "no_progress": not worked,
    }


def to_customer(
    case: CaseState,
    input: ComplaintInput,
    template: TemplateKey,
    key: str,
    context: dict[str, Any] | None = None,
) -> Notification:
    """A message to the customer on their channels; `key` makes it idempotent within the complaint."""
    c = input.customer
    return Notification(
        idempotency_key=f"{input.complaint_id}:{key}",
        complaint_id=input.complaint_id,
        template=template,
        audience=Audience.CUSTOMER,
        locale=c.locale,
        context={
            "complaint_id": input.complaint_id,
            "status_token": input.status_token,
            "channel": input.channel.value,
            "complaint_type": case.complaint_type.value,
            "customer": {"name": c.name, "phone": c.phone, "email": c.email},
            "state": case.state.value,
            **(context or {}),
        },
    )


def confirmation(case: CaseState, input: ComplaintInput) -> Notification:
    """B §4: the number, the status link and the promised times, at once. The workflow's intake sends it,
    and so may intake itself as soon as Temporal has the complaint (starters/confirmation.py): the same
    notification with the same key, so the outbox sends it once."""
    return to_customer(case, input, TemplateKey.CONFIRMATION, "confirmation", promises(case))


def to_staff(
    case: CaseState,
    complaint_id: str,
    template: TemplateKey,
    key: str,
    *,
    roles: list[Role],
    departments: list[Department] | None = None,
    staff_ids: list[str] | None = None,
    context: dict[str, Any] | None = None,
) -> Notification:
    """A message to staff: by role, department and person (activities/notifications/routing.py)."""
    return Notification(
        idempotency_key=f"{complaint_id}:{key}",
        complaint_id=complaint_id,
        template=template,
        audience=Audience.STAFF,
        roles=roles,
        departments=departments if departments is not None else list(case.departments),
        staff_ids=staff_ids or [],
        context={
            "complaint_id": complaint_id,
            "tier": case.tier.value,
            "state": case.state.value,
            "holder_role": case.holder_role.value,
            **(context or {}),
        },
    )


def view_of(case: CaseState, input: ComplaintInput, workflow_id: str) -> ComplaintView:
    """The complaint as people see it (the `state` query, the ledger's row)."""
    s, i = case, input
    obligations = sorted(
        [*s.past, *s.obligations.values()], key=lambda o: (o.started_at, o.key, o.occurrence)
    )
    nxt = clocks.next_due(s.obligations)
    return ComplaintView(
        complaint_id=i.complaint_id,
        workflow_id=workflow_id,
        status_token=i.status_token,
        policy=s.policy.name,
        state=s.state,
        tier=s.tier,
        complaint_type=s.complaint_type,
        category=s.category,
        channel=i.channel,
        customer=i.customer,
        subject=i.subject,
        description=i.description,
        order_number=i.order_number,
        product=i.product,
        attachments=s.attachments,
        received_at=i.received_at,
        tier_confirmed=s.tier_confirmed,
        holder=s.holder,
        holder_role=s.holder_role,
        departments=s.departments,
        assignees=s.assignees,
        obligations=[
            ObligationView(
                name=o.name,
                status=o.status,
                started_at=o.started_at,
                due_at=o.due_at,
                warn_at=o.warn_at,
                met_at=o.met_at,
                breached_at=o.breached_at,
                occurrence=o.occurrence,
                department=o.department,
                escalation_level=o.escalation_level,
            )
            for o in obligations
        ],
        next_due=nxt.name if nxt else None,
        next_due_at=nxt.due_at if nxt else None,
        plan=s.plan,
        investigation=s.investigation,
        resolution=s.resolution,
        ratings=s.ratings,
        reopen_count=s.reopen_count,
        breach_count=s.breach_count,
        last_breach_at=s.last_breach_at,
        extra_reports=s.extra_reports,
        merged_into=s.merged_into,
        cancel_reason=s.cancel_reason,
        tracking=s.tracking,
        closed_at=s.closed_at,
        timeline=s.timeline,
    )
