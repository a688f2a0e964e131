"""Inputs of the workflow's Updates: one model per staff or customer action.

Field validation (lengths, ranges) happens here; the workflow's validators add the checks that need the
complaint's state (role, current state). Every action carries the actor.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, ValidationError

from domain.models import (
    Actor,
    Attachment,
    Channel,
    ComplaintType,
    Department,
    LongText,
    ObligationName,
    Role,
    ShortText,
    Tier,
)
from domain.refusals import field_refusal

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Money = Annotated[float, Field(ge=0, le=10_000_000)]

# Workflow Update names, one home so UI, API and tests agree.
UPDATE_ACKNOWLEDGE = "acknowledge"
UPDATE_CLASSIFY = "classify"
UPDATE_ANSWER = "answer_directly"
UPDATE_ASSIGN = "assign"
UPDATE_START_HANDLING = "start_handling"
UPDATE_PROGRESS = "post_progress"
UPDATE_PROPOSE_PLAN = "propose_plan"
UPDATE_APPROVE = "approve"
UPDATE_DEPARTMENT_REPORT = "department_report"
UPDATE_WORK_DONE = "report_work_done"
UPDATE_RESOLVE = "resolve"
UPDATE_WAIT = "wait_on_customer"
UPDATE_RESUME = "resume"
UPDATE_ESCALATE = "escalate"
UPDATE_REASSIGN = "reassign"
UPDATE_CANCEL = "cancel"
UPDATE_MERGE = "merge_into"
UPDATE_RATE = "rate"  # the customer
UPDATE_ADD_REPORT = "add_report"  # the same customer + order + issue reported again (intake)
UPDATE_OVERRIDE_INVESTIGATION = "override_investigation"
UPDATE_REPLY = "reply_to_customer"  # staff's free reply, on the customer's channel
UPDATE_NOTE = "add_note"  # internal, staff only
UPDATE_CUSTOMER_MESSAGE = "customer_message"  # the customer answers (status page, e-mail reply)
QUERY_STATE = "state"


class UpdateInput(BaseModel):
    """An Update's input: a payload that does not validate is refused as a `field` refusal (the data
    converter asks this hook), never with pydantic's text."""

    @classmethod
    def payload_refusal(cls, e: ValidationError) -> tuple[str, str, dict[str, object]]:
        r = field_refusal(e)
        return r.code.value, r.summary(), r.params


class StaffAction(UpdateInput):
    actor: Actor
    note: Note = ""


class Acknowledge(StaffAction):
    """The specialist's first response to the customer (first_response), or a supervisor's ack."""

    message: Note = ""  # sent to the customer when given


class Classify(StaffAction):
    complaint_type: ComplaintType
    tier: Tier
    departments: list[Department] = Field(default_factory=list, max_length=9)


class AnswerDirectly(StaffAction):
    answer: LongText


class Assign(StaffAction):
    departments: list[Department] = Field(min_length=1, max_length=9)
    assignees: list[ShortText] = Field(default_factory=list, max_length=20)  # staff ids


class Reassign(StaffAction):
    holder_id: ShortText
    holder_role: Role


class PostProgress(StaffAction):
    message: LongText
    to_customer: bool = True  # also a customer_update / progress_report occurrence


class ProposePlan(StaffAction):
    plan: LongText
    compensation: Money | None = None


class Approve(StaffAction):
    """Supervisor only: approves the proposed plan (and its compensation)."""

    approved: bool = True


class DepartmentReport(StaffAction):
    department: Department
    findings: LongText
    responsible: bool | None = None  # whether this department caused the problem


class OverrideInvestigation(StaffAction):
    """Supervisor only: stop waiting for the missing department reports."""

    reason: LongText


class WorkDone(StaffAction):
    summary: LongText


class Resolve(StaffAction):
    cause: LongText
    solution: LongText
    compensation: Money | None = None
    compensation_note: Note = ""


class WaitOnCustomer(StaffAction):
    reason: LongText


class Resume(StaffAction):
    pass


class Escalate(StaffAction):
    reason: LongText


class Cancel(StaffAction):
    """Supervisor only, with a reason."""

    reason: LongText


class MergeInto(StaffAction):
    target_complaint_id: ShortText


class Rate(UpdateInput):
    """The customer's rating (1–5). Below 4 reopens with the stated demand."""

    score: int = Field(ge=1, le=5)
    comment: Note = ""
    demand: Note = ""  # what the unhappy customer wants; required below 4


class AddReport(UpdateInput):
    """Intake of the same customer + order + issue while the complaint is open (B §1.1)."""

    channel: Channel
    description: LongText
    received_at: Annotated[str, StringConstraints(max_length=40)]  # ISO time
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)


class ReplyToCustomer(StaffAction):
    """A free reply to the customer, sent on the customer's channels and shown in the conversation."""

    message: LongText


class AddNote(StaffAction):
    """An internal note: staff see it in the conversation, the customer never does."""

    note: LongText


class CustomerMessage(UpdateInput):
    """The customer adds information or files to their complaint (status page, a reply by e-mail)."""

    channel: Channel
    message: LongText
    received_at: Annotated[str, StringConstraints(max_length=40)]  # ISO time
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)


class ActionResult(BaseModel):
    """What every Update returns: where the complaint stands now."""

    complaint_id: str
    state: str
    next_due: ObligationName | None = None
    next_due_at: str | None = None  # ISO
    message: str = ""
