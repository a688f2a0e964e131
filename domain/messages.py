"""Inputs and outputs of activities: the workflow decides, activities talk to the world.

Activity names live here so the workflow (sandboxed, imports no activity code) and the worker agree.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from domain.models import Actor, Department, Locale, ObligationName, Role

ACTIVITY_NOTIFY = "notify"
ACTIVITY_RECORD = "record_ledger"
ACTIVITY_STEP = "record_step"
ACTIVITY_TRACKING = "lookup_tracking"


class Audience(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


class TemplateKey(StrEnum):
    # to the customer
    CONFIRMATION = "confirmation"  # complaint number, status link, promised times
    ACKNOWLEDGED = "acknowledged"
    CUSTOMER_UPDATE = "customer_update"
    ANSWER = "answer"
    PLAN = "plan"
    RESULT = "result"  # cause, solution, compensation
    RATING_REQUEST = "rating_request"
    REOPENED = "reopened"
    DUPLICATE_JOINED = "duplicate_joined"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    CLOSED = "closed"
    STAFF_REPLY = "staff_reply"  # a staff member's free reply
    # to staff
    NEW_COMPLAINT = "new_complaint"  # supervisor / department heads alerted at intake (important, urgent)
    ASSIGNMENT = "assignment"
    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"
    PROGRESS_REPORT = "progress_report"  # periodic report to the supervisor
    APPROVAL_NEEDED = "approval_needed"
    CUSTOMER_MESSAGE = "customer_message"  # the customer answered: to the holder
    NO_PROGRESS = "no_progress"  # an automatic customer update went out and nobody had worked on it


class Notification(BaseModel):
    """One message to one audience. `idempotency_key` is unique per complaint and obligation occurrence,
    so a retried activity never sends twice."""

    idempotency_key: str
    complaint_id: str
    template: TemplateKey
    audience: Audience
    locale: Locale = Locale.ZH_CN
    roles: list[Role] = Field(default_factory=list)  # staff audience: who gets it
    departments: list[Department] = Field(default_factory=list)
    staff_ids: list[str] = Field(default_factory=list)
    context: dict[str, Any] = Field(default_factory=dict)  # template variables, JSON-safe values only


class NotificationResult(BaseModel):
    idempotency_key: str
    delivered: list[str] = Field(default_factory=list)  # channels that took it
    rejected: list[str] = Field(default_factory=list)  # channels that refused it for good (bad number …)
    duplicate: bool = False  # already sent before (retry after crash)


class TimelineEvent(BaseModel):
    """One step in the complaint's record: who did what, when, for which obligation."""

    event_id: str  # deterministic (workflow.uuid4 or key) so ledger writes are idempotent
    complaint_id: str
    at: datetime
    kind: str  # e.g. received, acknowledged, assigned, warning, breach, escalated, rated, reopened …
    actor: Actor
    text: str = ""
    obligation: ObligationName | None = None
    due_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class LedgerWrite(BaseModel):
    """A batch for the ledger: the complaint's current row plus the new timeline events."""

    complaint: dict[str, Any]  # ComplaintView.model_dump(mode="json")
    events: list[TimelineEvent] = Field(default_factory=list)
    # After a lost write: also insert the view's own newest events (its timeline), healing most of the gap.
    heal: bool = True


class StepWrite(BaseModel):
    """What one workflow step sends out, in one local activity: the ledger batch first, then the step's
    notifications, each tried once (the outbox makes a second try harmless)."""

    ledger: LedgerWrite | None = None
    notifications: list[Notification] = Field(default_factory=list)


class StepResult(BaseModel):
    """Keys of the step's notifications: settled (delivered, refused for good, or sent before) or deferred,
    which the workflow hands to the retrying `notify` activity."""

    new_events: int = 0
    settled: list[str] = Field(default_factory=list)
    deferred: list[str] = Field(default_factory=list)


class TrackingRequest(BaseModel):
    complaint_id: str
    waybill: str


class TrackingStatus(StrEnum):
    """A waybill's state as carriers report it (TrackingEvent.status, TrackingSnapshot.status)."""

    CREATED = "created"
    PICKED_UP = "picked_up"
    DEPARTED = "departed"
    ARRIVED = "arrived"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"


class TrackingAnomaly(StrEnum):
    """What activities/tracking.py detects in a trail (TrackingSnapshot.anomalies)."""

    LONG_STOP = "long_stop"
    MISSED_SCAN = "missed_scan"
    ROUTE_DEVIATION = "route_deviation"


class TrackingEvent(BaseModel):
    at: datetime
    place: str
    status: str
    handler: str | None = None


class TrackingSnapshot(BaseModel):
    waybill: str
    found: bool
    carrier: str | None = None
    status: str | None = None
    events: list[TrackingEvent] = Field(default_factory=list)
    last_position: tuple[float, float] | None = None  # lat, lon
    courier: dict[str, str] | None = None  # name, phone, station
    anomalies: list[str] = Field(default_factory=list)  # long_stop, missed_scan, route_deviation
    fetched_at: datetime | None = None
