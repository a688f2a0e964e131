"""The staff queue read from the ledger: views people work from, each sortable.

Views: all open complaints, mine (held by or assigned to me), my team (routed to my departments, the
sub-departments under them included, or held by someone in them), unassigned, breached, waiting on the
customer, and closed today. Open views list open complaints; "closed today" lists those closed since the
given moment. Read-only; returns each complaint's view without its timeline (the queue shows no events).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, Field

from domain.models import Channel, ComplaintType, Department, State, Tier
from domain.view import ComplaintView

Scope = Literal["all", "mine", "team", "unassigned", "breached", "waiting", "closed_today"]
QueueSort = Literal["due", "-due", "received", "-received", "tier", "state", "holder"]
SCOPES: tuple[str, ...] = Scope.__args__  # type: ignore[attr-defined]
SORTS: tuple[str, ...] = QueueSort.__args__  # type: ignore[attr-defined]

_ORDER_BY: dict[str, str] = {
    "due": "next_due_at ASC NULLS LAST, received_at ASC",
    "-due": "next_due_at DESC NULLS LAST, received_at DESC",
    "received": "received_at ASC",
    "-received": "received_at DESC",
    "tier": "CASE tier WHEN 'urgent' THEN 0 WHEN 'important' THEN 1 ELSE 2 END, next_due_at ASC NULLS LAST",
    "state": "state ASC, next_due_at ASC NULLS LAST",
    "holder": "holder_id ASC NULLS FIRST, next_due_at ASC NULLS LAST",
}


class QueueQuery(BaseModel):
    scope: Scope = "all"
    tier: Tier | None = None
    complaint_type: ComplaintType | None = None
    channel: Channel | None = None
    sort: QueueSort = "due"
    limit: int = Field(default=300, ge=1, le=1000)
    # Who is looking, for "mine" and "my team"; when "today" began, for "closed today".
    username: str = ""
    team: list[Department] = Field(default_factory=list)
    today_from: datetime | None = None


def _where(q: QueueQuery) -> tuple[list[str], list[Any]]:
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["NOT is_open" if q.scope == "closed_today" else "is_open"]
    if q.scope == "mine":
        me = arg(q.username)
        where.append(f"(holder_id = {me} OR assignees @> ARRAY[{me}::text])")
    elif q.scope == "team":
        team = arg([d.value for d in q.team])
        where.append(
            f"(departments && {team}::text[] OR holder_id IN"
            f" (SELECT username FROM staff_users WHERE department = ANY({team}::text[])))"
        )
    elif q.scope == "unassigned":
        where.append("holder_id IS NULL")
    elif q.scope == "breached":
        where.append("breach_count > 0")
    elif q.scope == "waiting":
        where.append(f"state = {arg(State.WAITING_ON_CUSTOMER.value)}")
    elif q.scope == "closed_today":
        where.append(f"closed_at >= {arg(q.today_from)}" if q.today_from else "false")
    for column, value in (("tier", q.tier), ("complaint_type", q.complaint_type), ("channel", q.channel)):
        if value is not None:
            where.append(f"{column} = {arg(value.value)}")
    return where, args


async def queue_views(pool: asyncpg.Pool, q: QueueQuery) -> list[ComplaintView]:
    where, args = _where(q)
    order = "closed_at DESC" if q.scope == "closed_today" and q.sort == "due" else _ORDER_BY[q.sort]
    sql = (
        "SELECT view - 'timeline' AS view FROM complaints WHERE " + " AND ".join(where)
        + f" ORDER BY {order}, complaint_id LIMIT {q.limit}"
    )  # fmt: skip
    try:
        rows = await pool.fetch(sql, *args)
    except asyncpg.UndefinedTableError:  # the web app may start before the ledger's first migration
        return []
    return [ComplaintView.model_validate(_json(r["view"])) for r in rows]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
