"""Staff actions: the forms, how a form becomes an Update input, and refusals in words.

Who may do what, in which state and on which complaint is the domain's action table
(domain/action_table.py), the same the workflow's validators check: the page shows only the actions it
allows, a crafted POST of a role that may not act is refused here before any Update, and the three ways an
action can fail — a form field pydantic rejects, the table, the workflow's refusal (code + parameters) —
become one sentence in the reader's language (ui/refusal_words.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain import action_table
from domain import actions as a
from domain.action_table import Situation
from domain.models import Actor, Role, State
from domain.refusals import Refusal, RefusalCode, field_refusal, field_refusals, parse, refusal
from domain.view import ComplaintView
from ui.auth import StaffUser
from ui.i18n import t
from ui.refusal_words import refusal_text

UPDATE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the Update name (domain/actions.py)
    model: type[BaseModel]
    fields: tuple[str, ...]  # form fields the template renders, in order
    suggested_in: frozenset[State] = field(default_factory=frozenset)  # shown first in these states

    @property
    def roles(self) -> frozenset[Role]:
        return action_table.ACTIONS[self.name].roles


ACTIONS: dict[str, ActionSpec] = {
    s.name: s
    for s in (
        ActionSpec(
            a.UPDATE_ACKNOWLEDGE,
            a.Acknowledge,
            ("message", "note"),
            frozenset({State.RECEIVED}),
        ),
        ActionSpec(
            a.UPDATE_CLASSIFY,
            a.Classify,
            ("complaint_type", "tier", "departments", "note"),
            frozenset({State.RECEIVED, State.ACKNOWLEDGED}),
        ),
        ActionSpec(a.UPDATE_ANSWER, a.AnswerDirectly, ("answer", "note"), frozenset({State.ACKNOWLEDGED})),
        ActionSpec(
            a.UPDATE_ASSIGN,
            a.Assign,
            ("departments", "assignees", "note"),
            frozenset({State.ACKNOWLEDGED}),
        ),
        ActionSpec(a.UPDATE_START_HANDLING, a.StaffAction, ("note",), frozenset({State.ASSIGNED})),
        ActionSpec(
            a.UPDATE_DEPARTMENT_REPORT,
            a.DepartmentReport,
            ("department", "findings", "responsible", "note"),
            frozenset({State.ASSIGNED, State.IN_PROGRESS}),
        ),
        ActionSpec(
            a.UPDATE_PROGRESS,
            a.PostProgress,
            ("message", "to_customer", "note"),
            frozenset({State.IN_PROGRESS}),
        ),
        ActionSpec(
            a.UPDATE_PROPOSE_PLAN,
            a.ProposePlan,
            ("plan", "compensation", "note"),
            frozenset({State.ASSIGNED, State.IN_PROGRESS}),
        ),
        ActionSpec(a.UPDATE_APPROVE, a.Approve, ("approved", "note")),
        ActionSpec(a.UPDATE_WORK_DONE, a.WorkDone, ("summary", "note"), frozenset({State.IN_PROGRESS})),
        ActionSpec(
            a.UPDATE_RESOLVE,
            a.Resolve,
            ("cause", "solution", "compensation", "compensation_note", "note"),
            frozenset({State.WORK_DONE, State.IN_PROGRESS}),
        ),
        ActionSpec(a.UPDATE_WAIT, a.WaitOnCustomer, ("reason", "note")),
        ActionSpec(a.UPDATE_RESUME, a.Resume, ("note",), frozenset({State.WAITING_ON_CUSTOMER})),
        ActionSpec(a.UPDATE_ESCALATE, a.Escalate, ("reason", "note")),
        ActionSpec(a.UPDATE_REASSIGN, a.Reassign, ("holder_id", "note")),
        ActionSpec(a.UPDATE_OVERRIDE_INVESTIGATION, a.OverrideInvestigation, ("reason", "note")),
        ActionSpec(a.UPDATE_MERGE, a.MergeInto, ("target_complaint_id", "note")),
        ActionSpec(a.UPDATE_CANCEL, a.Cancel, ("reason", "note")),
        ActionSpec(a.UPDATE_REPLY, a.ReplyToCustomer, ("message",)),
        ActionSpec(a.UPDATE_NOTE, a.AddNote, ("note",)),
    )
}


# Written in the conversation's own boxes rather than among the actions.
CONVERSATION = (a.UPDATE_REPLY, a.UPDATE_NOTE)

FORBIDDEN = frozenset({RefusalCode.WRONG_ROLE, RefusalCode.NOT_YOURS})


class ActionRefused(Exception):
    """An action that did not happen, with the sentence to show and the HTTP status to answer with."""

    def __init__(
        self, message: str, status_code: int, field: str | None = None, refusal: Refusal | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.field = field
        self.refusal = refusal


def actor_of(user: StaffUser) -> Actor:
    """The signed-in person as the workflow sees them, their department included (per-complaint rights)."""
    departments = (user.department,) if user.department else ()
    return Actor(id=user.username, role=user.role, name=user.display_name, departments=departments)


def allowed_actions(user: StaffUser, view: ComplaintView | None = None) -> list[ActionSpec]:
    """The forms to show: what the action table allows this person on this complaint now (without a
    complaint: by role)."""
    if view is None:
        return [s for s in ACTIONS.values() if user.role in s.roles]
    names = set(action_table.allowed(actor_of(user), Situation.of_view(view)))
    return [s for s in ACTIONS.values() if s.name in names]


def check_role(spec: ActionSpec, user: StaffUser, locale: str) -> None:
    if user.role in spec.roles:
        return
    refused = refusal(RefusalCode.WRONG_ROLE, action=spec.name, role=user.role, allowed_roles=spec.roles)
    raise ActionRefused(refusal_text(refused, locale), 403)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _choice(value: str, yes: str = "yes", no: str = "no") -> bool | None:
    return True if value == yes else False if value == no else None


def form_to_fields(spec: ActionSpec, form: FormData) -> dict[str, object]:
    """Only the fields this action takes; empty optional values become None so pydantic names real gaps."""
    data: dict[str, object] = {}
    for name in spec.fields:
        if name in ("departments", "assignees"):
            data[name] = [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]
        elif name == "to_customer":
            data[name] = _text(form, name) in ("on", "true", "1", "yes")
        elif name == "approved":
            data[name] = _text(form, name) != "no"
        elif name == "responsible":
            data[name] = _choice(_text(form, name))
        elif name == "compensation":
            raw = _text(form, name)
            data[name] = raw or None
        elif name == "holder_id":
            data[name] = _text(form, name)
        else:
            data[name] = _text(form, name)
    return data


def build_input(
    spec: ActionSpec, user: StaffUser, form: FormData, locale: str, *, holder_role: Role | None = None
) -> BaseModel:
    fields = form_to_fields(spec, form)
    if spec.name == a.UPDATE_REASSIGN:
        # The new holder's role comes from the staff table, never from the form.
        fields["holder_role"] = holder_role.value if holder_role else ""
    try:
        return spec.model(actor=actor_of(user), **fields)
    except ValidationError as e:
        raise refused_field(e, locale) from e


def refused_field(e: ValidationError, locale: str) -> ActionRefused:
    """A form field pydantic rejects: the same `field` refusal the workflow would give."""
    r = field_refusal(e)
    return ActionRefused(validation_message(e, locale), 422, field=str(r.params.get("name")), refusal=r)


def validation_message(e: ValidationError, locale: str) -> str:
    """One line per bad field, in words (field name and reason)."""
    return "; ".join(refusal_text(r, locale) for r in field_refusals(e))


def refusal_of(err: BaseException) -> Refusal | None:
    """The refusal inside a failed Update (ApplicationError of a refusal type, its parameters the detail)."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ApplicationError) and (r := parse(cause.type, cause.details)) is not None:
            return r
        cause = cause.__cause__
    return None


