"""Staff pages: the queue, one complaint with its actions, the supervisor inbox, the messages sent.

Every action is a form that becomes one workflow Update (ui/actions.py). The role is checked here on the
server, then by the workflow's validator; a refusal comes back on the same page, in words.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from domain.models import Channel, ComplaintType, Department, Role, State, Tier
from ledger import canned_replies
from ledger.conversation import load_conversation
from ledger.reads import LedgerReader
from ledger.search import LedgerSearch
from ui import complaints, messages
from ui.actions import (
    ACTIONS,
    CONVERSATION,
    ActionRefused,
    allowed_actions,
    build_input,
    check_role,
    send_update,
    validation_message,
)
from ui.auth import StaffUser, list_staff, require_role, require_staff
from ui.csrf import verify_csrf
from ui.i18n import label, local_time, t
from ui.messages import redact_status_links
from ui.templating import render, request_locale, viewer_zone

router = APIRouter(include_in_schema=False)

SUPERVISOR_DESK = (Role.SUPERVISOR, Role.SENIOR_SUPERVISOR, Role.DEPARTMENT_HEAD)
# Bulk actions on the queue: the supervisors' assign / reassign, each complaint's own Update.
BULK_ACTIONS = ("reassign", "assign")
BULK_ROLES = (Role.SUPERVISOR, Role.SENIOR_SUPERVISOR, Role.DEPARTMENT_HEAD)
BULK_MAX = 100


def _ctx(request: Request):
    return request.app.state.ctx


async def _names(pool) -> dict[str, str]:
    return {u.username: u.display_name for u in await list_staff(pool)}


def _queue_context(filters: complaints.QueueFilters) -> dict:
    return {
        "filters": filters,
        "tiers": list(Tier),
        "types": list(ComplaintType),
        "channels": list(Channel),
        "scopes": complaints.QueueFilters.SCOPES,
    }


def _today_from(request: Request) -> datetime:
    """Midnight today in the viewer's zone: where "closed today" begins."""
    now = datetime.now(viewer_zone(request))
    return datetime.combine(now.date(), time(), tzinfo=now.tzinfo)


def _filters(request: Request, user: StaffUser) -> complaints.QueueFilters:
    # A department head's desk opens on their departments' complaints.
    default = "team" if user.role == Role.DEPARTMENT_HEAD else "all"
    return complaints.QueueFilters.from_query(dict(request.query_params), default_scope=default)


async def _queue_items(request: Request, user: StaffUser, filters: complaints.QueueFilters):
    """The queue's rows, or a 422 page naming the filter that is not one of the choices."""
    try:
        return await complaints.list_open(_ctx(request).pool, filters, user, _today_from(request)), None
    except ValidationError as e:
        message = validation_message(e, request_locale(request))
        page = render(
            request, "error.html", {"user": user, "status_code": 422, "message": message}, status_code=422
        )
        return None, page


@router.get("/staff", response_class=HTMLResponse)
async def queue(request: Request, user: StaffUser = Depends(require_staff)) -> Response:
    filters = _filters(request, user)
    items, refused = await _queue_items(request, user, filters)
    if refused is not None:
        return refused
    staff = await list_staff(_ctx(request).pool)
    return render(
        request,
        "queue.html",
        {
            "user": user,
            "nav": "queue",
            "items": items,
            "names": {u.username: u.display_name for u in staff},
            "staff": staff,
            "departments": list(Department),
            "can_bulk": user.has_role(*BULK_ROLES),
            **_queue_context(filters),
        },
    )


@router.get("/staff/queue/rows", response_class=HTMLResponse)
async def queue_rows(request: Request, user: StaffUser = Depends(require_staff)) -> Response:
    """The queue's table body, polled by desk.js so the queue refreshes without a reload."""
    filters = _filters(request, user)
    items, refused = await _queue_items(request, user, filters)
    if refused is not None:
        return refused
    names = await _names(_ctx(request).pool)
    return render(
        request,
        "_queue_rows.html",
        {
            "user": user,
            "items": items,
            "filters": filters,
            "names": names,
            "can_bulk": user.has_role(*BULK_ROLES),
        },
    )


