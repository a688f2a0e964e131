"""Refuse bad characters before any route sees them: never a 500 from a NUL byte or a megabyte query value.

PostgreSQL refuses NUL in text and Temporal limits id lengths; rather than every route guarding for it, the
app-wide dependency `check_input` looks at the path, query, cookies, headers, form fields and JSON bodies
of every request first. A refusal names the field and the reason: a 400 page on the staff and status pages,
FastAPI's 422 (or the intake API's own 422 shape) everywhere else, which is what the OpenAPI document says.

Allowed: any printable Unicode; in form fields and JSON strings also tab and line breaks (descriptions).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import UploadFile

from ui.errors import is_html_path
from ui.i18n import t
from ui.templating import request_locale

MAX_PATH = 2000
MAX_PATH_PARAM = 1000  # Temporal's default limit of a workflow id
MAX_QUERY_VALUE = 2000
MAX_HEADER_VALUE = 8192
MAX_TEXT_FIELD = 50_000
MAX_SCANNED_BODY = 1024 * 1024

# C0 controls, DEL and C1 controls; text fields may keep \t \n \r.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # tab is allowed; bytes ≥ 0x80 are latin-1 text
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class _Bad(Exception):
    def __init__(self, where: str, field: str, reason: str, n: int = 0) -> None:
        self.where, self.field, self.reason, self.n = where, field, reason, n


def _check(where: str, field: str, value: str, limit: int, pattern: re.Pattern[str] = _CONTROL) -> None:
    if pattern.search(value):
        raise _Bad(where, field, "control")
    if len(value) > limit:
        raise _Bad(where, field, "too_long", limit)


def _walk_json(value: Any, path: str) -> None:
    if isinstance(value, str):
        _check("body", path or "body", value, MAX_TEXT_FIELD, _CONTROL_IN_TEXT)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check("body", f"{path}.{k}" if path else str(k), str(k), 200)
            _walk_json(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk_json(v, f"{path}[{i}]")


async def _scan(request: Request) -> None:
    for name, value in request.path_params.items():  # by name first: the refusal says which one
        if isinstance(value, str):
            _check("path", name, value, MAX_PATH_PARAM)
    _check("path", "path", request.url.path, MAX_PATH)
    for name, value in request.query_params.multi_items():
        _check("query", name, name, 200)
        _check("query", name, value, MAX_QUERY_VALUE)
    for name, value in request.headers.items():
        _check("header", name, value, MAX_HEADER_VALUE, _CONTROL_IN_HEADER)
    for name, value in request.cookies.items():
        _check("cookie", name, value, MAX_HEADER_VALUE)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_SCANNED_BODY and content_type != "multipart/form-data":
        return  # the route's own body limit answers (413)
    if content_type in _FORM_TYPES:
        form = await request.form(max_files=20, max_fields=100)  # cached: the route reads the same form
        for name, value in form.multi_items():
            _check("body", name, name, 200)
            if isinstance(value, UploadFile):
                _check("body", name, value.filename or "", 300)
            else:
                _check("body", name, value, MAX_TEXT_FIELD, _CONTROL_IN_TEXT)
    elif content_type.endswith("json"):
        try:
            data = json.loads(await request.body() or b"null")
        except ValueError:
            return  # malformed JSON is the route's to answer
        _walk_json(data, "")


async def check_input(request: Request) -> None:
    """App-wide dependency: a 4xx naming the field for control characters or over-long values."""
    try:
        await _scan(request)
    except _Bad as bad:
        reason_en = t(f"input.{bad.reason}", "en", n=bad.n)
        if is_html_path(request.url.path):
            locale = request_locale(request)  # a bad `lang` value normalizes to the default
            reason = t(f"input.{bad.reason}", locale, n=bad.n)
            raise HTTPException(
                status_code=400, detail=t("error.bad_input", locale, field=bad.field, reason=reason)
            ) from None
        raise RequestValidationError(
            [{"type": f"value_error.{bad.reason}", "loc": (bad.where, bad.field), "msg": reason_en}]
        ) from None


# The same rules in the OpenAPI document, so clients and schema-driven tests know them.
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"


def _plain_string(schema: Any) -> bool:
    return (
        isinstance(schema, dict)
        and schema.get("type") == "string"
        and not ({"pattern", "format", "enum", "const"} & schema.keys())
    )


def _strings(node: Any, components: dict[str, Any], seen: set[str]) -> None:
    """Give every plain string in a request schema the text pattern, following $refs into components."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/") and ref not in seen:
            seen.add(ref)
            _strings(components.get(ref.rsplit("/", 1)[1]), components, seen)
        if _plain_string(node):
            node["pattern"] = TEXT_PATTERN
        for value in node.values():
            _strings(value, components, seen)
    elif isinstance(node, list):
        for item in node:
            _strings(item, components, seen)


def document_input_rules(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add the refused characters to the request side of an OpenAPI document (in place; idempotent):
    path and query strings refuse every control character, body strings all but tab and line breaks."""
    components = openapi.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for param in operation.get("parameters", []):
                schema = param.get("schema", {})
                if param.get("in") in ("path", "query") and _plain_string(schema):
                    schema["pattern"] = LINE_PATTERN
                    schema.setdefault(
                        "maxLength", MAX_PATH_PARAM if param["in"] == "path" else MAX_QUERY_VALUE
                    )
            _strings(operation.get("requestBody"), components, seen)
    return openapi
