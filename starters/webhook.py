"""Signed webhooks from e-commerce and social platforms (shape documented in docs/intake.md).

The platform signs the raw request body with its shared secret: `X-Signature: sha256=<hex HMAC-SHA256>`.
The body carries `event_id` and `timestamp`; both are covered by the signature, so a captured request
cannot be replayed later (timestamp older than `MAX_SKEW`) nor twice (the event id is remembered and a
redelivery gets the first answer).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from starters.errors import IntakeError
from starters.intake import IntakeRequest, StorableText

MAX_SKEW_SECONDS = 300
SIGNATURE_HEADER = "X-Signature"


class WebhookEvent(StorableText):
    model_config = ConfigDict(extra="forbid")

    event_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="unique per event; a redelivery with the same id gets the first answer"
    )
    type: str = Field(default="complaint.created", pattern=r"^complaint\.created$")
    timestamp: int = Field(
        description="Unix seconds when the platform sent it; refused if more than 5 min off"
    )
    platform: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="shop or account name on the platform, for the record"
    )
    complaint: IntakeRequest = Field(
        description="as POST /api/v1/complaints; `channel` is set from the source"
    )


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> None:
    if not header:
        raise IntakeError(
            "missing signature",
            [(SIGNATURE_HEADER, "required: sha256=<hex HMAC-SHA256 of the body>")],
            status_code=401,
        )
    if not hmac.compare_digest(sign(secret, body), header.strip()):
        raise IntakeError(
            "bad signature",
            [(SIGNATURE_HEADER, "does not match the body and the shared secret")],
            status_code=401,
        )


def check_fresh(timestamp: int, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise IntakeError(
            "stale or future event",
            [("timestamp", f"must be within {MAX_SKEW_SECONDS} s of the current time (Unix seconds)")],
            status_code=401,
        )
