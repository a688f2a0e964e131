"""Why an action did not happen, as data: a stable code and its parameters, never a sentence.

The workflow raises a refusal as an `ApplicationError` whose `type` is the code and whose one detail is the
parameters; the staff UI, the status page, the API and `desk simulate` put it into the reader's language.
A payload that does not validate becomes the same kind of refusal (`field`), never a validation dump.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum, StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError


class RefusalCode(StrEnum):
    FINISHED = "finished"  # {action, state}: the complaint is closed, merged or cancelled
    WRONG_ROLE = "wrong_role"  # {action, role, allowed_roles}
    WRONG_STATE = "wrong_state"  # {action, state, allowed_states, hint?}
    NOT_YOURS = "not_yours"  # {action, holder, holder_role, allowed_roles}: who can do it instead
    ALREADY_DONE = "already_done"  # {what, by?}
    NOTHING_TO_DO = "nothing_to_do"  # {what}: e.g. no plan to approve, no investigation running
    NOT_APPLICABLE = "not_applicable"  # {action, tier, complaint_type}: a direct answer on a complaint
    INVESTIGATION_PENDING = "investigation_pending"  # {action, departments}
    NEEDS_APPROVAL = "needs_approval"  # {compensation}: above what a supervisor approved
    TOP_OF_LADDER = "top_of_ladder"  # {role}
    FIELD = "field"  # {name, reason, ...}: one input field, and why


CODES = frozenset(c.value for c in RefusalCode)

# Field reasons beyond pydantic's own error types (missing, string_too_short, less_than_equal …).
REASON_SELF_MERGE = "self_merge"
REASON_NOT_STAFF = "not_staff"
REASON_DEMAND_BELOW = "demand_needed"  # {score: the satisfied score}
REASON_NOT_INVESTIGATED = "not_investigated"  # {departments}


class Refusal(BaseModel):
    code: RefusalCode
    params: dict[str, Any] = Field(default_factory=dict)

    def summary(self) -> str:
        """For engineers (logs, the Temporal Web UI): the code and its parameters, no prose."""
        inner = ", ".join(f"{k}={_plain(v)}" for k, v in self.params.items())
        return f"{self.code.value}{{{inner}}}"


def _plain(v: Any) -> str:
    if isinstance(v, list | tuple | set | frozenset):
        return "|".join(_plain(x) for x in v)
    return str(getattr(v, "value", v))


def refusal(code: RefusalCode, **params: Any) -> Refusal:
    """Parameters as JSON-ready values (enums by value, sets as sorted lists) so they cross any boundary."""
    return Refusal(code=code, params={k: _jsonable(v) for k, v in params.items() if v is not None})


def _jsonable(v: Any) -> Any:
    if isinstance(v, set | frozenset):  # enums in their own order (specialist … admin), else sorted
        return [_jsonable(x) for x in sorted(v, key=lambda x: (_order(x), str(x)))]
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return getattr(v, "value", v)


def parse(code: str | None, details: Sequence[Any]) -> Refusal | None:
    """A refusal back from a failure's type and details (None: the failure is not a refusal)."""
    if code not in CODES:
        return None
    params = details[0] if details and isinstance(details[0], dict) else {}
    return Refusal(code=RefusalCode(code), params=params)


def _order(x: Any) -> int:
    return list(type(x)).index(x) if isinstance(x, Enum) else 0


def field_refusals(e: ValidationError) -> list[Refusal]:
    """Each bad field of a payload, pydantic's error type as the reason (with its limit, if any)."""
    out = []
    for err in e.errors():
        loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, int | float | str)}
        out.append(refusal(RefusalCode.FIELD, name=loc[0] if loc else "?", reason=err.get("type"), **ctx))
    return out or [refusal(RefusalCode.FIELD, name="?", reason="invalid")]


def field_refusal(e: ValidationError) -> Refusal:
    """The first bad field of a payload."""
    return field_refusals(e)[0]
