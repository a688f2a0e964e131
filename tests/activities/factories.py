"""Complaint views and timeline events as the workflow would hand them to the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.messages import LedgerWrite, TimelineEvent
from domain.models import (
    SYSTEM_ACTOR,
    Actor,
    Category,
    Channel,
    ComplaintType,
    Customer,
    Department,
    ObligationName,
    ObligationStatus,
    Role,
    State,
    Tier,
)
from domain.view import ComplaintView, ObligationView, Rating

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Monday
AGENT = Actor(id="agent-1", role=Role.SPECIALIST, name="Agent One")


def view(complaint_id: str = "C-1", **overrides: Any) -> ComplaintView:
    values: dict[str, Any] = dict(
        complaint_id=complaint_id,
        workflow_id=f"complaint-{complaint_id}",
        status_token=f"tok-{complaint_id}",
        policy="standard",
        state=State.RECEIVED,
        tier=Tier.GENERAL,
        complaint_type=ComplaintType.COMPLAINT,
        category=Category.DAMAGED,
        channel=Channel.HOTLINE,
        customer=Customer(name="张三", phone="+8613800000000", email="zhang@example.com", region="上海"),
        description="箱子破损",
        order_number="SF1234567896",
        received_at=T0,
        obligations=[
            ObligationView(
                name=ObligationName.FIRST_RESPONSE,
                status=ObligationStatus.OPEN,
                started_at=T0,
                due_at=T0 + timedelta(minutes=5),
            )
        ],
        next_due=ObligationName.FIRST_RESPONSE,
        next_due_at=T0 + timedelta(minutes=5),
    )
    values.update(overrides)
    return ComplaintView(**values)


def event(complaint_id: str, n: int, kind: str = "received", **overrides: Any) -> TimelineEvent:
    values: dict[str, Any] = dict(
        event_id=f"{complaint_id}-e{n}",
        complaint_id=complaint_id,
        at=T0 + timedelta(minutes=n),
        kind=kind,
        actor=SYSTEM_ACTOR,
    )
    values.update(overrides)
    return TimelineEvent(**values)


def batch(v: ComplaintView, *events: TimelineEvent) -> LedgerWrite:
    return LedgerWrite(complaint=v.model_dump(mode="json"), events=list(events))


def acknowledged(v: ComplaintView, at_minutes: int = 3) -> ComplaintView:
    met = T0 + timedelta(minutes=at_minutes)
    first = v.obligations[0].model_copy(update={"status": ObligationStatus.MET, "met_at": met})
    return v.model_copy(
        update={
            "state": State.ACKNOWLEDGED,
            "holder": AGENT,
            "obligations": [first],
            "next_due": None,
            "next_due_at": None,
        }
    )


def rated(v: ComplaintView, score: int, at: datetime) -> ComplaintView:
    return v.model_copy(
        update={"ratings": [*v.ratings, Rating(score=score, at=at, demand="refund" if score < 4 else "")]}
    )


__all__ = ["T0", "AGENT", "view", "event", "batch", "acknowledged", "rated", "Department"]
