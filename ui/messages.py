"""The messages sent about a complaint: the ledger's notification outbox and the local sink's inbox.

Staff see both (what went out, and what the local stand-ins received), with status-page links masked (whoever
holds one acts as the customer); the customer's status page sees only the notifications addressed to the
customer, as the customer received them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from ledger import reads
from ledger.reads import LedgerReader

_STATUS_LINK = re.compile(r"/status/[A-Za-z0-9_\-]+")


def redact_status_links(text: str) -> str:
    """Status-page links with their token masked: whoever holds a token acts as the customer."""
    return _STATUS_LINK.sub("/status/…", text)


@dataclass
class SentMessage:
    at: datetime | None
    audience: str  # customer | staff | "" (sink: the protocol does not say)
    channel: str
    to: str
    subject: str
    body: str
    status: str = ""
    template: str = ""
    complaint_id: str = ""
    key: str = ""  # the notification's key: one message, possibly on several channels
    channels: list[str] = field(default_factory=list)


async def for_complaint(
    pool: asyncpg.Pool, complaint_id: str, *, audience: str | None = None
) -> list[SentMessage]:
    """The ledger's deliveries for one complaint, oldest first; `audience="customer"` for the status page
    (as sent), otherwise for staff (status links masked)."""
    try:
        rows = await LedgerReader(pool).notifications(complaint_id)
    except asyncpg.UndefinedTableError:
        return []
    shown = (lambda text: text) if audience == "customer" else redact_status_links
    return [
        SentMessage(
            at=r.sent_at or r.created_at,
            audience=r.audience,
            channel=r.channel,
            to=r.recipient,
            subject=shown(r.subject),
            body=shown(r.body),
            status=r.status,
            template=r.template,
            complaint_id=r.complaint_id,
            key=r.notification_key,
            channels=[r.channel],
        )
        for r in rows
        if audience is None or r.audience == audience
    ]


def grouped(messages: list[SentMessage]) -> list[SentMessage]:
    """One entry per notification: the same message sent by SMS and e-mail is shown once, with both
    channels, in its fullest form (the one with a subject and the longest text)."""
    by_key: dict[str, SentMessage] = {}
    order: list[str] = []
    for m in messages:
        key = m.key or f"{m.channel}:{m.to}:{m.at}"
        if key not in by_key:
            by_key[key] = SentMessage(**{**m.__dict__, "channels": []})
            order.append(key)
        g = by_key[key]
        if m.channel not in g.channels:
            g.channels.append(m.channel)
        if m.to and m.to not in g.to.split(", "):
            g.to = f"{g.to}, {m.to}" if g.to else m.to
        if (bool(m.subject), len(m.body)) > (bool(g.subject), len(g.body)):
            g.subject, g.body = m.subject, m.body
        if m.status and m.status != "sent":
            g.status = m.status
    return [by_key[k] for k in order]


def _field(row: Any, name: str, default: Any = None) -> Any:
    if isinstance(row, dict):
        return row.get(name, default)
    if hasattr(row, name):
        return getattr(row, name)
    try:
        return row[name]
    except (KeyError, IndexError, TypeError):
        return default


async def sink(pool: asyncpg.Pool, *, complaint_id: str | None = None, limit: int = 200) -> list[SentMessage]:
    """What the local notification sink received (the embedded default and demos), newest first."""
    rows = await reads.sink_rows(pool, complaint_id, limit)
    out = []
    for r in rows:
        payload = _field(r, "payload") or {}
        if isinstance(payload, str):
            payload = json.loads(payload)
        out.append(
            SentMessage(
                at=_field(r, "received_at"),
                audience=str(payload.get("audience", "")) if isinstance(payload, dict) else "",
                channel=str(_field(r, "channel", "")),
                to=str(_field(r, "recipient", "")),
                subject=redact_status_links(str(_field(r, "subject", ""))),
                body=redact_status_links(str(_field(r, "body", ""))),
                complaint_id=str(_field(r, "complaint_id", "") or ""),
            )
        )
    return out
