"""Idempotency-Key (API) and event ids (webhooks): a retry gives the first answer, never a second complaint.

The first request reserves the key *and* stores the complaint it prepared (number, status token, stored
uploads) in one transaction before Temporal is called. A retry then either replays the stored response or,
if the first attempt never finished (timeout, crash), starts that very same prepared complaint again —
update-with-start with the same workflow id and Update id, which Temporal deduplicates.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from domain.models import ComplaintInput


class KeyReused(Exception):
    """The key was already used for a different request (the caller answers 409)."""


@dataclass(frozen=True)
class Prior:
    """What an earlier request with the same key left behind."""

    complaint: ComplaintInput
    status_code: int | None  # None: the earlier attempt did not finish
    response: dict[str, Any] | None


def request_hash(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\x00")
    return h.hexdigest()


async def reserve(conn: asyncpg.Connection, scope: str, key: str, req_hash: str) -> Prior | None:
    """Reserve the key inside the caller's transaction. None: it is ours (call `attach` before committing).

    A concurrent request with the same key waits here until the first one's transaction commits."""
    inserted = await conn.fetchval(
        "INSERT INTO intake_idempotency (scope, idem_key, request_hash, complaint) VALUES ($1, $2, $3, '{}'::jsonb)"
        " ON CONFLICT (scope, idem_key) DO NOTHING RETURNING true",
        scope,
        key,
        req_hash,
    )
    if inserted:
        return None
    row = await conn.fetchrow(
        "SELECT request_hash, complaint, status_code, response FROM intake_idempotency WHERE scope = $1 AND idem_key = $2",
        scope,
        key,
    )
    if row["request_hash"] != req_hash:
        raise KeyReused(key)
    return Prior(
        complaint=ComplaintInput.model_validate_json(row["complaint"]),
        status_code=row["status_code"],
        response=json.loads(row["response"]) if row["response"] else None,
    )


async def attach(conn: asyncpg.Connection, scope: str, key: str, complaint: ComplaintInput) -> None:
    await conn.execute(
        "UPDATE intake_idempotency SET complaint = $3::jsonb WHERE scope = $1 AND idem_key = $2",
        scope,
        key,
        complaint.model_dump_json(),
    )


async def complete(
    pool: asyncpg.Pool, scope: str, key: str, status_code: int, response: dict[str, Any]
) -> None:
    await pool.execute(
        "UPDATE intake_idempotency SET status_code = $3, response = $4::jsonb, completed_at = now()"
        " WHERE scope = $1 AND idem_key = $2",
        scope,
        key,
        status_code,
        json.dumps(response, ensure_ascii=False),
    )


async def stored_response(
    pool: asyncpg.Pool, scope: str, key: str, req_hash: str
) -> tuple[int, dict[str, Any]] | None:
    """The finished answer to exactly this request, if there is one (a late redelivery of a webhook)."""
    row = await pool.fetchrow(
        "SELECT status_code, response FROM intake_idempotency"
        " WHERE scope = $1 AND idem_key = $2 AND request_hash = $3 AND status_code IS NOT NULL",
        scope,
        key,
        req_hash,
    )
    return (row["status_code"], json.loads(row["response"])) if row else None
