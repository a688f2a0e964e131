"""Evidence at intake: which files are accepted, and where uploaded ones are kept.

Uploads are checked by declared type *and* by their first bytes (a `.exe` renamed `photo.jpg` is refused),
stored in PostgreSQL (`intake_attachments`) and served back at `/attachments/<id>` under a random id.
Referenced attachments (a URL the intake system already hosts) are checked for scheme, type and declared
size; they are not fetched at intake (no server-side request to addresses chosen by the caller).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import asyncpg

from domain.models import Attachment
from ledger import intake as intake_records
from starters.errors import FieldProblem, IntakeInvalid

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 10
MAX_TOTAL_BYTES = 25 * 1024 * 1024

# content type → leading-bytes signatures (empty: no reliable signature, the declared type is trusted)
ALLOWED_TYPES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "image/heic": (),
    "application/pdf": (b"%PDF-",),
    "text/plain": (),
    "video/mp4": (),
    "audio/mpeg": (),
    "application/msword": (b"\xd0\xcf\x11\xe0",),
    "application/vnd.ms-excel": (b"\xd0\xcf\x11\xe0",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}
ALLOWED_TYPES_TEXT = ", ".join(sorted(ALLOWED_TYPES))


def normalize_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Upload:
    name: str
    content_type: str
    data: bytes


def check_uploads(uploads: list[Upload], *, field: str = "files") -> list[Upload]:
    """Refuse the whole submission on the first bad file, naming it (nothing half-stored)."""
    problems: list[FieldProblem] = []
    if len(uploads) > MAX_FILES:
        problems.append(FieldProblem(field=field, reason=f"at most {MAX_FILES} files"))
    total = 0
    cleaned: list[Upload] = []
    for i, up in enumerate(uploads):
        where = f"{field}[{i}]"
        ctype = normalize_type(up.content_type)
        total += len(up.data)
        if not up.name.strip():
            problems.append(FieldProblem(field=where, reason="file name is empty"))
        elif len(up.name) > 200:
            problems.append(FieldProblem(field=where, reason="file name longer than 200 characters"))
        if ctype not in ALLOWED_TYPES:
            problems.append(
                FieldProblem(
                    field=where,
                    reason=f"type {ctype or 'unknown'!r} not accepted; accepted: {ALLOWED_TYPES_TEXT}",
                )
            )
            continue
        if not up.data:
            problems.append(FieldProblem(field=where, reason="file is empty"))
            continue
        if len(up.data) > MAX_FILE_BYTES:
            problems.append(
                FieldProblem(field=where, reason=f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
            )
            continue
        magic = ALLOWED_TYPES[ctype]
        if magic and not any(up.data.startswith(m) for m in magic):
            problems.append(FieldProblem(field=where, reason=f"content is not {ctype}"))
            continue
        cleaned.append(Upload(name=up.name.strip()[:200], content_type=ctype, data=up.data))
    if total > MAX_TOTAL_BYTES:
        problems.append(
            FieldProblem(
                field=field, reason=f"files larger than {MAX_TOTAL_BYTES // (1024 * 1024)} MiB in total"
            )
        )
    if problems:
        raise IntakeInvalid(
            "attachment refused", problems, status_code=413 if total > MAX_TOTAL_BYTES else 422
        )
    return cleaned


def attachment_url(public_base_url: str, attachment_id: str) -> str:
    return f"{public_base_url.rstrip('/')}/attachments/{attachment_id}"


async def store_uploads(
    conn: asyncpg.Connection, complaint_id: str, uploads: list[Upload], public_base_url: str
) -> list[Attachment]:
    """Insert the files (inside the caller's transaction) and return them as the complaint's attachments."""
    out: list[Attachment] = []
    for up in uploads:
        att_id = secrets.token_urlsafe(24)
        await intake_records.store_attachment(
            conn, att_id, complaint_id, up.name, up.content_type, up.data, hashlib.sha256(up.data).hexdigest()
        )
        out.append(
            Attachment(
                name=up.name,
                content_type=up.content_type,
                size=len(up.data),
                url=attachment_url(public_base_url, att_id),
            )
        )
    return out


async def load_upload(pool: asyncpg.Pool, attachment_id: str) -> asyncpg.Record | None:
    return await intake_records.load_attachment(pool, attachment_id)
