"""Supervisors edit the canned replies (ledger/canned_replies.py): per category and language, placeholders
`{customer_name}`, `{complaint_id}`, `{promised_time}` filled in when staff pick one in the reply box.

A bad field is a 422 naming it and why, never a 500.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from domain.models import Category, Locale, Role
from ledger import canned_replies
from ui.auth import StaffUser, require_role
from ui.csrf import verify_csrf
from ui.i18n import t
from ui.templating import render, request_locale

router = APIRouter(include_in_schema=False)
EDITORS = require_role(Role.SUPERVISOR, Role.SENIOR_SUPERVISOR)
PATH = "/staff/canned-replies"


class BadField(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field)
        self.field, self.reason = field, reason


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _fields(form: FormData) -> dict[str, str]:
    out = {name: _text(form, name) for name in ("category", "locale", "title", "body")}
    if out["category"] not in {c.value for c in Category}:
        raise BadField("category", "choice")
    if out["locale"] not in {lc.value for lc in Locale}:
        raise BadField("locale", "choice")
    for name, limit in (("title", 200), ("body", 5000)):
        if not out[name]:
            raise BadField(name, "required")
        if len(out[name]) > limit:
            raise BadField(name, "too_long")
    return out


def _id(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise BadField("id", "number")
    return int(raw)


async def _page(request: Request, user: StaffUser, *, status_code: int = 200, **extra) -> Response:
    pool = request.app.state.ctx.pool
    return render(
        request,
        "canned_replies.html",
        {
            "user": user,
            "nav": "canned",
            "replies": await canned_replies.list_replies(pool),
            "categories": list(Category),
            "locales": list(Locale),
            "placeholders": canned_replies.PLACEHOLDERS,
            **extra,
        },
        status_code=status_code,
    )


@router.get(PATH, response_class=HTMLResponse)
async def canned_page(request: Request, done: str = "", user: StaffUser = Depends(EDITORS)) -> Response:
    return await _page(request, user, done=done in ("saved", "deleted") and done)


@router.post(PATH, dependencies=[Depends(verify_csrf)])
async def canned_save(request: Request, user: StaffUser = Depends(EDITORS)) -> Response:
    form = await request.form()
    locale = request_locale(request)
    try:
        reply_id = _id(_text(form, "id"))
        fields = _fields(form)
        saved = await canned_replies.save(
            request.app.state.ctx.pool, reply_id=reply_id, by=user.username, **fields
        )
        if saved is None:
            raise BadField("id", "unknown")
    except BadField as e:
        error = t(
            "canned.bad_field",
            locale,
            field=t(f"canned.field.{e.field}", locale),
            reason=t(f"canned.reason.{e.reason}", locale),
        )
        return await _page(request, user, status_code=422, error=error, error_field=e.field)
    return RedirectResponse(f"{PATH}?done=saved", status_code=303)


@router.post(PATH + "/{reply_id}/delete", dependencies=[Depends(verify_csrf)])
async def canned_delete(request: Request, reply_id: int, user: StaffUser = Depends(EDITORS)) -> Response:
    if not await canned_replies.delete(request.app.state.ctx.pool, reply_id):
        locale = request_locale(request)
        error = t(
            "canned.bad_field",
            locale,
            field=t("canned.field.id", locale),
            reason=t("canned.reason.unknown", locale),
        )
        return await _page(request, user, status_code=404, error=error)
    return RedirectResponse(f"{PATH}?done=deleted", status_code=303)
