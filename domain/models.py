"""The complaint's vocabulary: enums and the records that cross process boundaries.

Pure pydantic, no I/O: imported by workflows (inside the sandbox), activities, the web app and tests.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator


class Tier(StrEnum):
    GENERAL = "general"  # 一般
    IMPORTANT = "important"  # 重要
    URGENT = "urgent"  # 紧急


class ComplaintType(StrEnum):
    CONSULTATION = "consultation"  # 咨询
    COMPLAINT = "complaint"  # 投诉
    SUGGESTION = "suggestion"  # 建议


class Channel(StrEnum):
    WEB = "web"  # web site chat / public form
    HOTLINE = "hotline"
    EMAIL = "email"
    SOCIAL = "social"
    APP = "app"
    ECOMMERCE = "ecommerce"
    COUNTER = "counter"  # branch counter
    API = "api"


class Category(StrEnum):
    """What went wrong (B §1.1, background rulebooks): drives departments and tiers."""

    LOST = "lost"
    DAMAGED = "damaged"
    DELAYED = "delayed"
    SPOILED = "spoiled"
    MISDELIVERED = "misdelivered"
    QUALITY = "quality"
    ATTITUDE = "attitude"
    INVOICE = "invoice"
    POLICY = "policy"
    TECHNICAL = "technical"
    OTHER = "other"


# Categories where an order / waybill number is required at intake.
CATEGORIES_NEEDING_ORDER: frozenset[Category] = frozenset(
    {Category.LOST, Category.DAMAGED, Category.DELAYED, Category.SPOILED, Category.MISDELIVERED}
)


class Role(StrEnum):
    SPECIALIST = "specialist"  # 客服专员 / 售后服务专员
    ENGINEER = "engineer"  # 技术支持工程师
    LOGISTICS = "logistics"  # 物流专员
    SUPERVISOR = "supervisor"  # 主管
    SENIOR_SUPERVISOR = "senior_supervisor"  # 资深主管
    DEPARTMENT_HEAD = "department_head"  # 部门负责人
    ADMIN = "admin"
    CUSTOMER = "customer"
    SYSTEM = "system"


# The escalation ladder (docs/rules.md "Warnings before a breach"): a breach goes one level up.
ESCALATION_LADDER: tuple[Role, ...] = (Role.SPECIALIST, Role.SUPERVISOR, Role.SENIOR_SUPERVISOR)

SUPERVISOR_ROLES: frozenset[Role] = frozenset({Role.SUPERVISOR, Role.SENIOR_SUPERVISOR, Role.ADMIN})
STAFF_ROLES: frozenset[Role] = frozenset(
    {
        Role.SPECIALIST,
        Role.ENGINEER,
        Role.LOGISTICS,
        Role.SUPERVISOR,
        Role.SENIOR_SUPERVISOR,
        Role.DEPARTMENT_HEAD,
        Role.ADMIN,
    }
)


class Department(StrEnum):
    CUSTOMER_SERVICE = "customer_service"
    SALES = "sales"
    RND = "rnd"
    LOGISTICS = "logistics"
    WAREHOUSE = "warehouse"
    TRANSPORT = "transport"
    DELIVERY = "delivery"
    TECHNICAL = "technical"
    FINANCE = "finance"


class State(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"  # general consultation answered directly (terminal after rating window)
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    WORK_DONE = "work_done"
    RESOLVED = "resolved"
    AWAITING_RATING = "awaiting_rating"
    CLOSED = "closed"
    MERGED = "merged"
    CANCELLED = "cancelled"


TERMINAL_STATES: frozenset[State] = frozenset({State.CLOSED, State.MERGED, State.CANCELLED})


class Locale(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 \-]{5,19}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class Actor(BaseModel):
    """Who does something: every staff action and timeline entry carries one."""

    model_config = ConfigDict(frozen=True)

    id: ShortText
    role: Role
    name: str | None = Field(default=None, max_length=200)
    # The departments the person works in: what the action table reads for per-complaint rights. Empty in
    # the histories recorded before it existed.
    departments: tuple[Department, ...] = Field(default=(), max_length=9)


SYSTEM_ACTOR = Actor(id="system", role=Role.SYSTEM, name="system")


class Customer(BaseModel):
    name: ShortText
    phone: Phone | None = None
    email: EmailStr | None = None
    locale: Locale = Locale.ZH_CN
    customer_type: Annotated[str, StringConstraints(max_length=50)] = "individual"  # individual / business / vip
    region: Annotated[str, StringConstraints(max_length=100)] | None = None

    @field_validator("email", mode="before")
    @classmethod
    def _blank_email_is_none(cls, v: object) -> object:
        return None if v == "" else v

    @field_validator("phone", mode="before")
    @classmethod
    def _blank_phone_is_none(cls, v: object) -> object:
        return None if v == "" else v


class Attachment(BaseModel):
    name: ShortText
    content_type: ShortText
    size: int = Field(ge=0)
    url: Annotated[str, StringConstraints(max_length=2000)]  # where the file is stored (ledger / object store)


class ComplaintInput(BaseModel):
    """What intake hands to the workflow: the customer's report, validated."""

    complaint_id: ShortText  # e.g. C-20261123-7F3K2Q, also the workflow id suffix
    channel: Channel
    customer: Customer
    description: LongText
    subject: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    order_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    product: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    category: Category = Category.OTHER
    complaint_type: ComplaintType = ComplaintType.COMPLAINT
    tier: Tier = Tier.GENERAL
    departments: list[Department] = Field(default_factory=list)  # proposed by the classifier
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    received_at: datetime
    status_token: ShortText  # unguessable token for the customer status page
    policy: ShortText = "standard"
    dedupe_key: ShortText | None = None  # customer + order + issue
    classified_by: ShortText = "classifier"  # who proposed tier/type: classifier or a person
    business_line: ShortText | None = None  # e.g. warehouse: the policy may choose its calendar by it


class ObligationName(StrEnum):
    """Each rule of docs/rules.md is a named obligation with a clock."""

    FIRST_RESPONSE = "first_response"
    SUPERVISOR_ACK = "supervisor_ack"
    DIRECT_ANSWER = "direct_answer"
    ASSIGNMENT = "assignment"
    PRELIMINARY_PLAN = "preliminary_plan"
    HANDLING_START = "handling_start"
    PROGRESS_REPORT = "progress_report"  # periodic, to the supervisor
    CUSTOMER_UPDATE = "customer_update"  # periodic, to the customer
    RESULT_FEEDBACK = "result_feedback"
    RESOLUTION = "resolution"
    DEPARTMENT_REPORT = "department_report"  # one per department in a joint investigation
    RATING = "rating"  # the survey window: expiry closes without a rating, it is not a breach


class ObligationStatus(StrEnum):
    OPEN = "open"
    WARNED = "warned"  # open, past its warning point
    PAUSED = "paused"  # waiting on the customer
    MET = "met"
    BREACHED = "breached"  # open past its due time (it can still be met late)
    MET_LATE = "met_late"
    WAIVED = "waived"  # no longer applies (e.g. direct_answer once assigned, cancelled complaint)
