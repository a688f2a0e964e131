"""Intake's records (migration 100_intake.sql): uploaded files and the receipts that tie a filed number to its
workflow and to the intake system that filed it."""

from __future__ import annotations

import asyncpg


async def store_attachment(
    conn: asyncpg.Connection,
    attachment_id: str,
    complaint_id: str,
    name: str,
    content_type: str,
    data: bytes,
    sha256: str,
) -> None:
    """Inside the caller's transaction (the upload and the idempotency reservation commit together)."""
    await conn.execute(
        "INSERT INTO intake_attachments (id, complaint_id, name, content_type, size, sha256, data)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        attachment_id,
        complaint_id,
        name,
        content_type,
        len(data),
        sha256,
        data,
    )


async def load_attachment(pool: asyncpg.Pool, attachment_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT name, content_type, size, data FROM intake_attachments WHERE id = $1", attachment_id
    )


async def forget_attachments(pool: asyncpg.Pool, complaint_id: str) -> None:
    await pool.execute("DELETE FROM intake_attachments WHERE complaint_id = $1", complaint_id)


async def record_receipt(
    pool: asyncpg.Pool,
    *,
    complaint_id: str,
    submitted_id: str,
    workflow_id: str,
    joined: bool,
    channel: str,
    source: str,
    api_key_id: int | None,
    status_token: str | None = None,
) -> None:
    """One receipt per submitted number; written again (a join found after the start was refused, a retry)
    it says the latest outcome. `status_token`: a new complaint's, for its status page until the ledger has it."""
    await pool.execute(
        "INSERT INTO intake_receipts (complaint_id, submitted_id, workflow_id, joined, channel, source, api_key_id,"
        " status_token) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (submitted_id) DO UPDATE SET"
        " complaint_id = EXCLUDED.complaint_id, workflow_id = EXCLUDED.workflow_id, joined = EXCLUDED.joined,"
        " status_token = EXCLUDED.status_token",
        complaint_id,
        submitted_id,
        workflow_id,
        joined,
        channel,
        source,
        api_key_id,
        status_token,
    )


async def registering(pool: asyncpg.Pool, status_token: str) -> str | None:
    """The number of a complaint intake took with this status token in the last day (its first step may not
    have written it to the ledger yet), or None. Older receipts say nothing: a complaint the ledger no longer
    has (retention) is gone, not being registered."""
    return await pool.fetchval(
        "SELECT complaint_id FROM intake_receipts WHERE status_token = $1 AND NOT joined"
        " AND created_at > now() - interval '1 day' LIMIT 1",
        status_token,
    )


async def forget_receipt(pool: asyncpg.Pool, submitted_id: str) -> None:
    await pool.execute("DELETE FROM intake_receipts WHERE submitted_id = $1", submitted_id)


async def workflow_filed_by(pool: asyncpg.Pool, complaint_id: str, api_key_id: int) -> str | None:
    """The workflow of a complaint this intake system filed or joined (None: not one of its complaints)."""
    return await pool.fetchval(
        "SELECT workflow_id FROM intake_receipts WHERE complaint_id = $1 AND api_key_id = $2"
        " ORDER BY id DESC LIMIT 1",
        complaint_id,
        api_key_id,
    )
