"""Intake routes' plumbing: a body size limit per route and one error shape for every refusal.

FastAPI's own 422 (`{"detail": [...]}`) is replaced by `{"error": ..., "fields": [{"field", "reason"}]}`
inside the route class, so it applies to these routers only and needs nothing from the app factory.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException  # FastAPI raises the base class for body parse errors

from starters.attachments import MAX_TOTAL_BYTES
from starters.errors import ErrorBody, FieldProblem, IntakeError, problems_from_errors

JSON_BODY_LIMIT = 256 * 1024
UPLOAD_BODY_LIMIT = MAX_TOTAL_BYTES + 1024 * 1024  # the files plus the multipart envelope and JSON part


class _BodyTooLarge(Exception):
    pass


def json_error(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return json_error(
            400,
            ErrorBody(
                error="body is not valid JSON", fields=[FieldProblem(field="body", reason="malformed JSON")]
            ),
        )
    return json_error(422, ErrorBody(error="invalid complaint", fields=problems_from_errors(errors)))


class IntakeRoute(APIRoute):
    """Body size limit, our error shape for validation and intake errors, never a bare 500 for them."""

    max_body = JSON_BODY_LIMIT

    def get_route_handler(self):
        original = super().get_route_handler()
        limit = self.max_body

        async def handler(request: Request) -> Response:
            declared = request.headers.get("content-length")
            if declared is not None:
                if not declared.isdigit():
                    return json_error(
                        400,
                        ErrorBody(
                            error="bad Content-Length",
                            fields=[FieldProblem(field="Content-Length", reason="not a number")],
                        ),
                    )
                if int(declared) > limit:
                    return _too_large(limit)
            request = _limit_body(request, limit)
            try:
                return await original(request)
            except RequestValidationError as e:
                return _validation_response(e)
            except IntakeError as e:
                return json_error(e.status_code, e.body(), e.headers)
            except _BodyTooLarge:
                return _too_large(limit)
            except HTTPException as e:
                if isinstance(e.__cause__, _BodyTooLarge):
                    return _too_large(limit)
                if e.status_code in (301, 302, 303, 307, 308):
                    raise
                detail = e.detail if isinstance(e.detail, str) else "request refused"
                return json_error(
                    e.status_code,
                    ErrorBody(error=detail, fields=[FieldProblem(field="body", reason=detail)]),
                    e.headers,
                )

        return handler


class UploadRoute(IntakeRoute):
    max_body = UPLOAD_BODY_LIMIT


def _too_large(limit: int) -> JSONResponse:
    return json_error(
        413,
        ErrorBody(
            error="request body too large",
            fields=[FieldProblem(field="body", reason=f"larger than {limit} bytes")],
        ),
    )


def _limit_body(request: Request, limit: int) -> Request:
    received = 0
    receive = request.receive

    async def limited() -> dict[str, Any]:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
        return message

    return Request(request.scope, limited)
