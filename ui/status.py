"""`/status/<token>`: the customer's own view of their complaint, reachable only with its token.

Plain words, in the complaint's language (switchable): where it stands, what happens next and by when, the
result, the messages sent to the customer, and — once there is a result — the 1–5 rating with the demand
when unhappy (the `rate` Update, which reopens the complaint below 4), and while it is open a box to add
a message and photos (the `customer_message` Update; files pass intake's checks). Nothing about staff is
shown: no names, notes or internal steps. A wrong token gets the same plain 404 as a missing page.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from domain.actions import UPDATE_CUSTOMER_MESSAGE, UPDATE_RATE, CustomerMessage, Rate
from domain.events import EventKind
from domain.models import TERMINAL_STATES, Channel, ObligationName, ObligationStatus, State
from ledger import intake as intake_records
from starters.attachments import MAX_FILE_BYTES, MAX_FILES, Upload, check_uploads, store_uploads
from starters.errors import IntakeInvalid
from ui import complaints, messages
from ui.actions import ActionRefused, refused_field, send_update
from ui.auth import StaffUser, require_staff
from ui.csrf import verify_csrf
from ui.form_text import ft
from ui.i18n import normalize_locale, t
from ui.templating import render

router = APIRouter(include_in_schema=False)

# What the customer is promised next, in the order it matters to them; internal clocks are left out.
CUSTOMER_FACING = (
    ObligationName.FIRST_RESPONSE,
    ObligationName.DIRECT_ANSWER,
    ObligationName.PRELIMINARY_PLAN,
    ObligationName.CUSTOMER_UPDATE,
    ObligationName.RESULT_FEEDBACK,
    ObligationName.RESOLUTION,
    ObligationName.RATING,
)
RUNNING = (ObligationStatus.OPEN, ObligationStatus.WARNED, ObligationStatus.BREACHED, ObligationStatus.PAUSED)
RATEABLE = (State.RESOLVED, State.AWAITING_RATING, State.ANSWERED)
NO_INDEX = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def _locale(request: Request, complaint_locale: str | None) -> str:
    asked = request.query_params.get("lang")
    return normalize_locale(asked or complaint_locale)


def _not_found(request: Request) -> Response:
    locale = normalize_locale(request.query_params.get("lang"))
    response = render(
        request,
        "status_404.html",
        {"message": t("error.not_found", locale)},
        status_code=404,
        locale=locale,
    )
    response.headers.update(NO_INDEX)
    return response


def _missed(o, now: datetime) -> bool:
    """Breached, or past due and not yet marked so (the breach timer fires a moment after the due time)."""
    late = o.status in (ObligationStatus.OPEN, ObligationStatus.WARNED) and o.due_at <= now
    return o.name != ObligationName.RATING and (o.status == ObligationStatus.BREACHED or late)


def missed_promise(view, now: datetime | None = None):
    """The earliest promise to the customer that is past due and not yet kept, if any: the page says so
    plainly instead of repeating a time that has gone by."""
    now = now or datetime.now(UTC)
    missed = [o for o in view.obligations if o.name in CUSTOMER_FACING and _missed(o, now)]
    return min(missed, key=lambda o: o.due_at) if missed else None


def next_step(view, now: datetime | None = None) -> tuple[str, object | None]:
    """(what happens next, by when) for the customer; a missed promise is not offered again as a time."""
    now = now or datetime.now(UTC)
    running = [
        o
        for o in view.obligations
        if o.name in CUSTOMER_FACING and o.status in RUNNING and not _missed(o, now)
    ]
    if not running:
        return ("none", None) if missed_promise(view, now) is None else ("asap", None)
    first = min(running, key=lambda o: o.due_at)
    # A paused clock (waiting on the customer) has no date to promise until it runs again.
    return first.name.value, None if first.status == ObligationStatus.PAUSED else first.due_at


async def _page(
    request: Request,
    token: str,
    *,
    error: str | None = None,
    message_error: str | None = None,
    status_code: int = 200,
    form: dict | None = None,
) -> Response:
    ctx = request.app.state.ctx
    loaded = await complaints.load_by_token(ctx.temporal, ctx.pool, token)
    if loaded is None:
        number = await intake_records.registering(ctx.pool, token) if len(token) <= 200 else None
        return _registering(request, number) if number else _not_found(request)
    return await _render(
        request, loaded, token, error=error, message_error=message_error, status_code=status_code, form=form
    )


def _registering(request: Request, number: str) -> Response:
    """Taken by intake a moment ago, not yet in the ledger (the worker's first step writes it): say so, and
    look again in a few seconds, rather than a 404 for a link the customer was just given."""
    locale = normalize_locale(request.query_params.get("lang"))
    response = render(
        request,
        "status_registering.html",
        {"message": t("status.registering", locale, number=number)},
        locale=locale,
    )
    response.headers.update(NO_INDEX)
    response.headers["Refresh"] = "5"
    response.headers["Cache-Control"] = "no-store"
    return response


async def _render(
    request: Request,
    loaded: complaints.Loaded,
    token: str,
    *,
    preview: bool = False,
    error: str | None = None,
    message_error: str | None = None,
    status_code: int = 200,
    form: dict | None = None,
) -> Response:
    ctx = request.app.state.ctx
    view = loaded.view
    locale = _locale(request, view.customer.locale.value)
    step, due = next_step(view)
    sent = list(
        reversed(
            messages.grouped(await messages.for_complaint(ctx.pool, view.complaint_id, audience="customer"))
        )
    )
    response = render(
        request,
        "status.html",
        {
            "v": view,
            "token": token,
            "step": step,
            "due": due,
            "missed": missed_promise(view),
            "sent": sent,
            "can_rate": view.state in RATEABLE and not preview,
            "preview": preview,
            "rated": request.query_params.get("rated") == "1",
            "can_write": view.state not in TERMINAL_STATES and not preview,
            "mine": [e for e in view.timeline if e.kind == EventKind.CUSTOMER_MESSAGE][::-1],
            "written": request.query_params.get("written") == "1",
            "error": error,
            "message_error": message_error,
            "form": form or {},
        },
        status_code=status_code,
        locale=locale,
    )
    response.headers.update(NO_INDEX)
    return response


@router.get("/staff/complaints/{complaint_id}/customer-view", response_class=HTMLResponse)
async def customer_view(
    request: Request, complaint_id: str, user: StaffUser = Depends(require_staff)
) -> Response:
    """What the customer's status page shows, for staff: read only and without the status token, which
    acts as the customer (a staff member holding it could rate the complaint in the customer's name)."""
    ctx = request.app.state.ctx
    loaded = await complaints.load(ctx.temporal, ctx.pool, complaint_id)
    if loaded is None:
        return _not_found(request)
    return await _render(request, loaded, "", preview=True)


@router.get("/status/{token}", response_class=HTMLResponse)
async def status_page(request: Request, token: str) -> Response:
    return await _page(request, token)


@router.post("/status/{token}/rate", dependencies=[Depends(verify_csrf)])
async def rate(request: Request, token: str) -> Response:
    ctx = request.app.state.ctx
    loaded = await complaints.load_by_token(ctx.temporal, ctx.pool, token)
    if loaded is None:
        return _not_found(request)
    locale = _locale(request, loaded.view.customer.locale.value)
    form = await request.form()
    values: dict[str, str] = {}
    for k in ("score", "comment", "demand"):
        raw = form.get(k)
        values[k] = raw.strip() if isinstance(raw, str) else ""
    try:
        try:
            arg = Rate(
                score=values.get("score") or 0,
                comment=values.get("comment", ""),
                demand=values.get("demand", ""),
            )
        except ValidationError as e:
            raise refused_field(e, locale) from e
        await send_update(ctx.temporal, loaded.workflow_id, UPDATE_RATE, arg, locale)
    except ActionRefused as refusal:
        return await _page(
            request, token, error=refusal.message, status_code=refusal.status_code, form=values
        )
    suffix = f"&lang={locale}" if request.query_params.get("lang") else ""
    return RedirectResponse(f"/status/{token}?rated=1{suffix}", status_code=303)


async def _uploads(form) -> list[Upload]:
    out = []
    for item in form.getlist("files"):
        if isinstance(item, UploadFile) and (item.filename or item.size):
            data = await item.read(MAX_FILE_BYTES + 1)
            if item.filename or data:  # browsers send one empty part when no file was chosen
                out.append(Upload(name=item.filename or "", content_type=item.content_type or "", data=data))
    return out


@router.post("/status/{token}/message", dependencies=[Depends(verify_csrf)])
async def write(request: Request, token: str) -> Response:
    """The customer adds a message and files: the same file checks as intake, then the Update."""
    ctx = request.app.state.ctx
    loaded = await complaints.load_by_token(ctx.temporal, ctx.pool, token)
    if loaded is None:
        return _not_found(request)
    view = loaded.view
    locale = _locale(request, view.customer.locale.value)
    form = await request.form(max_files=MAX_FILES + 1, max_fields=10)
    raw = form.get("message")
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        try:
            uploads = check_uploads(await _uploads(form))
        except IntakeInvalid as e:
            reason = "; ".join(p.reason for p in e.fields)
            raise ActionRefused(ft("err.files", locale) + reason, e.status_code, field="files") from e
        if not text and uploads:
            text = t("status.write.files_only", locale)
        try:
            arg = CustomerMessage(
                channel=Channel.WEB, message=text, received_at=datetime.now(UTC).isoformat()
            )
        except ValidationError as e:
            raise refused_field(e, locale) from e
        if uploads:
            async with ctx.pool.acquire() as conn, conn.transaction():
                stored = await store_uploads(conn, view.complaint_id, uploads, ctx.settings.public_base_url)
            arg = arg.model_copy(update={"attachments": stored})
        await send_update(ctx.temporal, loaded.workflow_id, UPDATE_CUSTOMER_MESSAGE, arg, locale)
    except ActionRefused as refusal:
        return await _page(
            request,
            token,
            message_error=refusal.message,
            status_code=refusal.status_code,
            form={"message": text},
        )
    suffix = f"&lang={locale}" if request.query_params.get("lang") else ""
    return RedirectResponse(f"/status/{token}?written=1{suffix}", status_code=303)


def banner_lines(settings) -> list[tuple[str, str]]:
    return [
        (
            "Customer status",
            f"{settings.public_base_url.rstrip('/')}/status/<token>   (the link in every confirmation)",
        )
    ]
