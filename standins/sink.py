"""The local notification sink: where the embedded default's customer and staff messages land.

It plays the receiving side of each provider — an SMTP server (aiosmtpd) here, and the SMS / push / WeCom /
DingTalk HTTP endpoints in `standins/http.py` — and stores every message in `sink_messages`, so the staff UI
can show what customers and staff would have received.

Like the real receivers it collapses a resend of the same message: HTTP providers by `Idempotency-Key`
(where the real protocol has one), mailboxes by Message-ID. A collapsed resend only bumps `deliveries`, so
tests can see both what the recipient saw (one message) and what was sent (the count).

Test hooks that mirror real mail servers: recipients at `*.invalid` are refused for good (550); recipients
at `greylist.*` domains are deferred once per sender and recipient (451), as greylisting servers do.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import BaseModel

log = structlog.get_logger()

_PHONE = re.compile(r"^\+?\d{8,15}$")
class SinkMessage(BaseModel):
    id: int
    channel: str
    complaint_id: str | None
    recipient: str
    subject: str
    body: str
    deliveries: int
    received_at: datetime
    payload: dict[str, Any]


def phone_problem(number: str) -> str | None:
    """Why a provider would refuse this number for good, or None. E.164 country code 999 is unassigned."""
    digits = re.sub(r"[ \-()]", "", number or "")
    if not _PHONE.match(digits):
        return f"'{number}' is not a valid phone number"
    if digits.lstrip("+").startswith("999"):
        return f"'{number}' is not an allocated number"
    return None


async def store_message(
    pool: asyncpg.Pool,
    *,
    channel: str,
    body: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    complaint_id: str | None = None,
    recipient: str = "",
    subject: str = "",
) -> tuple[int, bool]:
    """Store one received message; returns (id, duplicate). A known dedupe key only counts the delivery."""
    row = await pool.fetchrow(
        """
        INSERT INTO sink_messages (channel, dedupe_key, complaint_id, recipient, subject, body, payload)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
        ON CONFLICT (channel, dedupe_key) DO UPDATE
            SET deliveries = sink_messages.deliveries + 1, last_received_at = now()
        RETURNING id, deliveries > 1 AS duplicate
        """,
        channel,
        dedupe_key,
        complaint_id,
        recipient,
        subject,
        body,
        json.dumps(payload, ensure_ascii=False, default=str),
    )
    return row["id"], row["duplicate"]


async def list_sink_messages(
    pool: asyncpg.Pool, complaint_id: str | None = None, *, channel: str | None = None, limit: int = 100
) -> list[SinkMessage]:
    """Newest first; optionally one complaint's or one channel's messages."""
    rows = await pool.fetch(
        """
        SELECT id, channel, complaint_id, recipient, subject, body, deliveries, received_at, payload
          FROM sink_messages
         WHERE ($1::text IS NULL OR complaint_id = $1) AND ($2::text IS NULL OR channel = $2)
         ORDER BY received_at DESC, id DESC
         LIMIT $3
        """,
        complaint_id,
        channel,
        max(1, min(limit, 1000)),
    )
    return [
        SinkMessage(
            **{
                **dict(r),
                "payload": json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"],
            }
        )
        for r in rows
    ]


class SinkSmtpHandler:
    """aiosmtpd handler: accepts mail for any domain except the test hooks above, stores each recipient's copy."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._greylisted: set[tuple[str, str]] = set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        domain = address.rsplit("@", 1)[-1].lower()
        if domain == "invalid" or domain.endswith(".invalid"):
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if domain.startswith("greylist."):
            triple = (envelope.mail_from or "", address.lower())
            if triple not in self._greylisted:
                self._greylisted.add(triple)
                return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(
            raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default
        )
        part = message.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        message_id = (message.get("Message-ID") or "").strip() or None
        for rcpt in envelope.rcpt_tos:
            await store_message(
                self.pool,
                channel="email",
                dedupe_key=f"{message_id}|{rcpt.lower()}" if message_id else None,
                complaint_id=message.get("X-Complaint-Id"),
                recipient=rcpt,
                subject=str(message.get("Subject") or ""),
                body=body,
                payload={"from": envelope.mail_from, "to": rcpt, "headers": dict(message.items())},
            )
        return "250 2.0.0 Message accepted for delivery"


async def start_smtp_sink(host: str, port: int, pool: asyncpg.Pool) -> asyncio.AbstractServer:
    """Serve SMTP on host:port (0 picks a free port: read it from `server.sockets[0].getsockname()[1]`) in the
    running event loop, so the handler can use the pool. Close with `server.close(); await server.wait_closed()`."""
    handler = SinkSmtpHandler(pool)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler, hostname="desk-sink", ident="complaint-desk notification sink", enable_SMTPUTF8=True
        ),
        host,
        port,
    )
    log.info("smtp sink listening", address=f"{host}:{server.sockets[0].getsockname()[1]}")
    return server
