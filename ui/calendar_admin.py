"""/admin/calendar: admins add or correct days (a company holiday, a year's announced schedule before the
holiday library has it), mark a year confirmed, import an iCal feed — each first previewed (which open
complaints' deadlines move), then applied: stored in PostgreSQL and sent to every open complaint, whose
running clocks re-plan on the new days. Admin role only; every form carries the CSRF token."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from activities import calendar_store
from domain.calendar_edits import CalendarEdits, CalendarFileError, DayEdit, YearConfirmed, parse_ics
from domain.models import Role
from domain.public_holidays import last_confirmed_year, library_version
from starters.calendars import CalendarBook, calendar_targets, file_edits, shared_book
from ui.auth import StaffUser, require_role
from ui.csrf import verify_csrf
from ui.i18n import t
from ui.templating import render, request_locale

router = APIRouter(include_in_schema=False)
ADMIN = require_role(Role.ADMIN)
MAX_ICS_BYTES = 1_000_000


class FormProblem(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def _book(request: Request) -> CalendarBook:
    ctx = request.app.state.ctx
    return shared_book(ctx.settings, ctx.pool)


def _text(form: FormData, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _day(form: FormData, name: str = "day") -> date:
    raw = _text(form, name, 20)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FormProblem(name, "a date as YYYY-MM-DD") from None


def _calendar(form: FormData) -> str:
    name = _text(form, "calendar", 50) or "CN"
    if name not in calendar_targets():
        raise FormProblem("calendar", f"one of {', '.join(calendar_targets())}")
    return name


async def _proposed(form: FormData, user: StaffUser) -> tuple[str, CalendarEdits, str]:
    """What the form asks for: (what, the edits it adds, the iCal bytes as base64 to carry to `apply`)."""
    what = _text(form, "what", 20)
    source = f"admin:{user.username}"
    if what == "day":
        kind = _text(form, "kind", 20)
        try:
            edit = DayEdit(
                calendar=_calendar(form),
                day=_day(form),
                kind=kind,  # type: ignore[arg-type]
                note=_text(form, "note", 500),
                source=source,
            )
        except ValidationError as e:
            err = e.errors()[0]
            raise FormProblem(str(err["loc"][0]), err["msg"]) from None
        return what, CalendarEdits(days=[edit]), ""
    if what == "confirm":
        try:
            year = int(_text(form, "year", 4))
            c = YearConfirmed(calendar=_calendar(form), year=year, note=_text(form, "note", 500))
        except (ValueError, ValidationError):
            raise FormProblem("year", "a year from 2004 to 2100") from None
        return what, CalendarEdits(confirmed=[c]), ""
    if what == "ics":
        raw = await _ics_bytes(form)
        try:
            edits = parse_ics(raw, calendar=_calendar(form), source=f"ics:{user.username}")
        except CalendarFileError as e:
            raise FormProblem("file", str(e)) from None
        return what, CalendarEdits(days=edits), base64.b64encode(raw).decode()
    raise FormProblem("what", "day, confirm or ics")


async def _ics_bytes(form: FormData) -> bytes:
    carried = form.get("ics_b64")
    if isinstance(carried, str) and carried:
        try:
            raw = base64.b64decode(carried, validate=True)
        except (binascii.Error, ValueError):
            raise FormProblem("file", "the carried file is damaged; upload it again") from None
    else:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise FormProblem("file", "choose an .ics file")
        raw = await upload.read(MAX_ICS_BYTES + 1)
    if not raw or len(raw) > MAX_ICS_BYTES:
        raise FormProblem("file", f"an .ics file of 1 byte to {MAX_ICS_BYTES // 1000} kB")
    return raw


async def _page(request: Request, user: StaffUser, *, status_code: int = 200, **extra) -> Response:
    locale = request_locale(request)
    book = _book(request)
    ctx = request.app.state.ctx
    try:
        file_days = file_edits(ctx.settings).days
        file_error = None
    except CalendarFileError as e:
        file_days, file_error = [], str(e)
    stored = await calendar_store.load_edits(ctx.pool)
    today = datetime.now(UTC).date()
    gaps = [g.message(locale) for g in await book.gaps(today)]
    return render(
        request,
        "calendar_admin.html",
        {
            "user": user,
            "nav": "calendar",
            "gaps": gaps,
            "stored": stored,
            "file_days": file_days,
            "file_error": file_error,
            "calendar_file": ctx.settings.calendar_file,
            "calendars": calendar_targets(),
            "library": library_version(),
            "newest": last_confirmed_year("CN"),
            "done": request.query_params.get("done"),
            **extra,
        },
        status_code=status_code,
    )


@router.get("/admin/calendar", response_class=HTMLResponse)
async def calendar_page(request: Request, user: StaffUser = Depends(ADMIN)) -> Response:
    return await _page(request, user)


@router.post("/admin/calendar", dependencies=[Depends(verify_csrf)])
async def calendar_change(request: Request, user: StaffUser = Depends(ADMIN)) -> Response:
    """step=preview (default): show which open complaints' deadlines move; step=apply: store and send."""
    form = await request.form()
    book = _book(request)
    try:
        what, proposed, ics_b64 = await _proposed(form, user)
    except FormProblem as p:
        message = t("error.field", request_locale(request), field=p.field, msg=p.reason)
        return await _page(request, user, status_code=422, error=message, error_field=p.field)
    now = datetime.now(UTC)
    if _text(form, "step", 10) != "apply":
        moved = await book.preview((await book.edits()).plus(proposed), now)
        fields = {
            k: v for k, v in form.multi_items() if isinstance(v, str) and k not in ("csrf_token", "step")
        }
        if ics_b64:
            fields["ics_b64"] = ics_b64
        return await _page(request, user, preview=moved, proposed=proposed, carry=fields)
    pool = request.app.state.ctx.pool
    if proposed.days:
        await calendar_store.put_days(pool, proposed.days)
    for c in proposed.confirmed:
        await calendar_store.confirm_year(pool, c, f"admin:{user.username}")
    reached = await book.push(request.app.state.ctx.temporal, now, f"{what} by {user.username}")
    return RedirectResponse(f"/admin/calendar?done={reached}", status_code=303)


@router.post("/admin/calendar/remove", dependencies=[Depends(verify_csrf)])
async def calendar_remove(request: Request, user: StaffUser = Depends(ADMIN)) -> Response:
    """Take back a stored edit (the library's answer for that day returns) and send the change."""
    form = await request.form()
    pool = request.app.state.ctx.pool
    try:
        calendar = _calendar(form)
        if _text(form, "year", 4):
            try:
                year = int(_text(form, "year", 4))
            except ValueError:
                raise FormProblem("year", "a year from 2004 to 2100") from None
            await calendar_store.unconfirm_year(pool, calendar, year)
        else:
            await calendar_store.delete_day(pool, calendar, _day(form))
    except FormProblem as p:
        message = t("error.field", request_locale(request), field=p.field, msg=p.reason)
        return await _page(request, user, status_code=422, error=message, error_field=p.field)
    reached = await _book(request).push(
        request.app.state.ctx.temporal, datetime.now(UTC), f"removed by {user.username}"
    )
    return RedirectResponse(f"/admin/calendar?done={reached}", status_code=303)