async def send_update(
    client: Client, workflow_id: str, name: str, arg: BaseModel, locale: str
) -> a.ActionResult:
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await asyncio.wait_for(
            handle.execute_update(
                name, arg, result_type=a.ActionResult, rpc_timeout=timedelta(seconds=UPDATE_TIMEOUT_S)
            ),
            timeout=UPDATE_TIMEOUT_S + 5,
        )
    except WorkflowUpdateFailedError as e:
        r = refusal_of(e)
        if r is None:  # not a refusal of ours: a bug or an SDK error, named without its internals
            cause = e.cause
            code = getattr(cause, "type", None) or type(cause).__name__
            raise ActionRefused(t("refusal.unknown", locale, code=code), 409) from e
        status = 422 if r.code == RefusalCode.FIELD else 403 if r.code in FORBIDDEN else 409
        field_name = str(r.params.get("name")) if r.code == RefusalCode.FIELD else None
        raise ActionRefused(refusal_text(r, locale), status, field=field_name, refusal=r) from e
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:  # the complaint's run is over: the server itself refuses
            raise ActionRefused(t("refusal.gone", locale), 409) from e
        if e.status in (RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.INVALID_ARGUMENT):
            raise ActionRefused(t("refusal.unknown", locale, code=e.status.name.lower()), 409) from e
        raise ActionRefused(t("error.unavailable", locale, msg=e.message), 503) from e
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as e:
        raise ActionRefused(t("error.unavailable", locale, msg="timeout"), 503) from e
