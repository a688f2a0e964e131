"""Reads of the complaint ledger for the web app: the staff queue, search for reports, one complaint's record.

Read-only; the writes live in `ledger/writes.py`. Filters are pydantic models so the web layer can
validate query strings with them and return a 4xx naming the field.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, Field

from domain.messages import TimelineEvent, TrackingSnapshot
from domain.models import Actor, Category, Channel, ComplaintType, Department, Role, State, Tier
from domain.view import ComplaintView


class ComplaintFilter(BaseModel):
    """Every filter is optional; the queue adds `open only`, search orders by time received."""

    received_from: datetime | None = None
    received_to: datetime | None = None  # exclusive
    state: list[State] = Field(default_factory=list)
    tier: list[Tier] = Field(default_factory=list)
    complaint_type: ComplaintType | None = None
    category: Category | None = None
    channel: Channel | None = None
    customer_type: str | None = Field(default=None, max_length=50)
    region: str | None = Field(default=None, max_length=100)
    department: Department | None = None
    person: str | None = Field(default=None, max_length=200)  # holder or assignee (staff id)
    unassigned: bool | None = None  # no holder yet
    breached: bool | None = None  # at least one breach
    order_number: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class ComplaintRow(BaseModel):
    """One line of the queue or of a search result."""

    complaint_id: str
    workflow_id: str
    state: State
    tier: Tier
    complaint_type: ComplaintType
    category: Category
    channel: Channel
    customer_type: str
    region: str | None
    subject: str | None
    customer_name: str | None
    departments: list[str]
    assignees: list[str]
    holder_id: str | None
    holder_role: str | None
    received_at: datetime
    next_due: str | None
    next_due_at: datetime | None
    breach_count: int
    reopen_count: int
    satisfaction: int | None
    closed_at: datetime | None


class NotificationRow(BaseModel):
    """One delivery from the outbox: what went to whom, on which channel, and how it ended."""

    idempotency_key: str
    notification_key: str
    complaint_id: str
    template: str
    audience: str
    locale: str
    channel: str
    recipient: str
    status: str
    attempts: int
    provider_message_id: str | None
    subject: str
    body: str
    error: str | None
    created_at: datetime
    sent_at: datetime | None


class TimelineRow(TimelineEvent):
    outcome: str | None = None  # met / breached / … for obligation events


class ComplaintRecord(BaseModel):
    """A complaint's full record: the view, every step, every message, the latest trail."""

    view: ComplaintView
    timeline: list[TimelineRow]
    notifications: list[NotificationRow]
    tracking: TrackingSnapshot | None


_ROW_COLUMNS = """
    complaint_id, workflow_id, state, tier, complaint_type, category, channel, customer_type, region,
    view->>'subject' AS subject, view->'customer'->>'name' AS customer_name, departments, assignees,
    holder_id, holder_role, received_at, next_due, next_due_at, breach_count, reopen_count, satisfaction,
    closed_at
"""


def _where(f: ComplaintFilter, open_only: bool) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:  # every "?" in sql is this one value
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if open_only:
        clauses.append("is_open")
    if f.received_from:
        add("received_at >= ?", f.received_from)
    if f.received_to:
        add("received_at < ?", f.received_to)
    if f.state:
        add("state = ANY(?::text[])", [s.value for s in f.state])
    if f.tier:
        add("tier = ANY(?::text[])", [t.value for t in f.tier])
    if f.complaint_type:
        add("complaint_type = ?", f.complaint_type.value)
    if f.category:
        add("category = ?", f.category.value)
    if f.channel:
        add("channel = ?", f.channel.value)
    if f.customer_type:
        add("customer_type = ?", f.customer_type)
    if f.region:
        add("region = ?", f.region)
    if f.department:
        add("departments @> ARRAY[?::text]", f.department.value)
    if f.person:
        add("(holder_id = ? OR assignees @> ARRAY[?::text])", f.person)
    if f.unassigned is not None:
        clauses.append("holder_id IS NULL" if f.unassigned else "holder_id IS NOT NULL")
    if f.breached is not None:
        clauses.append("breach_count > 0" if f.breached else "breach_count = 0")
    if f.order_number:
        add("order_number = ?", f.order_number)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class LedgerReader:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def queue(self, f: ComplaintFilter | None = None) -> list[ComplaintRow]:
        """Open complaints, the most urgent deadline first (no deadline last)."""
        f = f or ComplaintFilter()
        where, args = _where(f, open_only=True)
        sql = (
            f"SELECT {_ROW_COLUMNS} FROM complaints{where}"
            f" ORDER BY next_due_at ASC NULLS LAST, received_at ASC"
            f" LIMIT {f.limit} OFFSET {f.offset}"
        )
        return [ComplaintRow.model_validate(dict(r)) for r in await self.pool.fetch(sql, *args)]

    async def search(self, f: ComplaintFilter) -> list[ComplaintRow]:
        """Any complaint (open or not) matching the filter, newest first: records and reports."""
        where, args = _where(f, open_only=False)
        sql = (
            f"SELECT {_ROW_COLUMNS} FROM complaints{where}"
            f" ORDER BY received_at DESC, complaint_id LIMIT {f.limit} OFFSET {f.offset}"
        )
        return [ComplaintRow.model_validate(dict(r)) for r in await self.pool.fetch(sql, *args)]

    async def count(self, f: ComplaintFilter, *, open_only: bool = False) -> int:
        where, args = _where(f, open_only=open_only)
        return await self.pool.fetchval(f"SELECT count(*) FROM complaints{where}", *args)

    async def view(self, complaint_id: str) -> ComplaintView | None:
        raw = await self.pool.fetchval("SELECT view FROM complaints WHERE complaint_id = $1", complaint_id)
        return ComplaintView.model_validate(_json(raw)) if raw is not None else None

    async def record(self, complaint_id: str) -> ComplaintRecord | None:
        view = await self.view(complaint_id)
        if view is None:
            return None
        return ComplaintRecord(
            view=view,
            timeline=await self.timeline(complaint_id),
            notifications=await self.notifications(complaint_id),
            tracking=await self.latest_tracking(complaint_id),
        )

    async def record_by_status_token(self, token: str) -> ComplaintRecord | None:
        """For the customer status page: the token is the only key a customer holds."""
        complaint_id = await self.pool.fetchval(
            "SELECT complaint_id FROM complaints WHERE status_token = $1", token
        )
        return await self.record(complaint_id) if complaint_id else None

    async def timeline(self, complaint_id: str) -> list[TimelineRow]:
        rows = await self.pool.fetch(
            "SELECT * FROM timeline_events WHERE complaint_id = $1 ORDER BY at, event_id", complaint_id
        )
        return [
            TimelineRow(
                event_id=r["event_id"],
                complaint_id=r["complaint_id"],
                at=r["at"],
                kind=r["kind"],
                actor=Actor(id=r["actor_id"], role=r["actor_role"], name=r["actor_name"]),
                text=r["text"],
                obligation=r["obligation"],
                due_at=r["due_at"],
                data=_json(r["data"]),
                outcome=r["outcome"],
            )
            for r in rows
        ]

    async def notifications(self, complaint_id: str) -> list[NotificationRow]:
        rows = await self.pool.fetch(
            "SELECT * FROM notifications WHERE complaint_id = $1 ORDER BY created_at, id", complaint_id
        )
        return [NotificationRow.model_validate(dict(r)) for r in rows]

    async def latest_tracking(self, complaint_id: str) -> TrackingSnapshot | None:
        raw = await self.pool.fetchval(
            "SELECT snapshot FROM tracking_snapshots WHERE complaint_id = $1 ORDER BY fetched_at DESC, id DESC LIMIT 1",
            complaint_id,
        )
        return TrackingSnapshot.model_validate(_json(raw)) if raw is not None else None


