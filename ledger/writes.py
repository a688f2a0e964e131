"""Writes to the complaint ledger (PostgreSQL): complaint batches and the tracking-snapshot store.

Every write is idempotent, so a retried activity never duplicates a row: the complaint row is an upsert of
the workflow's current view (last write wins: the workflow awaits its ledger writes in order), timeline
events carry deterministic ids and are inserted with ON CONFLICT DO NOTHING, obligations and ratings are
upserted by their natural keys. One batch is one statement (one round trip, atomic), so the workflow may run
it as a local activity.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import asyncpg

from domain.events import OUTCOME_KINDS
from domain.messages import LedgerWrite, TimelineEvent, TrackingSnapshot
from domain.models import ObligationName, ObligationStatus
from domain.view import ComplaintView

# Event kinds that settle or threaten an obligation, when the event's data does not say so itself.
_OUTCOME_BY_KIND = {kind.value: ObligationStatus(status) for kind, status in OUTCOME_KINDS.items()}

_UPSERT_COMPLAINT = """
INSERT INTO complaints (
    complaint_id, workflow_id, status_token, policy, state, tier, complaint_type, category, channel,
    customer_type, region, order_number, departments, assignees, holder_id, holder_role, received_at,
    next_due, next_due_at, breach_count, reopen_count, last_breach_at, first_response_at, resolved_at,
    closed_at, satisfaction, view, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
        $22, $23, $24, $25, $26, $27::jsonb, now())
ON CONFLICT (complaint_id) DO UPDATE SET
    workflow_id = EXCLUDED.workflow_id, status_token = EXCLUDED.status_token, policy = EXCLUDED.policy,
    state = EXCLUDED.state, tier = EXCLUDED.tier, complaint_type = EXCLUDED.complaint_type,
    category = EXCLUDED.category, channel = EXCLUDED.channel, customer_type = EXCLUDED.customer_type,
    region = EXCLUDED.region, order_number = EXCLUDED.order_number, departments = EXCLUDED.departments,
    assignees = EXCLUDED.assignees, holder_id = EXCLUDED.holder_id, holder_role = EXCLUDED.holder_role,
    received_at = EXCLUDED.received_at, next_due = EXCLUDED.next_due, next_due_at = EXCLUDED.next_due_at,
    breach_count = EXCLUDED.breach_count, reopen_count = EXCLUDED.reopen_count,
    last_breach_at = EXCLUDED.last_breach_at, first_response_at = EXCLUDED.first_response_at,
    resolved_at = EXCLUDED.resolved_at, closed_at = EXCLUDED.closed_at, satisfaction = EXCLUDED.satisfaction,
    view = EXCLUDED.view, updated_at = now()
"""

# The events from arrays ($28–$39, after the complaint's 27); RETURNING tells which were new.
_INSERT_EVENTS = """
INSERT INTO timeline_events (event_id, complaint_id, at, kind, actor_id, actor_role, actor_name, text,
                             obligation, due_at, outcome, data)
