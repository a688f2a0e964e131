"""One conversation per complaint, read from the ledger, in the order things happened.

It interleaves what the customer said (the report that opened the complaint, later reports and replies,
a rating's comment), every message sent to the customer (one entry per message with each channel and
whether it was delivered), staff replies (the message each became, with its deliveries), what staff wrote
for staff (notes, an action's note: internal, never shown to the customer), who was assigned, and the
system's own steps. Each event entry keeps its event, so the page words it as the timeline does
(ui/timeline.py), never with the workflow's English summaries. Built from the ledger's timeline and
notification outbox (`LedgerReader`), so it covers closed complaints and every event, not only the
newest ones the workflow keeps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import BaseModel, Field

from domain.events import EventKind
from domain.messages import TimelineEvent
from domain.models import Role
from domain.view import ComplaintView
from ledger.reads import LedgerReader, NotificationRow, TimelineRow

Kind = Literal["customer", "to_customer", "internal", "assignment", "system"]

# Events that put someone on the complaint.
_ASSIGNMENT_KINDS = frozenset({"assigned", "reassigned", "escalated", "escalation"})
_DELIVERED = "sent"


class Delivery(BaseModel):
    channel: str
    recipient: str
    status: str  # queued / sending / sent / failed / rejected
    delivered: bool
    error: str | None = None


class Entry(BaseModel):
    at: datetime
    kind: Kind
    title: str  # the event kind or the message template, for the UI to translate
    text: str = ""
    actor_id: str = ""
    actor_name: str | None = None
    actor_role: str = ""
    people: list[str] = Field(default_factory=list)  # assignment: the people now on it
    deliveries: list[Delivery] = Field(default_factory=list)  # to_customer: each channel's outcome
    subject: str = ""
    event: TimelineEvent | None = None  # the event this entry is (None: the opening report, a message)
    notification: str = ""  # a staff reply: the key of the message it was sent as


def _event_entry(e: TimelineRow) -> Entry:
    role = e.actor.role
    if e.kind == EventKind.STAFF_REPLY:
        kind: Kind = "to_customer"
    elif e.kind in _ASSIGNMENT_KINDS and role != Role.CUSTOMER:
        kind = "assignment"
    elif role == Role.CUSTOMER:
        kind = "customer"
    elif role == Role.SYSTEM:
        kind = "system"
    else:
        kind = "internal"
    people = [str(p) for p in e.data.get("assignees", []) if p]
    if e.data.get("to"):
        people.append(str(e.data["to"]))
    return Entry(
        at=e.at,
        kind=kind,
        title=e.kind,
        text=str(e.data.get("text") or e.text),
        actor_id=e.actor.id,
        actor_name=e.actor.name,
        actor_role=role.value,
        people=people,
        event=TimelineEvent(**e.model_dump(exclude={"outcome"})),
        notification=str(e.data.get("notification") or ""),
    )


def _message_entries(rows: list[NotificationRow], replies: dict[str, Entry]) -> list[Entry]:
    """One entry per notification to the customer, with every channel it went out on; a staff reply's
    message adds its deliveries to the reply."""
    by_key: dict[str, Entry] = {}
    for r in rows:
        if r.audience != "customer":
            continue
        if r.notification_key in replies:
            reply = replies[r.notification_key]
            reply.deliveries.append(
                Delivery(
                    channel=r.channel,
                    recipient=r.recipient,
                    status=r.status,
                    delivered=r.status == _DELIVERED,
                    error=r.error,
                )
            )
            continue
        entry = by_key.get(r.notification_key)
        if entry is None:
            entry = by_key[r.notification_key] = Entry(
                at=r.created_at, kind="to_customer", title=r.template, actor_role=Role.SYSTEM.value
            )
        if (bool(r.subject), len(r.body)) > (bool(entry.subject), len(entry.text)):
            entry.subject, entry.text = r.subject, r.body
        entry.deliveries.append(
            Delivery(
                channel=r.channel,
                recipient=r.recipient,
                status=r.status,
                delivered=r.status == _DELIVERED,
                error=r.error,
            )
        )
    return list(by_key.values())


def conversation(
    view: ComplaintView, events: list[TimelineRow], notifications: list[NotificationRow]
) -> list[Entry]:
    opening = Entry(
        at=view.received_at,
        kind="customer",
        title="report",
        text=view.description if not view.subject else f"{view.subject}\n{view.description}",
        actor_id="customer",
        actor_name=view.customer.name,
        actor_role=Role.CUSTOMER.value,
    )
    written = [_event_entry(e) for e in events]
    replies = {x.notification: x for x in written if x.notification}
    entries = [opening, *written, *_message_entries(notifications, replies)]
    order = {"customer": 0, "assignment": 1, "internal": 2, "to_customer": 3, "system": 4}
    return sorted(entries, key=lambda x: (x.at, order[x.kind]))


async def load_conversation(pool: asyncpg.Pool, view: ComplaintView) -> list[Entry]:
    reader = LedgerReader(pool)
    try:
        events = await reader.timeline(view.complaint_id)
        sent = await reader.notifications(view.complaint_id)
    except asyncpg.UndefinedTableError:
        events, sent = [], []
    known = {e.event_id for e in events}  # the workflow's newest events may not be written yet
    events += [TimelineRow(**e.model_dump()) for e in view.timeline if e.event_id not in known]
    return conversation(view, events, sent)