async def contact_facts(pool: asyncpg.Pool, complaint_id: str) -> asyncpg.Record | None:
    """How to reach the customer of a complaint, as the ledger last recorded it (None before the first write)."""
    return await pool.fetchrow(
        "SELECT view->'customer' AS customer, channel, status_token, tier FROM complaints WHERE complaint_id = $1",
        complaint_id,
    )


async def sink_rows(pool: asyncpg.Pool, complaint_id: str | None, limit: int) -> list[asyncpg.Record]:
    """What the dev notification sink (stand-ins) received, newest first; none when it never ran."""
    try:
        if complaint_id:
            return await pool.fetch(
                "SELECT * FROM sink_messages WHERE complaint_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2",
                complaint_id,
                limit,
            )
        return await pool.fetch(
            "SELECT * FROM sink_messages ORDER BY received_at DESC, id DESC LIMIT $1", limit
        )
    except asyncpg.UndefinedTableError:
        return []


async def complaint_row(pool: asyncpg.Pool, where: str, arg: str) -> asyncpg.Record | None:
    """(complaint_id, workflow_id, view) of the complaint found by `where` (a fixed condition on one column)."""
    try:
        return await pool.fetchrow(f"SELECT complaint_id, workflow_id, view FROM complaints WHERE {where}", arg)
    except asyncpg.UndefinedTableError:
        return None


async def receipt_workflow_id(pool: asyncpg.Pool, complaint_id: str) -> str | None:
    """Before the ledger has a row, intake's receipt knows which workflow holds the complaint."""
    try:
        return await pool.fetchval(
            "SELECT workflow_id FROM intake_receipts WHERE complaint_id = $1 OR submitted_id = $1 LIMIT 1",
            complaint_id,
        )
    except asyncpg.UndefinedTableError:
        return None


async def supervisor_inbox_views(pool: asyncpg.Pool) -> dict[str, list[Any]]:
    """The views (JSON, without their timeline) of open complaints a supervisor must look at, per box."""
    queries = {
        "approvals": "is_open AND jsonb_typeof(view->'plan') = 'object'"
        " AND (view->'plan'->'approved' IS NULL OR jsonb_typeof(view->'plan'->'approved') = 'null')",
        "escalations": "is_open AND holder_role IN ("
        + ",".join(f"'{r.value}'" for r in (Role.SUPERVISOR, Role.SENIOR_SUPERVISOR, Role.DEPARTMENT_HEAD))
        + ")",
        "breaches": "is_open AND breach_count > 0",
    }
    out: dict[str, list[Any]] = {}
    for name, where in queries.items():
        try:
            rows = await pool.fetch(
                f"SELECT view - 'timeline' AS view FROM complaints WHERE {where}"
                " ORDER BY next_due_at ASC NULLS LAST, received_at LIMIT 200"
            )
        except asyncpg.UndefinedTableError:
            rows = []
        out[name] = [r["view"] for r in rows]
    return out


async def updated_at(pool: asyncpg.Pool, complaint_id: str) -> datetime | None:
    try:
        return await pool.fetchval("SELECT updated_at FROM complaints WHERE complaint_id = $1", complaint_id)
    except asyncpg.UndefinedTableError:
        return None