@router.post("/staff/queue/bulk", dependencies=[Depends(verify_csrf)])
async def queue_bulk(request: Request, user: StaffUser = Depends(require_staff)) -> Response:
    """Assign or reassign the ticked complaints: one Update per complaint, through the same path as the
    complaint page's buttons (role check, form → Update input, the workflow's validator). Each complaint's
    outcome is shown; one refusal does not stop the others."""
    locale = request_locale(request)
    ctx = _ctx(request)
    form = await request.form()
    action = form.get("bulk_action")
    spec = ACTIONS.get(action) if action in BULK_ACTIONS else None
    if spec is None:
        return render(
            request,
            "error.html",
            {"user": user, "status_code": 422, "message": t("bulk.no_action", locale)},
            status_code=422,
        )
    ids = list(dict.fromkeys(v[:64] for v in form.getlist("complaint") if isinstance(v, str) and v))
    if not ids or len(ids) > BULK_MAX:
        return render(
            request,
            "error.html",
            {"user": user, "status_code": 422, "message": t("bulk.count", locale, n=BULK_MAX)},
            status_code=422,
        )
    staff = await list_staff(ctx.pool)
    try:
        if not user.has_role(*BULK_ROLES):
            raise ActionRefused(
                t(
                    "error.forbidden",
                    locale,
                    role=label("role", user.role, locale),
                    action=t("bulk.title", locale),
                ),
                403,
            )
        check_role(spec, user, locale)
        # The same input for every complaint: a bad field is refused once, naming it.
        holder = next((s for s in staff if s.username == form.get("holder_id")), None)
        arg = build_input(spec, user, form, locale, holder_role=holder.role if holder else None)
    except ActionRefused as refusal:
        return render(
            request,
            "error.html",
            {"user": user, "status_code": refusal.status_code, "message": refusal.message},
            status_code=refusal.status_code,
        )
    reader = LedgerReader(ctx.pool)

    async def one(complaint_id: str) -> tuple[str, str | None]:
        try:
            view = await reader.view(complaint_id)
            if view is None:
                raise ActionRefused(t("error.not_found", locale), 404)
            await send_update(ctx.temporal, view.workflow_id, spec.name, arg, locale)
        except ActionRefused as refusal:
            return complaint_id, refusal.message
        return complaint_id, None

    gate = asyncio.Semaphore(8)

    async def gated(complaint_id: str) -> tuple[str, str | None]:
        async with gate:
            return await one(complaint_id)

    outcomes = await asyncio.gather(*(gated(c) for c in ids))
    filters = _filters(request, user)
    items, refused = await _queue_items(request, user, filters)
    if refused is not None:
        return refused
    names = {u.username: u.display_name for u in staff}
    failed = [o for o in outcomes if o[1]]
    return render(
        request,
        "queue.html",
        {
            "user": user,
            "nav": "queue",
            "items": items,
            "names": names,
            "staff": staff,
            "departments": list(Department),
            "can_bulk": True,
            "bulk_done": t(
                "bulk.done", locale, action=t(f"action.{spec.name}", locale), n=len(ids) - len(failed)
            ),
            "bulk_failed": failed,
            **_queue_context(filters),
        },
        status_code=409 if failed and len(failed) == len(ids) else 200,
    )


async def _complaint_page(
    request: Request,
    user: StaffUser,
    complaint_id: str,
    *,
    error: str | None = None,
    error_field: str | None = None,
    done: str | None = None,
    status_code: int = 200,
    form_action: str | None = None,
) -> Response:
    ctx = _ctx(request)
    loaded = await complaints.load(ctx.temporal, ctx.pool, complaint_id)
    locale = request_locale(request)
    if loaded is None:
        code = status_code if error else 404
        return render(
            request,
            "error.html",
            {"user": user, "status_code": code, "message": error or t("error.not_found", locale)},
            status_code=code,
        )
    view = loaded.view
    specs = allowed_actions(user, view)
    talk = [s for s in specs if s.name in CONVERSATION]
    specs = [s for s in specs if s.name not in CONVERSATION]
    suggested = [s for s in specs if view.state in s.suggested_in]
    others = [s for s in specs if s not in suggested]
    staff = await list_staff(ctx.pool)
    sent = messages.grouped(await messages.for_complaint(ctx.pool, view.complaint_id))
    temporal_url = (
        f"{ctx.settings.temporal_ui_url.rstrip('/')}/namespaces/{quote(ctx.temporal.namespace)}"
        f"/workflows/{quote(loaded.workflow_id)}"
    )
    return render(
        request,
        "complaint.html",
        {
            "user": user,
            "nav": "queue",
            "loaded": loaded,
            "v": view,
            "next_ob": complaints.next_obligation(view),
            "suggested": suggested,
            "others": others,
            "staff": staff,
            "names": {u.username: u.display_name for u in staff},
            "sent": sent,
            "customer_others": await LedgerSearch(ctx.pool).customer_complaints(view.complaint_id),
            "conversation": [  # staff read what the customer got, without the status link's token
                c.model_copy(update={"text": redact_status_links(c.text), "subject": redact_status_links(c.subject)})
                for c in await load_conversation(ctx.pool, view)
            ],
            "talk": talk,
            "canned": await _canned_for(ctx.pool, view, viewer_zone(request)) if talk else [],
            "temporal_url": temporal_url,
            "show_temporal": user.has_role(Role.ENGINEER, Role.SUPERVISOR, Role.SENIOR_SUPERVISOR),
            "error": error,
            "error_field": error_field,
            "form_action": form_action,
            "done": done,
            "departments": list(Department),
            "tiers": list(Tier),
            "types": list(ComplaintType),
            "State": State,
        },
        status_code=status_code,
    )