SELECT * FROM unnest($28::text[], $29::text[], $30::timestamptz[], $31::text[], $32::text[], $33::text[],
                     $34::text[], $35::text[], $36::text[], $37::timestamptz[], $38::text[], $39::jsonb[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

# A settled clock keeps the holder who settled it, a breached one the holder when it fell due (NULL: the
# unassigned queue): later reassignments must not move the credit or the blame.
_UPSERT_OBLIGATIONS = """
INSERT INTO obligations (complaint_id, name, occurrence, department, status, tier, holder_id, started_at,
                         due_at, warn_at, met_at, breached_at, escalation_level)
SELECT * FROM unnest($40::text[], $41::text[], $42::int[], $43::text[], $44::text[], $45::text[], $46::text[],
                     $47::timestamptz[], $48::timestamptz[], $49::timestamptz[], $50::timestamptz[],
                     $51::timestamptz[], $52::int[])
ON CONFLICT (complaint_id, name, occurrence, department) DO UPDATE SET
    status = EXCLUDED.status, tier = EXCLUDED.tier,
    holder_id = CASE WHEN obligations.status IN ('met', 'met_late', 'waived', 'breached') THEN obligations.holder_id
                     ELSE EXCLUDED.holder_id END,
    started_at = EXCLUDED.started_at, due_at = EXCLUDED.due_at, warn_at = EXCLUDED.warn_at,
    met_at = EXCLUDED.met_at, breached_at = EXCLUDED.breached_at, escalation_level = EXCLUDED.escalation_level
RETURNING 1
"""

_INSERT_RATINGS = """
INSERT INTO ratings (complaint_id, at, round, score, comment, demand)
SELECT * FROM unnest($53::text[], $54::timestamptz[], $55::int[], $56::int[], $57::text[], $58::text[])
ON CONFLICT (complaint_id, at) DO NOTHING
RETURNING 1
"""

# The whole batch as one statement: one round trip, atomic without a transaction block. The events' and
# ratings' foreign keys are checked at the end of the statement, when the complaint row is there.
_WRITE_BATCH = f"""
WITH complaint AS ({_UPSERT_COMPLAINT} RETURNING 1),
events AS ({_INSERT_EVENTS}),
obligation_rows AS ({_UPSERT_OBLIGATIONS}),
rating_rows AS ({_INSERT_RATINGS})
SELECT array(SELECT event_id FROM events) AS inserted
"""


def event_outcome(event: TimelineEvent) -> str | None:
    """met / breached / … for events about an obligation: `data["obligation_status"]` when the workflow
    states it, else inferred from warning / breach kinds."""
    stated = event.data.get("obligation_status") or event.data.get("status")
    if stated in ObligationStatus.__members__.values():
        return str(stated)
    inferred = _OUTCOME_BY_KIND.get(event.kind)
    return inferred.value if inferred else None


def _first_response_at(view: ComplaintView) -> datetime | None:
    times = [o.met_at for o in view.obligations if o.name == ObligationName.FIRST_RESPONSE and o.met_at]
    return min(times) if times else None


def _complaint_args(view: ComplaintView, raw: dict[str, Any]) -> tuple:
    holder = view.holder
    return (
        view.complaint_id,
        view.workflow_id,
        view.status_token,
        view.policy,
        view.state.value,
        view.tier.value,
        view.complaint_type.value,
        view.category.value,
        view.channel.value,
        view.customer.customer_type,
        view.customer.region,
        view.order_number,
        [d.value for d in view.departments],
        list(view.assignees),
        holder.id if holder else None,
        view.holder_role.value,
        view.received_at,
        view.next_due.value if view.next_due else None,
        view.next_due_at,
        view.breach_count,
        view.reopen_count,
        view.last_breach_at,
        _first_response_at(view),
        view.resolution.resolved_at if view.resolution else None,
        view.closed_at,
        view.ratings[-1].score if view.ratings else None,
        json.dumps(raw, ensure_ascii=False),
    )


def _event_args(e: TimelineEvent) -> tuple:
    return (
        e.event_id,
        e.complaint_id,
        e.at,
        e.kind,
        e.actor.id,
        e.actor.role.value,
        e.actor.name,
        e.text,
        e.obligation.value if e.obligation else None,
        e.due_at,
        event_outcome(e),
        json.dumps(e.data, ensure_ascii=False),
    )


def _obligation_args(view: ComplaintView) -> list[tuple]:
    holder_id = view.holder.id if view.holder else None
    return [
        (
            view.complaint_id,
            o.name.value,
            o.occurrence,
            o.department.value if o.department else "",
            o.status.value,
            view.tier.value,
            holder_id,
            o.started_at,
            o.due_at,
            o.warn_at,
            o.met_at,
            o.breached_at,
            o.escalation_level,
        )
        for o in view.obligations
    ]


async def write_batch(conn: asyncpg.Connection, batch: LedgerWrite) -> int:
    """Apply one batch in one transaction; returns how many timeline events were new."""
    view = ComplaintView.model_validate(batch.complaint)
    # After a lost batch the view's own newest events are written too, healing the gap; otherwise they are
    # in the ledger already, and inserting them again costs the database 50 rows per write.
    events = {e.event_id: e for e in [*(view.timeline if batch.heal else []), *batch.events]}
    # One row per obligation key (the last wins, as the row-by-row upsert did): one statement may not
    # update a row twice.
    obligations = {row[:4]: row for row in _obligation_args(view)}
    ratings = [
        (view.complaint_id, r.at, i, r.score, r.comment, r.demand) for i, r in enumerate(view.ratings, 1)
    ]
    row = await conn.fetchrow(
        _WRITE_BATCH,
        *_complaint_args(view, batch.complaint),
        *_columns([_event_args(e) for e in events.values()], 12),
        *_columns(list(obligations.values()), 13),
        *_columns(list({r[1]: r for r in ratings}.values()), 6),
    )
    return len(row["inserted"])


def _columns(rows: list[tuple], width: int) -> list[list]:
    """Rows as one array per column (for unnest)."""
    return [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def snapshot_digest(snapshot: TrackingSnapshot) -> str:
    content = snapshot.model_dump(mode="json", exclude={"fetched_at"})
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


async def store_tracking_snapshot(
    pool: asyncpg.Pool, complaint_id: str, snapshot: TrackingSnapshot, raw: dict[str, Any] | None
) -> None:
    """Keep every distinct trail seen for the complaint; seeing the same trail again only moves fetched_at."""
    fetched = snapshot.fetched_at
    await pool.execute(
        """
        INSERT INTO tracking_snapshots (complaint_id, waybill, digest, found, carrier, status, anomalies,
                                        snapshot, raw, first_seen_at, fetched_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $10)
        ON CONFLICT (complaint_id, waybill, digest) DO UPDATE
            SET fetched_at = EXCLUDED.fetched_at, snapshot = EXCLUDED.snapshot, raw = EXCLUDED.raw
            WHERE EXCLUDED.fetched_at > tracking_snapshots.fetched_at
        """,
        complaint_id,
        snapshot.waybill,
        snapshot_digest(snapshot),
        snapshot.found,
        snapshot.carrier,
        snapshot.status,
        list(snapshot.anomalies),
        snapshot.model_dump_json(),
        json.dumps(raw, ensure_ascii=False) if raw is not None else None,
        fetched,
    )
