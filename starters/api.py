"""The HTTP intake: versioned JSON API, multipart uploads, signed webhooks, and (via `ui.forms`) the
public complaint form and the staff intake form. `ui.app.create_app` mounts `router`.

Every refusal is `{"error": ..., "fields": [{"field": ..., "reason": ...}]}` with a 4xx status naming the
field (FastAPI's own 422 is replaced by `IntakeRoute`); a Temporal outage is a 503 that is safe to retry.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, File, Form, Header, Path, Request, Security, UploadFile
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel

from domain.actions import QUERY_STATE
from domain.models import Category, Channel, ComplaintType, ObligationName, State, Tier
from domain.view import ComplaintView
from ledger import api_keys
from ledger import intake as intake_records
from ledger.api_keys import ApiKey
from ledger.idempotency import request_hash, stored_response
from starters.attachments import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_TOTAL_BYTES,
    Upload,
    check_uploads,
    load_upload,
)
from starters.errors import ErrorBody, FieldProblem, IntakeError, IntakeUnavailable
from starters.http_routes import IntakeRoute, UploadRoute, json_error
from starters.intake import IdempotencyRef, IntakeRequest, IntakeResult, IntakeService, Taken, parse_request
from starters.rate_limit import RateLimiter
from starters.webhook import SIGNATURE_HEADER, WebhookEvent, check_fresh, verify

log = structlog.get_logger()

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "malformed request (e.g. JSON syntax)"},
    401: {"model": ErrorBody, "description": "missing or unknown API key / bad signature"},
    409: {
        "model": ErrorBody,
        "description": "Idempotency-Key reused for a different body, or the complaint was refused",
    },
    413: {"model": ErrorBody, "description": "body or attachments too large"},
    422: {"model": ErrorBody, "description": "invalid fields: each named with its reason"},
    429: {"model": ErrorBody, "description": "rate limit of this API key; see Retry-After"},
    503: {
        "model": ErrorBody,
        "description": "the complaint system did not answer; retry with the same Idempotency-Key",
    },
}

router = APIRouter(route_class=IntakeRoute)
_api = APIRouter(prefix="/api/v1", tags=["intake"], route_class=IntakeRoute, responses=ERRORS)
_uploads = APIRouter(prefix="/api/v1", tags=["intake"], route_class=UploadRoute, responses=ERRORS)

_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="the intake system's API key (one per system; `desk up` prints a dev key)",
)


def _ctx(request: Request):
    return request.app.state.ctx


def service_for(request: Request) -> IntakeService:
    ctx = _ctx(request)
    return IntakeService(ctx.temporal, ctx.settings, pool=ctx.pool, confirm=ctx.confirm)


def _limiter(request: Request) -> RateLimiter:
    limiter = getattr(request.app.state, "intake_limiter", None)
    if limiter is None:
        limiter = request.app.state.intake_limiter = RateLimiter()
    return limiter


async def intake_system(request: Request, raw: Annotated[str | None, Security(_key_header)] = None) -> ApiKey:
    """The calling intake system, by its API key; each key has its own token bucket."""
    if not raw:
        raise IntakeError("API key required", [("X-API-Key", "missing header")], status_code=401)
    if len(raw) > 200:
        raise IntakeError("unknown API key", [("X-API-Key", "unknown or revoked")], status_code=401)
    key = await api_keys.find_api_key(_ctx(request).pool, raw)
    if key is None:
        raise IntakeError("unknown API key", [("X-API-Key", "unknown or revoked")], status_code=401)
    wait = _limiter(request).take(("key", key.id), rate_per_minute=key.rate_per_minute, burst=key.burst)
    if wait:
        raise IntakeError(
            "rate limit exceeded",
            [("X-API-Key", f"more than {key.rate_per_minute} requests per minute; retry after {wait:.1f} s")],
            status_code=429,
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )
    return key


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="any unique printable string per complaint; a retry with the same key and body returns the first answer",
    ),
]


def _respond(taken: Taken) -> JSONResponse:
    if taken.replay is not None:
        status, body = taken.replay
        return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"})
    result = taken.result
    assert result is not None
    return JSONResponse(
        result.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/v1/complaints/{result.complaint_id}"},
    )


@_api.post(
    "/complaints",
    status_code=201,
    response_model=IntakeResult,
    summary="File a complaint",
    description=(
        "Starts one complaint, or joins the open complaint of the same customer + order + issue (then "
        "`joined` is true and the existing number is returned). Type, tier and departments are proposed by "
        "keyword rules; a person confirms them. Attachments are referenced by URL here; upload files with "
        "`POST /api/v1/complaints/upload`."
    ),
)
async def create_complaint(
    request: Request,
    body: IntakeRequest,
    key: Annotated[ApiKey, Depends(intake_system)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    idem = (
        IdempotencyRef(f"key:{key.id}", idempotency_key, request_hash(body.model_dump_json()))
        if idempotency_key
        else None
    )
    taken = await service_for(request).take(
        body, source=f"api:{key.name}", idempotency=idem, api_key_id=key.id
    )
    return _respond(taken)


@_uploads.post(
    "/complaints/upload",
    status_code=201,
    response_model=IntakeResult,
    summary="File a complaint with uploaded files",
    description=(
        f"multipart/form-data: `complaint` is the JSON of `POST /api/v1/complaints`, `files` up to {MAX_FILES} "
        f"files of at most {MAX_FILE_BYTES // 2**20} MiB each ({MAX_TOTAL_BYTES // 2**20} MiB in total): "
        "photos (JPEG, PNG, GIF, WebP, HEIC), PDF, text, Word/Excel, MP4, MP3."
    ),
)
async def create_complaint_with_files(
    request: Request,
    key: Annotated[ApiKey, Depends(intake_system)],
    complaint: Annotated[
        str, Form(description="the complaint as JSON (same shape as POST /api/v1/complaints)")
    ],
    files: Annotated[list[UploadFile], File(description="evidence files")] = [],  # noqa: B006
    idempotency_key: IdempotencyKey = None,
) -> Response:
    try:
        data = json.loads(complaint)
    except ValueError as e:
        raise IntakeError(
            "complaint is not valid JSON", [("complaint", "malformed JSON")], status_code=400
        ) from e
    req = parse_request(data)
    uploads = check_uploads([await _read_upload(f) for f in files])
    idem = None
    if idempotency_key:
        digests = [request_hash(u.name, u.content_type, u.data) for u in uploads]
        idem = IdempotencyRef(f"key:{key.id}", idempotency_key, request_hash(req.model_dump_json(), *digests))
    taken = await service_for(request).take(
        req, source=f"api:{key.name}", uploads=uploads, idempotency=idem, api_key_id=key.id
    )
    return _respond(taken)


async def _read_upload(f: UploadFile) -> Upload:
    data = await f.read(MAX_FILE_BYTES + 1)
    return Upload(name=f.filename or "", content_type=f.content_type or "", data=data)


class ComplaintStatus(BaseModel):
    """Where a complaint filed by this intake system stands (no customer data)."""

    complaint_id: str
    state: State
    tier: Tier
    tier_confirmed: bool
    complaint_type: ComplaintType
    category: Category
    channel: Channel
    received_at: datetime
    status_url: str
    next_due: ObligationName | None = None
    next_due_at: datetime | None = None
    first_response_by: datetime | None = None
    resolution_by: datetime | None = None
    extra_reports: int = 0
    reopen_count: int = 0
    closed_at: datetime | None = None


@_api.get(
    "/complaints/{number}",
    response_model=ComplaintStatus,
    summary="Where a complaint stands",
    description="Only for complaints this API key filed or joined.",
    responses={404: {"model": ErrorBody, "description": "no such complaint for this API key"}},
)
async def get_complaint(
    request: Request,
    number: Annotated[
        str, Path(max_length=64, pattern=r"^C-\d{8}-[0-9A-Z]{6}$", examples=["C-20261123-7F3K2Q"])
    ],
    key: Annotated[ApiKey, Depends(intake_system)],
) -> ComplaintStatus:
    ctx = _ctx(request)
    workflow_id = await intake_records.workflow_filed_by(ctx.pool, number, key.id)
    if workflow_id is None:
        raise IntakeError(
            "complaint not found",
            [("number", "no complaint with this number was filed with this API key")],
            status_code=404,
        )
    try:
        view = await ctx.temporal.get_workflow_handle(workflow_id).query(
            QUERY_STATE, result_type=ComplaintView
        )
    except Exception as e:  # RPC failure, workflow gone from retention, no worker
        log.warning("status query failed", complaint_id=number, error=str(e))
        raise IntakeUnavailable("the complaint system did not answer", [("service", "query failed")]) from e

    def due(name: ObligationName) -> datetime | None:
        dues = [o.due_at for o in view.obligations if o.name == name]
        return min(dues) if dues else None

    return ComplaintStatus(
        complaint_id=view.complaint_id,
        state=view.state,
        tier=view.tier,
        tier_confirmed=view.tier_confirmed,
        complaint_type=view.complaint_type,
        category=view.category,
        channel=view.channel,
        received_at=view.received_at,
        status_url=f"{ctx.settings.public_base_url.rstrip('/')}/status/{view.status_token}",
        next_due=view.next_due,
        next_due_at=view.next_due_at,
        first_response_by=due(ObligationName.FIRST_RESPONSE),
        resolution_by=due(ObligationName.RESOLUTION),
        extra_reports=view.extra_reports,
        reopen_count=view.reopen_count,
        closed_at=view.closed_at,
    )


async def _raw_body(request: Request) -> bytes:
    return await request.body()


async def signed_source(
    request: Request,
    source: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")],
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER, max_length=200)] = None,
) -> tuple[str, str]:
    """Checked before the body is looked at: an unsigned request learns nothing about the body's shape."""
    found = await api_keys.find_webhook_source(_ctx(request).pool, source)
    if found is None:
        raise IntakeError("unknown webhook source", [("source", "not registered")], status_code=404)
    secret, channel = found
    verify(secret, await _raw_body(request), signature)
    return source, channel


