"""The two HTML intake forms, server-rendered (Jinja2), zh-CN / en, usable on a phone.

- `/file`: the public complaint form for customers. CSRF-protected with the web app's double-submit token
  (ui.csrf), rate-limited per client address; answers with the complaint number and the status link.
- `/staff/intake`: hotline and counter staff record a complaint for a customer; requires a signed-in staff
  user (`ui.auth.require_staff`) and lets the person set type and tier instead of the classifier.

Both go through the same intake service as the API; a refusal re-renders the form with each field's reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile

from domain.models import Category, Channel, ComplaintType, Locale, Tier
from starters.attachments import MAX_FILE_BYTES, MAX_FILES, Upload, check_uploads
from starters.errors import FieldProblem, IntakeError, IntakeInvalid, IntakeUnavailable
from starters.http_routes import UploadRoute
from starters.intake import IntakeResult, IntakeService, StaffOverride, parse_request
from starters.rate_limit import RateLimiter
from ui import csrf
from ui.auth import StaffUser, require_staff
from ui.form_text import ft
from ui.i18n import label, t
from ui.templating import LANG_COOKIE, iso, request_locale, time_tag, without_bidi_controls

log = structlog.get_logger()

TEMPLATES_DIR = Path(__file__).parent / "templates"
_env = Environment(
    loader=ChoiceLoader(
        [FileSystemLoader(TEMPLATES_DIR), FileSystemLoader(Path(__file__).parent.parent / "ui" / "templates")]
    ),
    autoescape=select_autoescape(["html"]),
    finalize=without_bidi_controls,
)
templates = Jinja2Templates(env=_env)

PUBLIC_RATE_PER_MINUTE = 20
PUBLIC_BURST = 10
STAFF_CHANNELS = (
    Channel.HOTLINE,
    Channel.COUNTER,
    Channel.EMAIL,
    Channel.SOCIAL,
    Channel.APP,
    Channel.WEB,
    Channel.ECOMMERCE,
)
CUSTOMER_TYPES = ("individual", "business", "vip")

# error path in the request → the form input that shows it
_FORM_FIELD = {
    "customer.name": "name",
    "customer.phone": "phone",
    "customer.email": "email",
    "customer.locale": "locale",
    "customer.customer_type": "customer_type",
    "customer.region": "region",
}

router = APIRouter(include_in_schema=False, route_class=UploadRoute)


def _render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    loc = request_locale(request)
    ctx: dict[str, Any] = {
        "request": request,
        "locale": loc,
        "other_locale": "en" if loc == "zh-CN" else "zh-CN",
        "_": lambda key, **kw: t(key, loc, **kw),
        "f": lambda key: ft(key, loc),
        "L": lambda kind, value: label(kind, value, loc),
        "time": time_tag,
        "iso": iso,
        "csrf_field": lambda: Markup('<input type="hidden" name="{}" value="{}">').format(
            csrf.FIELD, csrf.csrf_token(request)
        ),
        "categories": [c for c in Category],
        "tiers": list(Tier),
        "types": list(ComplaintType),
        "channels": STAFF_CHANNELS,
        "customer_types": CUSTOMER_TYPES,
        "locales": [loc_.value for loc_ in Locale],
        "max_files": MAX_FILES,
        "max_file_mb": MAX_FILE_BYTES // (1024 * 1024),
        "values": {},
        "errors": {},
        "message": None,
    }
    ctx.update(context)
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    csrf.attach_cookie(request, response)
    if request.query_params.get("lang"):
        response.set_cookie(LANG_COOKIE, loc, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


def _service(request: Request) -> IntakeService:
    ctx = request.app.state.ctx
    return IntakeService(ctx.temporal, ctx.settings, pool=ctx.pool, confirm=ctx.confirm)


def _limiter(request: Request) -> RateLimiter:
    limiter = getattr(request.app.state, "intake_form_limiter", None)
    if limiter is None:
        limiter = request.app.state.intake_form_limiter = RateLimiter()
    return limiter


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _uploads(form: FormData) -> list[Upload]:
    out = []
    for item in form.getlist("files"):
        if isinstance(item, UploadFile) and (item.filename or item.size):
            data = await item.read(MAX_FILE_BYTES + 1)
            if item.filename or data:  # browsers send one empty part when no file was chosen
                out.append(Upload(name=item.filename or "", content_type=item.content_type or "", data=data))
    return out


def _request_data(form: FormData, *, channel: Channel, locale: str, staff: bool) -> dict[str, Any]:
    customer: dict[str, Any] = {
        "name": _text(form, "name"),
        "phone": _text(form, "phone") or None,
        "email": _text(form, "email") or None,
        "locale": _text(form, "locale") or locale,
    }
    data: dict[str, Any] = {
        "channel": channel.value,
        "customer": customer,
        "description": _text(form, "description"),
        "order_number": _text(form, "order_number") or None,
        "category": _text(form, "category") or None,
    }
    if staff:
        customer["customer_type"] = _text(form, "customer_type") or "individual"
        customer["region"] = _text(form, "region") or None
        data["product"] = _text(form, "product") or None
        data["subject"] = _text(form, "subject") or None
    return data


_FRIENDLY = {"name", "phone", "email", "description", "order_number", "category", "locale"}


def _field_errors(problems: list[FieldProblem], locale: str) -> dict[str, str]:
    """Form input → a message for a person, in their language (the API keeps the technical reason)."""
    out: dict[str, str] = {}
    for p in problems:
        name = _FORM_FIELD.get(p.field, p.field)
        if name.startswith("files") or name.startswith("attachments"):
            out.setdefault("files", ft("err.files", locale) + p.reason)
        elif name in _FRIENDLY:
            out.setdefault(name, ft(f"err.{name}", locale))
        else:
            out.setdefault(name, ft("err.other", locale) + p.reason)
    return out


def _values(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != csrf.FIELD}


async def _take(
    request: Request,
    form: FormData,
    *,
    channel: Channel,
    source: str,
    override: StaffOverride | None,
    staff: bool,
) -> IntakeResult:
    data = _request_data(form, channel=channel, locale=request_locale(request), staff=staff)
    problems: list[FieldProblem] = []
    req = None
    uploads: list[Upload] = []
    try:
        req = parse_request(data)
    except IntakeInvalid as e:
        problems += e.fields
    try:
        uploads = check_uploads(await _uploads(form))
    except IntakeInvalid as e:
        problems += e.fields
    if problems or req is None:
        raise IntakeInvalid("invalid complaint", problems)
    taken = await _service(request).take(req, source=source, uploads=uploads, override=override)
    assert taken.result is not None
    return taken.result


def _refusal(
    request: Request, template: str, form: FormData, e: IntakeError, extra: dict[str, Any]
) -> HTMLResponse:
    loc = request_locale(request)
    if isinstance(e, IntakeUnavailable):
        message = ft("error.unavailable", loc)
    elif e.status_code == 429:
        message = ft("error.rate", loc)
    else:
        message = ft("error.summary", loc)
    return _render(
        request,
        template,
        {
            **extra,
            "values": _values(form),
            "errors": {} if e.status_code in (429, 503) else _field_errors(e.fields, loc),
            "message": message,
        },
        status_code=e.status_code,
    )


def _csrf_ok(request: Request, form: FormData) -> bool:
    token = request.headers.get(csrf.HEADER) or form.get(csrf.FIELD)
    if csrf.foreign_origin(request) is not None:  # posted from another site
        return False
    return csrf.token_is_valid(request, token if isinstance(token, str) else None)


def _csrf_refused(request: Request) -> HTMLResponse:
    loc = request_locale(request)
    return _render(
        request, "intake_form.html", {"staff": False, "message": t("error.csrf", loc)}, status_code=403
    )


# ---------------------------------------------------------------------------------------------- public


@router.get("/file", response_class=HTMLResponse)
async def public_form(request: Request) -> Response:
    return _render(request, "intake_form.html", {"staff": False})


@router.post("/file", response_class=HTMLResponse)
async def public_submit(request: Request) -> Response:
    form = await request.form(max_files=MAX_FILES + 1, max_fields=40)
    if not _csrf_ok(request, form):
        return _csrf_refused(request)
    client = request.client.host if request.client else "unknown"
    try:
        wait = _limiter(request).take(
            ("ip", client), rate_per_minute=PUBLIC_RATE_PER_MINUTE, burst=PUBLIC_BURST
        )
        if wait:
            raise IntakeError(
                "rate limit",
                [("form", "too many submissions")],
                status_code=429,
                headers={"Retry-After": str(max(1, int(wait + 0.999)))},
            )
        result = await _take(request, form, channel=Channel.WEB, source="form", override=None, staff=False)
    except IntakeError as e:
        response = _refusal(request, "intake_form.html", form, e, {"staff": False})
        response.headers.update(e.headers)
        return response
    return _render(request, "intake_done.html", {"result": result, "staff": False}, status_code=201)


# ---------------------------------------------------------------------------------------------- staff


@router.get("/staff/intake", response_class=HTMLResponse)
async def staff_form(request: Request, user: StaffUser = Depends(require_staff)) -> Response:
    return _render(
        request, "intake_form.html", {"staff": True, "user": user, "values": {"channel": "hotline"}}
    )


@router.post("/staff/intake", response_class=HTMLResponse)
async def staff_submit(request: Request, user: StaffUser = Depends(require_staff)) -> Response:
    form = await request.form(max_files=MAX_FILES + 1, max_fields=40)
    if not _csrf_ok(request, form):
        return _render(
            request,
            "intake_form.html",
            {"staff": True, "user": user, "message": t("error.csrf", request_locale(request))},
            status_code=403,
        )
    try:
        channel_value = _text(form, "channel") or Channel.HOTLINE.value
        if channel_value not in {c.value for c in STAFF_CHANNELS}:
            raise IntakeInvalid("invalid complaint", [("channel", f"unknown channel {channel_value!r}")])
        override = StaffOverride(
            actor_id=user.username,
            tier=_enum(Tier, form, "tier"),
            complaint_type=_enum(ComplaintType, form, "complaint_type"),
        )
        result = await _take(
            request,
            form,
            channel=Channel(channel_value),
            source=f"staff:{user.username}",
            override=override,
            staff=True,
        )
    except IntakeError as e:
        return _refusal(request, "intake_form.html", form, e, {"staff": True, "user": user})
    return _render(
        request, "intake_done.html", {"result": result, "staff": True, "user": user}, status_code=201
    )


def _enum(kind, form: FormData, name: str):
    value = _text(form, name)
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise IntakeInvalid("invalid complaint", [(name, f"unknown value {value!r}")]) from None