async def _canned_for(pool, view, zone) -> list[canned_replies.CannedReply]:
    """The canned replies of this complaint's category in the customer's language (else the general ones),
    with its customer's name, number and next promised time filled in."""
    locale = view.customer.locale.value
    found = await canned_replies.list_replies(pool, category=view.category.value, locale=locale)
    found = found or await canned_replies.list_replies(pool, category="other", locale=locale)
    nxt = complaints.next_obligation(view)
    values = {
        "customer_name": view.customer.name,
        "complaint_id": view.complaint_id,
        "promised_time": local_time(nxt.due_at, "%Y-%m-%d %H:%M", zone) if nxt else "—",
    }
    return [r.model_copy(update={"body": canned_replies.fill(r.body, values)}) for r in found]


@router.get("/staff/complaints/{complaint_id}", response_class=HTMLResponse)
async def complaint_page(
    request: Request, complaint_id: str, done: str | None = None, user: StaffUser = Depends(require_staff)
) -> Response:
    done_label = None
    if done and done in ACTIONS:
        done_label = t(
            "complaint.done", request_locale(request), action=t(f"action.{done}", request_locale(request))
        )
    return await _complaint_page(request, user, complaint_id[:64], done=done_label)


@router.get("/staff/complaints/{complaint_id}/version")
async def complaint_version(
    request: Request, complaint_id: str, user: StaffUser = Depends(require_staff)
) -> Response:
    """When the ledger row last changed: the page polls it and offers a reload when someone else acted."""
    version = await complaints.ledger_version(_ctx(request).pool, complaint_id[:64])
    return Response(version or "", media_type="text/plain", headers={"Cache-Control": "no-store"})


@router.post("/staff/complaints/{complaint_id}/actions/{action}", dependencies=[Depends(verify_csrf)])
async def act(
    request: Request, complaint_id: str, action: str, user: StaffUser = Depends(require_staff)
) -> Response:
    locale = request_locale(request)
    ctx = _ctx(request)
    spec = ACTIONS.get(action)
    if spec is None:
        return render(
            request,
            "error.html",
            {"user": user, "status_code": 404, "message": f"unknown action {action[:40]!r}"},
            status_code=404,
        )
    form = await request.form()
    back = form.get("back")
    try:
        check_role(spec, user, locale)
        holder_role = None
        if spec.name == "reassign":
            holder_id = form.get("holder_id")
            holder = next((s for s in await list_staff(ctx.pool) if s.username == holder_id), None)
            holder_role = holder.role if holder else None
        arg = build_input(spec, user, form, locale, holder_role=holder_role)
        loaded = await complaints.load(ctx.temporal, ctx.pool, complaint_id[:64])
        if loaded is None:
            raise ActionRefused(t("error.not_found", locale), 404)
        await send_update(ctx.temporal, loaded.workflow_id, spec.name, arg, locale)
    except ActionRefused as refusal:
        return await _complaint_page(
            request,
            user,
            complaint_id[:64],
            error=refusal.message,
            error_field=refusal.field,
            status_code=refusal.status_code,
            form_action=spec.name,
        )
    if isinstance(back, str) and back.startswith("/staff") and not back.startswith("//"):
        return RedirectResponse(back, status_code=303)
    return RedirectResponse(
        f"/staff/complaints/{quote(loaded.view.complaint_id)}?done={spec.name}", status_code=303
    )


@router.get("/staff/supervisor", response_class=HTMLResponse)
async def supervisor_inbox(
    request: Request, user: StaffUser = Depends(require_role(*SUPERVISOR_DESK))
) -> Response:
    ctx = _ctx(request)
    inbox = await complaints.supervisor_inbox(ctx.pool)
    staff = await list_staff(ctx.pool)
    names = {u.username: u.display_name for u in staff}
    return render(
        request,
        "supervisor.html",
        {"user": user, "nav": "supervisor", "inbox": inbox, "staff": staff, "names": names},
    )


@router.get("/staff/messages", response_class=HTMLResponse)
async def sink_messages(
    request: Request, complaint: str = "", user: StaffUser = Depends(require_staff)
) -> Response:
    items = await messages.sink(_ctx(request).pool, complaint_id=complaint[:64] or None)
    return render(
        request,
        "messages.html",
        {"user": user, "nav": "messages", "items": items, "complaint": complaint[:64]},
    )


def banner_lines(settings) -> list[tuple[str, str]]:
    """What `desk up` prints about this module (the queue itself is printed by the stack)."""
    base = settings.public_base_url.rstrip("/")
    return [("Supervisor inbox", f"{base}/staff/supervisor")]
