"""Staff actions: which role may do what, how a form becomes an Update input, and refusals in words.

The workflow's validators are the final word (state, role, data); this module checks the role first on
the server so a role that may not act is refused even if it crafts the POST, and turns the three ways an
action can fail — a form field pydantic rejects, a role, the workflow's ApplicationError — into one
sentence a person can act on.
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
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.service import RPCError, RPCStatusCode

from domain import actions as a
from domain.models import STAFF_ROLES, Department, Role, State
from ui.auth import StaffUser
from ui.i18n import label, t

SUPERVISORS = frozenset({Role.SUPERVISOR, Role.SENIOR_SUPERVISOR, Role.ADMIN})
FRONT_LINE = frozenset({Role.SPECIALIST}) | SUPERVISORS
DEPARTMENT_PEOPLE = frozenset({Role.ENGINEER, Role.LOGISTICS, Role.DEPARTMENT_HEAD}) | SUPERVISORS
EVERYONE = frozenset(STAFF_ROLES)

UPDATE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the Update name (domain/actions.py)
    model: type[BaseModel]
    roles: frozenset[Role]
    fields: tuple[str, ...]  # form fields the template renders, in order
    suggested_in: frozenset[State] = field(default_factory=frozenset)  # shown first in these states


ACTIONS: dict[str, ActionSpec] = {
    s.name: s
    for s in (
        ActionSpec(
            a.UPDATE_ACKNOWLEDGE,
            a.Acknowledge,
            FRONT_LINE | {Role.DEPARTMENT_HEAD},
            ("message", "note"),
            frozenset({State.RECEIVED}),
        ),
        ActionSpec(
            a.UPDATE_CLASSIFY,
            a.Classify,
            FRONT_LINE,
            ("complaint_type", "tier", "departments", "note"),
            frozenset({State.RECEIVED, State.ACKNOWLEDGED}),
        ),
        ActionSpec(
            a.UPDATE_ANSWER, a.AnswerDirectly, FRONT_LINE, ("answer", "note"), frozenset({State.ACKNOWLEDGED})
        ),
        ActionSpec(
            a.UPDATE_ASSIGN,
            a.Assign,
            FRONT_LINE | {Role.DEPARTMENT_HEAD},
            ("departments", "assignees", "note"),
            frozenset({State.ACKNOWLEDGED}),
        ),
        ActionSpec(a.UPDATE_START_HANDLING, a.StaffAction, EVERYONE, ("note",), frozenset({State.ASSIGNED})),
        ActionSpec(
            a.UPDATE_DEPARTMENT_REPORT,
            a.DepartmentReport,
            DEPARTMENT_PEOPLE,
            ("department", "findings", "responsible", "note"),
            frozenset({State.ASSIGNED, State.IN_PROGRESS}),
        ),
        ActionSpec(
            a.UPDATE_PROGRESS,
            a.PostProgress,
            EVERYONE,
            ("message", "to_customer", "note"),
            frozenset({State.IN_PROGRESS}),
        ),
        ActionSpec(
            a.UPDATE_PROPOSE_PLAN,
            a.ProposePlan,
            EVERYONE,
            ("plan", "compensation", "note"),
            frozenset({State.ASSIGNED, State.IN_PROGRESS}),
        ),
        ActionSpec(a.UPDATE_APPROVE, a.Approve, SUPERVISORS, ("approved", "note")),
        ActionSpec(
            a.UPDATE_WORK_DONE, a.WorkDone, EVERYONE, ("summary", "note"), frozenset({State.IN_PROGRESS})
        ),
        ActionSpec(
            a.UPDATE_RESOLVE,
            a.Resolve,
            FRONT_LINE,
            ("cause", "solution", "compensation", "compensation_note", "note"),
            frozenset({State.WORK_DONE, State.IN_PROGRESS}),
        ),
        ActionSpec(a.UPDATE_WAIT, a.WaitOnCustomer, EVERYONE, ("reason", "note")),
        ActionSpec(a.UPDATE_RESUME, a.Resume, EVERYONE, ("note",), frozenset({State.WAITING_ON_CUSTOMER})),
        ActionSpec(a.UPDATE_ESCALATE, a.Escalate, EVERYONE, ("reason", "note")),
        ActionSpec(
            a.UPDATE_REASSIGN, a.Reassign, SUPERVISORS | {Role.DEPARTMENT_HEAD}, ("holder_id", "note")
        ),
        ActionSpec(a.UPDATE_OVERRIDE_INVESTIGATION, a.OverrideInvestigation, SUPERVISORS, ("reason", "note")),
        ActionSpec(a.UPDATE_MERGE, a.MergeInto, FRONT_LINE, ("target_complaint_id", "note")),
        ActionSpec(a.UPDATE_CANCEL, a.Cancel, SUPERVISORS, ("reason", "note")),
    )
}


class ActionRefused(Exception):
    """An action that did not happen, with the sentence to show and the HTTP status to answer with."""

    def __init__(self, message: str, status_code: int, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.field = field


def allowed_actions(user: StaffUser) -> list[ActionSpec]:
    return [s for s in ACTIONS.values() if user.role in s.roles or user.role == Role.ADMIN]


def check_role(spec: ActionSpec, user: StaffUser, locale: str) -> None:
    if user.role in spec.roles or user.role == Role.ADMIN:
        return
    raise ActionRefused(
        t(
            "error.forbidden",
            locale,
            role=label("role", user.role, locale),
            action=t(f"action.{spec.name}", locale),
        ),
        403,
    )


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
        return spec.model(actor=user.actor(), **fields)
    except ValidationError as e:
        raise ActionRefused(validation_message(e, locale), 422, field=_first_field(e)) from e


def _first_field(e: ValidationError) -> str | None:
    errors = e.errors()
    return str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else None


def validation_message(e: ValidationError, locale: str) -> str:
    """'Field “Cause”: String should have at least 1 character' — one line per bad field."""
    parts = []
    for err in e.errors():
        loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
        name = loc[0] if loc else "?"
        human = t(f"field.{name}", locale)
        shown = human if human != f"field.{name}" else name
        parts.append(t("error.field", locale, field=f"{shown} ({name})", msg=err.get("msg", "invalid")))
    return "; ".join(parts)


def _failure_message(err: BaseException) -> str:
    """The innermost human message of a failure chain (ApplicationError raised by the validator)."""
    cause: BaseException | None = err
    message = str(err)
    while cause is not None:
        if isinstance(cause, ApplicationError | FailureError) and str(cause):
            message = cause.message if hasattr(cause, "message") else str(cause)
        cause = cause.__cause__
    return message


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
        raise ActionRefused(t("error.refused", locale, msg=_failure_message(e)), 409) from e
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise ActionRefused(t("error.refused", locale, msg=e.message), 409) from e
        if e.status in (RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.INVALID_ARGUMENT):
            raise ActionRefused(t("error.refused", locale, msg=e.message), 409) from e
        raise ActionRefused(t("error.unavailable", locale, msg=e.message), 503) from e
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as e:
        raise ActionRefused(t("error.unavailable", locale, msg="timeout"), 503) from e


def departments_of(user: StaffUser) -> list[Department]:
    return [user.department] if user.department else []
