"""Which complaint an e-mail belongs to (migration 120_email_threads.sql): the Message-IDs intake stored or
sent, and the e-mails the notifier sent (notifications.provider_message_id)."""

from __future__ import annotations

import asyncpg
import structlog

log = structlog.get_logger()


async def complaint_for_message_ids(pool: asyncpg.Pool, ids: list[str]) -> str | None:
    if not ids:
        return None
    return await pool.fetchval(
        """
        SELECT complaint_id FROM (
            SELECT complaint_id, 0 AS src FROM intake_email_messages WHERE message_id = ANY($1::text[])
            UNION ALL
            SELECT complaint_id, 1 FROM notifications
            WHERE channel = 'email' AND provider_message_id = ANY($1::text[])
        ) m ORDER BY src LIMIT 1
        """,
        ids,
    )


async def customer_of(pool: asyncpg.Pool, complaint_id: str) -> tuple[str | None, str | None] | None:
    """(customer e-mail, workflow id) of a complaint in the ledger, or None when there is no such complaint."""
    row = await pool.fetchrow(
        "SELECT lower(view->'customer'->>'email') AS email, workflow_id FROM complaints WHERE complaint_id = $1",
        complaint_id,
    )
    if row is None:
        wid = await pool.fetchval(
            "SELECT workflow_id FROM intake_receipts WHERE complaint_id = $1 LIMIT 1", complaint_id
        )
        return (None, wid) if wid else None
    return row["email"], row["workflow_id"]


async def workflow_of(pool: asyncpg.Pool, complaint_id: str) -> str | None:
    found = await customer_of(pool, complaint_id)
    return found[1] if found else None


async def remember(pool: asyncpg.Pool, message_id: str | None, complaint_id: str, direction: str) -> None:
    if not message_id:
        return
    try:
        await pool.execute(
            "INSERT INTO intake_email_messages (message_id, complaint_id, direction) VALUES ($1, $2, $3)"
            " ON CONFLICT (message_id) DO NOTHING",
            message_id[:998],
            complaint_id,
            direction,
        )
    except (asyncpg.PostgresError, OSError) as e:  # the complaint is filed; only threading is weaker
        log.error("e-mail thread not recorded", complaint_id=complaint_id, error=str(e))
