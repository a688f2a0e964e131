"""The ledger: idempotent writes (a retried batch changes nothing) and the reads the web app uses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.ledger import LedgerWriter
from domain.messages import LedgerWrite
from domain.models import Actor, ComplaintType, Customer, Department, ObligationName, Role, State, Tier
from ledger.reads import ComplaintFilter, LedgerReader

from .factories import AGENT, T0, acknowledged, batch, event, rated, view

TABLES = ("complaints", "timeline_events", "obligations", "ratings")


async def snapshot(pool) -> dict[str, list[dict]]:
    """Every ledger row, without the write time: what a retried batch must leave unchanged."""
    out = {}
    for table in TABLES:
        rows = await pool.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")
        out[table] = [{k: v for k, v in dict(r).items() if k != "updated_at"} for r in rows]
    return out


async def record(pool, write: LedgerWrite) -> int:
    return await ActivityEnvironment().run(LedgerWriter(pool).record_ledger, write)


async def test_the_same_batch_written_twice_leaves_the_same_rows(ledger_pool):
    write = batch(view("C-1"), event("C-1", 0, "received"), event("C-1", 1, "confirmation_sent"))
    assert await record(ledger_pool, write) == 2
    first = await snapshot(ledger_pool)
    assert await record(ledger_pool, write) == 0
    assert await snapshot(ledger_pool) == first
    assert [len(first[t]) for t in TABLES] == [1, 2, 1, 0]


async def test_a_later_batch_updates_the_row_and_adds_only_its_new_events(ledger_pool):
    v = view("C-1")
    await record(ledger_pool, batch(v, event("C-1", 0)))
    ack = event(
        "C-1",
        3,
        "acknowledged",
        actor=AGENT,
        obligation=ObligationName.FIRST_RESPONSE,
        data={"obligation_status": "met"},
    )
    assert await record(ledger_pool, batch(acknowledged(v), event("C-1", 0), ack)) == 1

    row = await ledger_pool.fetchrow("SELECT * FROM complaints WHERE complaint_id = 'C-1'")
    assert row["state"] == "acknowledged" and row["holder_id"] == "agent-1"
    assert row["first_response_at"] == T0 + timedelta(minutes=3)
    assert row["next_due_at"] is None
    outcome = await ledger_pool.fetchval("SELECT outcome FROM timeline_events WHERE event_id = 'C-1-e3'")
    assert outcome == "met"


async def test_breach_and_warning_events_record_their_outcome(ledger_pool):
    v = view("C-1")
    breach = event(
        "C-1", 6, "sla_breach", obligation=ObligationName.FIRST_RESPONSE, due_at=T0 + timedelta(minutes=5)
    )
    warning = event("C-1", 4, "sla_warning", obligation=ObligationName.FIRST_RESPONSE)
    await record(ledger_pool, batch(v, warning, breach))
    rows = await ledger_pool.fetch("SELECT kind, outcome, due_at FROM timeline_events ORDER BY at")
    assert [(r["kind"], r["outcome"]) for r in rows] == [
        ("sla_warning", "warned"),
        ("sla_breach", "breached"),
    ]
    assert rows[1]["due_at"] == T0 + timedelta(minutes=5)


async def test_events_only_in_the_views_timeline_are_written_too(ledger_pool):
    v = view("C-1", timeline=[event("C-1", 0), event("C-1", 1, "classified")])
    assert await record(ledger_pool, batch(v)) == 2


async def test_the_views_timeline_is_written_only_to_heal_a_lost_batch(ledger_pool):
    """The workflow asks for healing (`heal`) after a failed write and on a run's first; otherwise the
    view's timeline is in the ledger already and only the batch's own events are inserted."""
    v = view("C-1", timeline=[event("C-1", 0), event("C-1", 1, "classified")])
    assert (
        await record(
            ledger_pool, batch(v, event("C-1", 2, "acknowledged")).model_copy(update={"heal": False})
        )
        == 1
    )
    assert await ledger_pool.fetchval("SELECT count(*) FROM timeline_events") == 1
    assert await record(ledger_pool, batch(v)) == 2  # healing: the two events only the view had


async def test_a_settled_clock_keeps_the_holder_who_settled_it(ledger_pool):
    v = acknowledged(view("C-1"))
    await record(ledger_pool, batch(v))
    other = Actor(id="agent-2", role=Role.SPECIALIST)
    await record(ledger_pool, batch(v.model_copy(update={"holder": other})))
    assert await ledger_pool.fetchval("SELECT holder_id FROM obligations") == "agent-1"
    assert await ledger_pool.fetchval("SELECT holder_id FROM complaints") == "agent-2"


async def test_every_rating_is_kept_and_the_row_shows_the_latest(ledger_pool):
    v = rated(view("C-1", state=State.IN_PROGRESS, reopen_count=1), 2, T0 + timedelta(days=1))
    await record(ledger_pool, batch(v))
    v = rated(
        v.model_copy(update={"state": State.CLOSED, "closed_at": T0 + timedelta(days=2)}),
        5,
        T0 + timedelta(days=2),
    )
    await record(ledger_pool, batch(v))
    await record(ledger_pool, batch(v))
    rows = await ledger_pool.fetch("SELECT round, score, demand FROM ratings ORDER BY at")
    assert [(r["round"], r["score"], r["demand"]) for r in rows] == [(1, 2, "refund"), (2, 5, "")]
    row = await ledger_pool.fetchrow("SELECT satisfaction, is_open, reopen_count FROM complaints")
    assert (row["satisfaction"], row["is_open"], row["reopen_count"]) == (5, False, 1)


async def test_a_malformed_view_is_refused_for_good(ledger_pool):
    with pytest.raises(ApplicationError) as e:
        await record(ledger_pool, LedgerWrite(complaint={"complaint_id": "C-1"}))
    assert e.value.non_retryable and "workflow_id" in str(e.value)


async def _seed(pool) -> None:
    """Four complaints: urgent due soonest, general due later, an unassigned one without a clock, a closed one."""
    business = Customer(name="ACME", customer_type="business", region="北京")
    rows = [
        view(
            "C-urgent",
            tier=Tier.URGENT,
            next_due_at=T0 + timedelta(minutes=15),
            holder=AGENT,
            departments=[Department.WAREHOUSE],
            breach_count=1,
        ),
        view(
            "C-general",
            next_due_at=T0 + timedelta(hours=2),
            customer=business,
            received_at=T0 + timedelta(days=1),
            complaint_type=ComplaintType.CONSULTATION,
            assignees=["agent-9"],
        ),
        view("C-noclock", next_due=None, next_due_at=None, received_at=T0 + timedelta(days=2)),
        view("C-closed", state=State.CLOSED, next_due_at=T0, received_at=T0 + timedelta(days=3)),
    ]
    for v in rows:
        await record(pool, batch(v, event(v.complaint_id, 0)))


async def test_queue_lists_open_complaints_by_next_deadline(ledger_pool):
    await _seed(ledger_pool)
    reader = LedgerReader(ledger_pool)
    assert [r.complaint_id for r in await reader.queue()] == ["C-urgent", "C-general", "C-noclock"]
    assert [r.complaint_id for r in await reader.queue(ComplaintFilter(tier=[Tier.URGENT]))] == ["C-urgent"]
    assert [r.complaint_id for r in await reader.queue(ComplaintFilter(breached=True))] == ["C-urgent"]
    assert [r.complaint_id for r in await reader.queue(ComplaintFilter(department=Department.WAREHOUSE))] == [
        "C-urgent"
    ]
    mine = await reader.queue(ComplaintFilter(person="agent-9"))
    assert [r.complaint_id for r in mine] == ["C-general"]  # an assignee, not the holder
    assert {r.complaint_id for r in await reader.queue(ComplaintFilter(unassigned=True))} == {
        "C-general",
        "C-noclock",
    }
    first = (await reader.queue())[0]
    assert first.customer_name == "张三" and first.next_due == "first_response"


async def test_search_by_time_customer_type_and_issue_type(ledger_pool):
    await _seed(ledger_pool)
    reader = LedgerReader(ledger_pool)
    window = ComplaintFilter(received_from=T0 + timedelta(days=1), received_to=T0 + timedelta(days=3))
    assert [r.complaint_id for r in await reader.search(window)] == ["C-noclock", "C-general"]
    by_customer = await reader.search(ComplaintFilter(customer_type="business"))
    assert [r.complaint_id for r in by_customer] == ["C-general"]
    by_type = await reader.search(ComplaintFilter(complaint_type=ComplaintType.CONSULTATION))
    assert [r.complaint_id for r in by_type] == ["C-general"]
    assert await reader.count(ComplaintFilter(region="上海")) == 3
    assert [r.complaint_id for r in await reader.search(ComplaintFilter(state=[State.CLOSED]))] == [
        "C-closed"
    ]


async def test_record_has_the_view_and_every_step_and_is_found_by_status_token(ledger_pool):
    await _seed(ledger_pool)
    reader = LedgerReader(ledger_pool)
    rec = await reader.record_by_status_token("tok-C-urgent")
    assert rec is not None and rec.view.tier == Tier.URGENT
    assert [e.event_id for e in rec.timeline] == ["C-urgent-e0"]
    assert rec.notifications == [] and rec.tracking is None
    assert await reader.record_by_status_token("no-such-token") is None
    assert await reader.record("C-missing") is None