@_api.post(
    "/webhooks/{source}",
    status_code=201,
    response_model=IntakeResult,
    summary="Signed webhook from an e-commerce or social platform",
    description=(
        "Body: a `WebhookEvent`. `X-Signature: sha256=<hex>` is HMAC-SHA256 of the raw body with the "
        "source's shared secret. `timestamp` (Unix seconds) must be within 5 minutes; a redelivered "
        "`event_id` gets the first answer. See docs/intake.md."
    ),
    responses={404: {"model": ErrorBody, "description": "unknown source"}},
)
async def webhook(
    request: Request,
    event: WebhookEvent,
    signed: Annotated[tuple[str, str], Depends(signed_source)],
) -> Response:
    source, channel = signed
    raw = await _raw_body(request)
    idem = IdempotencyRef(f"webhook:{source}", event.event_id, request_hash(raw))
    try:
        check_fresh(event.timestamp)
    except IntakeError:
        # A platform redelivering hours later gets the answer it missed; nothing new is created either way.
        prior = await stored_response(_ctx(request).pool, idem.scope, idem.key, idem.request_hash)
        if prior is None:
            raise
        return _respond(Taken(result=None, replay=prior))
    req = event.complaint.model_copy(update={"channel": Channel(channel)})
    taken = await service_for(request).take(req, source=f"webhook:{source}", idempotency=idem)
    return _respond(taken)


@router.get("/attachments/{attachment_id}", include_in_schema=False)
async def attachment(request: Request, attachment_id: Annotated[str, Path(max_length=64)]) -> Response:
    row = await load_upload(_ctx(request).pool, attachment_id)
    if row is None:
        return json_error(
            404, ErrorBody(error="not found", fields=[FieldProblem(field="attachment_id", reason="unknown")])
        )
    inline = row["content_type"].startswith("image/") or row["content_type"] == "application/pdf"
    return Response(
        bytes(row["data"]),
        media_type=row["content_type"],
        headers={
            "Content-Disposition": ("inline" if inline else "attachment")
            + "; filename*=UTF-8''"
            + _quote(row["name"]),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


router.include_router(_api)
router.include_router(_uploads)
