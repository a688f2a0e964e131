"""The complaint as people see it: returned by the workflow's `state` query and stored as the ledger's row."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.messages import TimelineEvent, TrackingSnapshot
from domain.models import (
    Actor,
    Attachment,
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


class ObligationView(BaseModel):
    name: ObligationName
    status: ObligationStatus
    started_at: datetime
    due_at: datetime
    warn_at: datetime | None = None
    met_at: datetime | None = None
    breached_at: datetime | None = None
    occurrence: int = 1  # periodic obligations count their occurrences
    department: Department | None = None  # department_report only
    escalation_level: int = 0  # index into the escalation ladder reached so far


class Plan(BaseModel):
    text: str
    compensation: float | None = None
    proposed_by: Actor
    approved_by: Actor | None = None
    approved: bool | None = None


class Resolution(BaseModel):
    cause: str
    solution: str
    compensation: float | None = None
    compensation_note: str = ""
    resolved_by: Actor
    resolved_at: datetime


class Rating(BaseModel):
    score: int
    comment: str = ""
    demand: str = ""
    at: datetime


class DepartmentFinding(BaseModel):
    department: Department
    findings: str | None = None
    responsible: bool | None = None
    due_at: datetime | None = None
    reported_at: datetime | None = None
    escalated: bool = False


class ComplaintView(BaseModel):
    complaint_id: str
    workflow_id: str
    status_token: str
    policy: str
    state: State
    tier: Tier
    complaint_type: ComplaintType
    category: Category
    channel: Channel
    customer: Customer
    subject: str | None = None
    description: str
    order_number: str | None = None
    product: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    received_at: datetime
    tier_confirmed: bool = False
    holder: Actor | None = None
    holder_role: Role = Role.SPECIALIST
    departments: list[Department] = Field(default_factory=list)
    assignees: list[str] = Field(default_factory=list)
    obligations: list[ObligationView] = Field(default_factory=list)
    next_due: ObligationName | None = None
    next_due_at: datetime | None = None
    plan: Plan | None = None
    investigation: list[DepartmentFinding] = Field(default_factory=list)
    resolution: Resolution | None = None
    ratings: list[Rating] = Field(default_factory=list)
    reopen_count: int = 0
    breach_count: int = 0
    last_breach_at: datetime | None = None
    extra_reports: int = 0
    merged_into: str | None = None
    cancel_reason: str | None = None
    tracking: TrackingSnapshot | None = None
    closed_at: datetime | None = None
    timeline: list[TimelineEvent] = Field(default_factory=list)  # the newest events; the ledger keeps all
