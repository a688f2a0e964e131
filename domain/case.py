"""The complaint's own state: what `ComplaintWorkflow` knows and carries across continue-as-new, and the
tables of which event meets which obligation.

Kept out of workflows/ on purpose: the workflow sandbox re-executes a workflow's own module for every
complaint it loads, and building these pydantic models there cost ~70 ms and ~170 KiB per complaint."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field, field_validator

from domain.calendar import CalendarSpec
from domain.clocks import Obligation
from domain.messages import TimelineEvent, TrackingSnapshot
from domain.models import (
    Actor,
    Attachment,
    Category,
    ComplaintInput,
    ComplaintType,
    Department,
    ObligationName,
    Role,
    State,
    Tier,
)
from domain.policy import PRESETS, Anchor, Policy, preset
from domain.sharing import shared
from domain.view import DepartmentFinding, Plan, Rating, Resolution

N = ObligationName

# Departments whose work needs the parcel's trail (B §2.3).
LOGISTICS_DEPARTMENTS = frozenset(
    {Department.LOGISTICS, Department.WAREHOUSE, Department.TRANSPORT, Department.DELIVERY}
)
WORKING = frozenset(
    {
        State.RECEIVED,
        State.ACKNOWLEDGED,
        State.ASSIGNED,
        State.IN_PROGRESS,
        State.WAITING_ON_CUSTOMER,
        State.WORK_DONE,
    }
)
# Which event meets which obligation (docs/rules.md "The default policy").
MEETS: dict[Anchor, tuple[ObligationName, ...]] = {
    Anchor.ACKNOWLEDGED: (N.FIRST_RESPONSE,),
    Anchor.SUPERVISOR_ACKNOWLEDGED: (N.SUPERVISOR_ACK,),
    Anchor.ANSWERED: (N.DIRECT_ANSWER, N.FIRST_RESPONSE),
    Anchor.ASSIGNMENT: (N.ASSIGNMENT,),
    Anchor.PLAN_PROPOSED: (N.PRELIMINARY_PLAN,),
    Anchor.HANDLING_STARTED: (N.HANDLING_START,),
    Anchor.RESOLVED: (N.RESOLUTION, N.RESULT_FEEDBACK, N.FIRST_RESPONSE, N.HANDLING_START),
}
# The event that primarily meets each obligation: a re-plan does not open a clock whose event happened.
MET_BY: dict[ObligationName, Anchor] = {
    N.FIRST_RESPONSE: Anchor.ACKNOWLEDGED,
    N.SUPERVISOR_ACK: Anchor.SUPERVISOR_ACKNOWLEDGED,
    N.DIRECT_ANSWER: Anchor.ANSWERED,
    N.ASSIGNMENT: Anchor.ASSIGNMENT,
    N.PRELIMINARY_PLAN: Anchor.PLAN_PROPOSED,
    N.HANDLING_START: Anchor.HANDLING_STARTED,
    N.RESOLUTION: Anchor.RESOLVED,
    N.RESULT_FEEDBACK: Anchor.RESOLVED,
}


class CaseState(BaseModel):
    """Everything the complaint knows; serializable so continue-as-new carries it whole."""

    policy: Policy
    state: State = State.RECEIVED
    state_before_wait: State | None = None
    tier: Tier
    complaint_type: ComplaintType
    category: Category
    tier_confirmed: bool = False
    departments: list[Department] = Field(default_factory=list)
    assignees: list[str] = Field(default_factory=list)
    holder: Actor | None = None
    holder_role: Role = Role.SPECIALIST
    obligations: dict[str, Obligation] = Field(default_factory=dict)
    past: list[Obligation] = Field(default_factory=list)
    anchors: dict[Anchor, datetime] = Field(default_factory=dict)
    plan: Plan | None = None
    investigation: list[DepartmentFinding] = Field(default_factory=list)
    investigation_open: bool = False
    investigation_round: int = 0
    resolution: Resolution | None = None
    ratings: list[Rating] = Field(default_factory=list)
    reopen_count: int = 0
    breach_count: int = 0
    last_breach_at: datetime | None = None
    breached: list[str] = Field(default_factory=list)
    extra_reports: int = 0
    attachments: list[Attachment] = Field(default_factory=list)
    merged_into: str | None = None
    cancel_reason: str | None = None
    tracking: TrackingSnapshot | None = None
    closed_at: datetime | None = None
    last_progress: str | None = None
    timeline: list[TimelineEvent] = Field(default_factory=list)
    seq: int = 0  # timeline event counter: deterministic event ids

    @field_validator("policy")
    @classmethod
    def one_copy_per_policy(cls, policy: Policy) -> Policy:  # memory: complaints share equal policies
        return shared(policy)


class ComplaintOptions(BaseModel):
    """The workflow's optional second argument."""

    policy: Policy | None = None  # a policy document instead of the preset named in the input (files, demos)
    time_shift: timedelta = timedelta(0)  # simulations: run as if the complaint had begun at another moment
    history_limit: int | None = None  # continue as new past this many events (tests); else the server's hint
    state: CaseState | None = None  # carried over by continue-as-new
    # Calendars resolved at intake (library days + admins' edits, explicit dates for the years around the
    # complaint): their days replace the policy's, so replay never depends on the worker's library version.
    calendars: dict[str, CalendarSpec] | None = None

    @field_validator("policy")
    @classmethod
    def one_copy_per_policy(cls, policy: Policy | None) -> Policy | None:
        return shared(policy) if policy is not None else None

    @field_validator("calendars")
    @classmethod
    def one_copy_per_calendar(
        cls, calendars: dict[str, CalendarSpec] | None
    ) -> dict[str, CalendarSpec] | None:
        return {name: shared(spec) for name, spec in calendars.items()} if calendars is not None else None


def new_case(input: ComplaintInput, policy: Policy) -> CaseState:
    """A complaint's state at intake: tier and type as proposed (confirmed when a person proposed them)."""
    return CaseState(
        policy=policy,
        tier=input.tier,
        complaint_type=input.complaint_type,
        category=input.category,
        tier_confirmed=not input.classified_by.startswith("classifier"),
        departments=list(input.departments),
        attachments=list(input.attachments),
    )


def policy_for(name: str, given: Policy | None = None) -> tuple[Policy, str | None]:
    """The policy a complaint runs on: a given document, else the preset of that name. An unknown name must
    not lose the complaint: it runs on the default, and the name comes back to be noted."""
    if given is not None:
        return given, None
    if name in PRESETS:
        return preset(name), None
    return preset("standard"), name


def complaint_policy(input: ComplaintInput, options: ComplaintOptions) -> tuple[Policy, str | None]:
    """The policy one complaint runs on: its preset (or given document), its calendars chosen by region and
    business line, their days as intake resolved them (none: old starts). One home for the workflow's
    intake and intake's answer, so the customer is promised what the clocks hold staff to."""
    policy, unknown = policy_for(input.policy, options.policy)
    policy = policy.for_complaint(input.customer.region, input.business_line)
    if options.calendars:
        policy = policy.with_calendars(options.calendars)
    return policy, unknown
