"""What the what-if replays (domain/whatif.py): a period's complaints, their recorded actions and the recorded
outcome of every obligation, read from the ledger in three range queries (no per-complaint round trips).

A complaint's intake tier and type are the first re-classification's `from_*` (else the row's); the actions
are its timeline events of the kinds `domain.replay.ACTION_KINDS` names, with their actor and data.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from domain.events import EventKind
from domain.models import Actor, Category, ComplaintType, Department, Role, Tier
from domain.replay import ACTION_KINDS, Action, Intake
from domain.whatif import Recorded, RecordedOutcome

_COMPLAINTS = """
SELECT complaint_id, policy, tier, complaint_type, category, region, departments, received_at
FROM complaints WHERE received_at >= $1 AND received_at < $2 ORDER BY received_at, complaint_id
"""
_EVENTS = """
SELECT e.complaint_id, e.at, e.kind, e.actor_id, e.actor_role, e.data
FROM timeline_events e JOIN complaints c USING (complaint_id)
WHERE c.received_at >= $1 AND c.received_at < $2 AND e.kind = ANY($3::text[])
ORDER BY e.complaint_id, e.at, e.event_id
"""
_OBLIGATIONS = """
SELECT o.complaint_id, o.name, o.occurrence, o.department, o.status, o.met_at, o.breached_at
FROM obligations o JOIN complaints c USING (complaint_id)
WHERE c.received_at >= $1 AND c.received_at < $2
"""


def _data(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw or {})


async def period(pool: asyncpg.Pool, start: datetime, end: datetime) -> list[Recorded]:
    """Every complaint received in [start, end), as `Recorded`, oldest first."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(_COMPLAINTS, start, end)
        events = await conn.fetch(_EVENTS, start, end, sorted(k.value for k in ACTION_KINDS))
        obligations = await conn.fetch(_OBLIGATIONS, start, end)
    actions: dict[str, list[Action]] = {}
    first_class: dict[str, dict[str, Any]] = {}
    for e in events:
        data = _data(e["data"])
        kind = EventKind(e["kind"])
        if kind == EventKind.CLASSIFIED:
            first_class.setdefault(e["complaint_id"], data)
        actor = Actor(id=e["actor_id"], role=Role(e["actor_role"]))
        actions.setdefault(e["complaint_id"], []).append(Action(e["at"], kind, actor, data))
    outcomes: dict[str, dict[tuple[str, int, str], RecordedOutcome]] = {}
    for o in obligations:
        key = (o["name"], o["occurrence"], o["department"])
        outcomes.setdefault(o["complaint_id"], {})[key] = RecordedOutcome(
            o["status"], o["met_at"], o["breached_at"]
        )
    out = []
    for r in rows:
        cid = r["complaint_id"]
        first = first_class.get(cid, {})
        intake = Intake(
            complaint_id=cid,
            received_at=r["received_at"],
            tier=Tier(first.get("from_tier", r["tier"])),
            complaint_type=ComplaintType(first.get("from_type", r["complaint_type"])),
            category=Category(r["category"]),
            region=r["region"],
        )
        depts = list(r["departments"] or [])
        department = next((d for d in depts if d in Department.__members__.values()), "")
        out.append(Recorded(intake, r["policy"], department, actions.get(cid, []), outcomes.get(cid, {})))
    return out
