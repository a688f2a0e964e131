"""Reading complaints for the web app: the ledger for lists, the workflow's `state` query for one complaint.

Lists (queue, supervisor inbox) come from the ledger's `complaints` rows (the ComplaintView as jsonb), which
the workflow writes through an activity. One complaint's page asks its workflow directly, so a page shown
right after an action is never stale; a finished complaint, or one whose workflow does not answer, is shown
from its ledger row.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from core.temporal import workflow_id_for
from domain.actions import QUERY_STATE
from domain.departments import team_departments
from domain.messages import TimelineEvent
from domain.models import TERMINAL_STATES, ObligationStatus
from domain.view import ComplaintView, ObligationView
from ledger import reads
from ledger.queue import SCOPES, SORTS, QueueQuery, queue_views
from ledger.reads import LedgerReader
from ui.auth import StaffUser

log = structlog.get_logger()

QUERY_TIMEOUT_S = 5.0


@dataclass
class QueueFilters:
    """The queue's query string, as typed; `query()` validates it into the ledger's QueueQuery."""

    scope: str = "all"
    tier: str = ""
    complaint_type: str = ""
    channel: str = ""
    sort: str = "due"

    SCOPES = SCOPES
    SORTS = SORTS

    @classmethod
    def from_query(cls, q: dict[str, str], default_scope: str = "all") -> QueueFilters:
        scope = q.get("scope", default_scope)
        return cls(
            scope=scope if scope in cls.SCOPES else "all",
            tier=q.get("tier", "")[:20],
            complaint_type=q.get("type", "")[:20],
            channel=q.get("channel", "")[:20],
            sort=q.get("sort", "due")[:20] or "due",
        )

    def query_string(self, **override: str) -> str:
        values = {
            "scope": self.scope,
            "tier": self.tier,
            "type": self.complaint_type,
            "channel": self.channel,
            "sort": self.sort,
        }
        values.update(override)
        return urlencode(
            {
                k: v
                for k, v in values.items()
                if v and not (k == "scope" and v == "all") and not (k == "sort" and v == "due")
            }
        )

    def query(self, user: StaffUser, today_from: datetime) -> QueueQuery:
        """Raises pydantic's ValidationError naming the field for a value that is not one of the choices."""
        return QueueQuery(
            scope=self.scope,
            tier=self.tier or None,
            complaint_type=self.complaint_type or None,
            channel=self.channel or None,
            sort=self.sort,
            username=user.username,
            team=team_departments(user.department),
            today_from=today_from,
        )


@dataclass
class QueueItem:
    view: ComplaintView
    next_obligation: ObligationView | None
    warnings: int
    breaches: int

    @classmethod
    def of(cls, view: ComplaintView) -> QueueItem:
        return cls(
            view=view,
            next_obligation=next_obligation(view),
            warnings=sum(1 for o in view.obligations if o.status == ObligationStatus.WARNED),
            breaches=sum(1 for o in view.obligations if o.status == ObligationStatus.BREACHED),
        )


def next_obligation(view: ComplaintView) -> ObligationView | None:
    """The most urgent unmet obligation (what the banner and the queue count down to): an overdue one before
    the next one due, the longest overdue first."""
    running = [
        o
        for o in view.obligations
        if o.status in (ObligationStatus.OPEN, ObligationStatus.WARNED, ObligationStatus.BREACHED)
    ]
    if not running:
        return None
    return min(running, key=lambda o: (o.status != ObligationStatus.BREACHED, o.due_at))


@dataclass
class Loaded:
    view: ComplaintView
    workflow_id: str
    live: bool  # from the workflow's query (fresh) rather than the ledger row
    events: list[TimelineEvent] = field(default_factory=list)


def _view_from_json(data: Any) -> ComplaintView:
    if isinstance(data, str):
        return ComplaintView.model_validate_json(data)
    return ComplaintView.model_validate(data)


async def query_view(client: Client, workflow_id: str) -> ComplaintView | None:
    try:
        return await asyncio.wait_for(
            client.get_workflow_handle(workflow_id).query(QUERY_STATE, result_type=ComplaintView),
            timeout=QUERY_TIMEOUT_S,
        )
    except (RPCError, TimeoutError) as e:
        log.info("state query failed, using the ledger row", workflow_id=workflow_id, error=str(e))
        return None
    except Exception as e:  # a query failure inside the workflow (WorkflowQueryFailedError) or a decode error
        log.warning("state query failed", workflow_id=workflow_id, error=repr(e))
        return None


async def load(client: Client, pool: asyncpg.Pool, complaint_id: str) -> Loaded | None:
    row = await reads.complaint_row(pool, "complaint_id = $1", complaint_id)
    ledger_view = _view_from_json(row["view"]) if row else None
    workflow_id = (
        (row["workflow_id"] if row else None)
        or await reads.receipt_workflow_id(pool, complaint_id)
        or workflow_id_for(complaint_id)
    )
    if ledger_view is not None and ledger_view.state in TERMINAL_STATES:
        live_view = None  # finished: the ledger row is final, no need to replay the history
    else:
        live_view = await query_view(client, workflow_id)
    view = live_view or ledger_view
    if view is None:
        return None
    if view.tracking is None and view.order_number:
        try:
            tracking = await LedgerReader(pool).latest_tracking(view.complaint_id)
        except asyncpg.UndefinedTableError:
            tracking = None
        if tracking is not None:
            view = view.model_copy(update={"tracking": tracking})
    events = await timeline(pool, view)
    return Loaded(
        view=view, workflow_id=view.workflow_id or workflow_id, live=live_view is not None, events=events
    )


async def load_by_token(client: Client, pool: asyncpg.Pool, token: str) -> Loaded | None:
    """The customer's status page: found only by the exact token (an index lookup, never a scan)."""
    if not token or len(token) > 200:
        return None
    row = await reads.complaint_row(pool, "status_token = $1", token)
    if row is None:
        return None
    loaded = await load(client, pool, row["complaint_id"])
    if loaded is None or not hmac.compare_digest(loaded.view.status_token.encode(), token.encode()):
        return None
    return loaded


async def timeline(pool: asyncpg.Pool, view: ComplaintView) -> list[TimelineEvent]:
    """Every event: the ledger keeps all of them, the view only the newest; merged by event id."""
    events: dict[str, TimelineEvent] = {e.event_id: e for e in view.timeline}
    try:
        rows = await LedgerReader(pool).timeline(view.complaint_id)
    except asyncpg.UndefinedTableError:
        rows = []
    for ev in rows:
        events.setdefault(ev.event_id, ev)
    return sorted(events.values(), key=lambda e: (e.at, e.event_id))


async def list_open(
    pool: asyncpg.Pool, filters: QueueFilters, user: StaffUser, today_from: datetime, limit: int = 300
) -> list[QueueItem]:
    """The queue view asked for (open complaints, or those closed today), in the order asked for."""
    query = filters.query(user, today_from).model_copy(update={"limit": limit})
    return [QueueItem.of(v) for v in await queue_views(pool, query)]


async def supervisor_inbox(pool: asyncpg.Pool) -> dict[str, list[QueueItem]]:
    """Plans awaiting approval, escalated complaints, breached complaints — open ones only."""
    return {
        name: [QueueItem.of(_view_from_json(v)) for v in views]
        for name, views in (await reads.supervisor_inbox_views(pool)).items()
    }


async def ledger_version(pool: asyncpg.Pool, complaint_id: str) -> str | None:
    value = await reads.updated_at(pool, complaint_id)
    return value.isoformat() if value else None
