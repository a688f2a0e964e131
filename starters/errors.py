"""Intake refusals, one shape for every channel: `{"error": ..., "fields": [{"field": ..., "reason": ...}]}`.

The HTTP API returns it as JSON, the forms show it next to the fields, SMTP turns it into a 5xx reply, the
CSV report prints it per row. Field names are dotted paths into the request (`customer.phone`,
`attachments[0].url`), so the person or system that sent it can fix exactly that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError


class FieldProblem(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    error: str
    fields: list[FieldProblem] = []


class IntakeError(Exception):
    """A complaint that cannot be taken, with the HTTP status that says why."""

    status_code = 422

    def __init__(
        self,
        error: str,
        fields: Iterable[FieldProblem | tuple[str, str]] = (),
        *,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(error)
        self.error = error
        self.headers = headers or {}
        self.fields = [
            f if isinstance(f, FieldProblem) else FieldProblem(field=f[0], reason=f[1]) for f in fields
        ]
        if status_code is not None:
            self.status_code = status_code

    def body(self) -> ErrorBody:
        return ErrorBody(error=self.error, fields=self.fields)

    def __str__(self) -> str:
        if not self.fields:
            return self.error
        return self.error + ": " + "; ".join(f"{f.field}: {f.reason}" for f in self.fields)


class IntakeInvalid(IntakeError):
    """Bad input: the sender can fix it (422)."""

    status_code = 422


class IntakeRefused(IntakeError):
    """The complaint system refused it as a whole (e.g. the open complaint it would join rejects reports)."""

    status_code = 409


class IntakeUnavailable(IntakeError):
    """Temporal or the database did not answer in time; safe to retry (with the same Idempotency-Key)."""

    status_code = 503


def field_path(
    loc: Sequence[Any], *, drop: tuple[str, ...] = ("body", "query", "header", "path", "form")
) -> str:
    """('body', 'customer', 'phone') → 'customer.phone'; ('body', 'attachments', 0, 'url') → 'attachments[0].url'."""
    parts = list(loc)
    if parts and parts[0] in drop:
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            # pydantic adds the validator's name for union / function-after errors; it is not a field.
            if isinstance(p, str) and (p.startswith("function-") or p in ("constrained-str", "str", "int")):
                continue
            out += ("." if out else "") + str(p)
    return out or "body"


def _reason(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "extra_forbidden":
        return "unknown field"
    if err.get("type") == "missing":
        return "required"
    return msg.removeprefix("Value error, ")


def problems_from_errors(errors: Iterable[dict[str, Any]], *, prefix: str = "") -> list[FieldProblem]:
    out: list[FieldProblem] = []
    seen: set[tuple[str, str]] = set()
    for err in errors:
        name = field_path(err.get("loc", ()))
        if prefix:
            name = prefix if name == "body" else f"{prefix}.{name}"
        item = (name, _reason(err))
        if item not in seen:
            seen.add(item)
            out.append(FieldProblem(field=item[0], reason=item[1]))
    return out


def invalid_from_validation(exc: ValidationError, *, prefix: str = "") -> IntakeInvalid:
    return IntakeInvalid(
        "invalid complaint", problems_from_errors(exc.errors(include_url=False), prefix=prefix)
    )
