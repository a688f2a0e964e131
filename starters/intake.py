"""The one intake service every channel calls: validate → classify → build ComplaintInput → start.

Exactly once: the workflow id is derived from the dedupe key (customer contact + order + category), so two
simultaneous reports of the same issue land in one workflow — the first starts it, the others join it
through the `add_report` Update and get the existing complaint number (B §1.1). Without an order number
there is no dedupe key and each report is its own complaint.

Fast path: a complaint with no open complaint of its issue is started with a plain start (id conflict:
fail). The start returns once Temporal has recorded it (durable), without waiting for a worker; the answer
— promised times, next due — is computed by the very domain functions the workflow's intake runs
(`opened_at_intake`), so the customer is told what the clocks hold staff to. Only when the id is taken
(an open complaint of the same issue, or this very complaint retried) does intake fall back to
update-with-start (`USE_EXISTING`) and wait for the workflow's answer. The Update id is
`intake-<prepared number>`: a retried submission of the same prepared complaint (Idempotency-Key, webhook
redelivery) is deduplicated by Temporal itself, and the workflow recognises the report that started it
(Update id == `intake-<its own complaint_id>`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from core.settings import Settings
from core.temporal import dedupe_workflow_id, workflow_id_for
from domain import search_attributes as sa
from domain.actions import QUERY_STATE, UPDATE_ADD_REPORT, ActionResult, AddReport
from domain.calendar import CalendarSpec
from domain.case import CaseState, ComplaintOptions
from domain.case_view import view_of
from domain.classify import classify
from domain.models import (
    CATEGORIES_NEEDING_ORDER,
    Attachment,
    Category,
    Channel,
    ComplaintInput,
    ComplaintType,
    Customer,
    Department,
    LongText,
    ObligationName,
    Tier,
)
from domain.obligation_book import opened_at_intake
from domain.policy import PRESETS, preset
from domain.view import ComplaintView
from ledger import idempotency as idem
from ledger import intake as intake_records
from starters.attachments import (
    ALLOWED_TYPES,
    ALLOWED_TYPES_TEXT,
    MAX_FILE_BYTES,
    Upload,
    normalize_type,
    store_uploads,
)
from starters.calendars import shared_book
from starters.errors import (
    FieldProblem,
    IntakeError,
    IntakeInvalid,
    IntakeRefused,
    IntakeUnavailable,
    invalid_from_validation,
)

T = TypeVar("T")
log = structlog.get_logger()

if TYPE_CHECKING:
    from starters.confirmation import EarlyConfirmation

WORKFLOW_TYPE = "ComplaintWorkflow"  # by name: the web app does not import workflow code
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")  # complaint numbers carry the business day, not the UTC one
_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O/1/I: read out on the phone


# NUL and other control characters (tab and newlines excepted) and lone surrogates cannot be stored in
# PostgreSQL text or encoded as UTF-8: refused at the door, naming the field, instead of failing later.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def refuse_unstorable(value: object) -> object:
    if isinstance(value, str):
        m = _UNSTORABLE.search(value)
        if m:
            raise ValueError(f"contains the control character U+{ord(m.group()):04X}")
    return value


class StorableText(BaseModel):
    """Mixin: every string field of the model passes `refuse_unstorable`."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, v: object) -> object:
        return refuse_unstorable(v)


class IntakeCustomer(Customer, StorableText):
    """The customer as intake accepts it: the shared model plus the text check."""


class AttachmentRef(StorableText):
    """Evidence the intake system already hosts, referenced by URL."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = Field(
        description="http(s) URL where the file can be fetched",
        examples=["https://shop.example/evidence/123.jpg"],
    )
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    content_type: str = Field(description=f"one of: {ALLOWED_TYPES_TEXT}", examples=["image/jpeg"])
    size: int = Field(ge=1, le=MAX_FILE_BYTES, description=f"bytes, at most {MAX_FILE_BYTES}")

    @field_validator("url")
    @classmethod
    def _http_only(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v, re.IGNORECASE):
            raise ValueError("must be an http:// or https:// URL")
        return v

    @field_validator("content_type")
    @classmethod
    def _allowed_type(cls, v: str) -> str:
        t = normalize_type(v)
        if t not in ALLOWED_TYPES:
            raise ValueError(f"type {t or 'empty'!r} not accepted; accepted: {ALLOWED_TYPES_TEXT}")
        return t

    def to_attachment(self) -> Attachment:
        return Attachment(name=self.name, content_type=self.content_type, size=self.size, url=self.url)


OptionalShort = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None


class IntakeRequest(StorableText):
    """A complaint as any channel reports it. Type, tier and departments are proposed by the classifier."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "app",
                    "customer": {"name": "张三", "phone": "+86 138 0000 0000", "locale": "zh-CN"},
                    "order_number": "SF1234567890",
                    "description": "生鲜水果到货时已经腐烂变质",
                }
            ]
        },
    )

    channel: Channel = Field(default=Channel.API, description="where the customer reported it")
    customer: IntakeCustomer
    description: LongText = Field(description="the customer's own words, 1–5000 characters")
    subject: OptionalShort = None
    order_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = Field(
        default=None,
        description="order or waybill number; required for lost, damaged, delayed, spoiled, misdelivered",
    )
    product: OptionalShort = None
    category: Category | None = Field(default=None, description="omit to let the classifier propose one")
    complaint_type: ComplaintType | None = Field(
        default=None, description="omit to let the classifier propose one"
    )
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=10)
    policy: str = Field(default="standard", description=f"SLA policy preset: {', '.join(PRESETS)}")
    business_line: OptionalShort = Field(
        default=None, description="e.g. warehouse: the policy may count deadlines on that line's calendar"
    )

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, v: str) -> str:
        if v not in PRESETS:
            raise ValueError(f"unknown policy; presets: {', '.join(PRESETS)}")
        return v

    @field_validator("order_number", "subject", "product", "business_line", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v


class StaffOverride(BaseModel):
    """What a person decided at the hotline or counter instead of the classifier."""

    actor_id: str
    tier: Tier | None = None
    complaint_type: ComplaintType | None = None
    departments: list[Department] | None = None


class IntakeResult(BaseModel):
    complaint_id: str = Field(description="the complaint number to give the customer")
    status_url: str | None = Field(description="the customer's status page (unguessable link)")
    joined: bool = Field(description="true when this report joined an open complaint of the same issue")
    tier: Tier
    complaint_type: ComplaintType
    category: Category
    departments: list[Department]
    state: str
    received_at: datetime
    first_response_by: datetime | None = None
    resolution_by: datetime | None = None
    next_due: ObligationName | None = None
    next_due_at: datetime | None = None
    workflow_id: str


@dataclass(frozen=True)
class IdempotencyRef:
    scope: str  # 'key:<api key id>' or 'webhook:<source>'
    key: str
    request_hash: str


@dataclass(frozen=True)
class Taken:
    result: IntakeResult | None
    replay: tuple[int, dict] | None = None  # an earlier identical request's stored (status, body)


# ---------------------------------------------------------------------------------------------- helpers


def new_complaint_number(now: datetime) -> str:
    day = now.astimezone(BUSINESS_TZ).strftime("%Y%m%d")
    return f"C-{day}-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(6))


def new_status_token() -> str:
    return secrets.token_urlsafe(24)


def normalize_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    for prefix in ("0086", "86"):
        # +86 138…, 0086 138…, 138… are the same mainland mobile
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def normalize_contact(customer: Customer) -> str:
    if customer.phone:
        return "tel:" + normalize_phone(customer.phone)
    return "mail:" + (customer.email or "").strip().lower()


def normalize_order(order_number: str) -> str:
    return re.sub(r"[\s\-_/]", "", order_number).upper()


def dedupe_key_for(customer: Customer, order_number: str | None, category: Category) -> str | None:
    """Same customer + order + issue → same key; no order number → no key (each report stands alone).

    Hashed: the key travels in workflow inputs and ids, the contact must not (A §4.2)."""
    if not order_number or not normalize_order(order_number):
        return None
    raw = f"{normalize_contact(customer)}|{normalize_order(order_number)}|{category.value}"
    return "v1:" + hashlib.sha256(raw.encode()).hexdigest()


def opened_view(ci: ComplaintInput, options: ComplaintOptions, workflow_id: str) -> ComplaintView:
    """The complaint as its `state` query shows it right after the workflow's intake: the same domain
    functions (`opened_at_intake`: policy, case, intake clocks), so the 201's promised times and next due are
    the workflow's own (received_at in whole seconds: `_in_whole_seconds`)."""
    return view_of(opened_case(ci, options), ci, workflow_id)


def opened_case(ci: ComplaintInput, options: ComplaintOptions) -> CaseState:
    return opened_at_intake(ci, options, ci.received_at.astimezone(UTC))


def _due(view: ComplaintView, name: ObligationName) -> datetime | None:
    dues = [o.due_at for o in view.obligations if o.name == name]
    return min(dues) if dues else None


# ---------------------------------------------------------------------------------------------- service


@dataclass
class IntakeService:
    client: Client
    settings: Settings
    pool: asyncpg.Pool | None = None  # receipts are recorded when given
    update_timeout: float = 30.0  # seconds to wait for the worker to take the report
    confirm: EarlyConfirmation | None = None  # sends a new complaint's confirmation at once (web process)

    # -- prepare: pure apart from the clock and randomness
    def prepare(
        self,
        req: IntakeRequest,
        *,
        received_at: datetime | None = None,
        override: StaffOverride | None = None,
        attachments: list[Attachment] | None = None,
        complaint_id: str | None = None,
        require_order: bool = True,
    ) -> ComplaintInput:
        """`require_order=False` files a complaint that needs an order number without one (e-mail intake
        asks the customer for it in its reply instead of refusing the mail)."""
        received_at = received_at or datetime.now(UTC)
        text = "\n".join(p for p in (req.subject, req.product, req.description) if p)
        proposal = classify(text, category=req.category)
        category = proposal.category
        problems: list[FieldProblem] = []
        if not req.customer.phone and not req.customer.email:
            problems.append(
                FieldProblem(
                    field="customer.phone",
                    reason="a phone number or an e-mail address is required to reach the customer",
                )
            )
        if require_order and category in CATEGORIES_NEEDING_ORDER and not req.order_number:
            how = "chosen" if req.category else "recognised from the description"
            problems.append(
                FieldProblem(
                    field="order_number",
                    reason=f"required for {category.value} complaints (category {how}); give the order or waybill number",
                )
            )
        if problems:
            raise IntakeInvalid("invalid complaint", problems)

        complaint_type = req.complaint_type or proposal.complaint_type
        tier = proposal.tier
        departments = list(proposal.departments)
        classified_by = "classifier"
        if override:
            tier = override.tier or tier
            complaint_type = override.complaint_type or complaint_type
            departments = override.departments if override.departments is not None else departments
            if override.tier or override.complaint_type or override.departments is not None:
                classified_by = f"staff:{override.actor_id}"

        all_attachments = [a.to_attachment() for a in req.attachments] + list(attachments or [])
        try:
            return ComplaintInput(
                complaint_id=complaint_id or new_complaint_number(received_at),
                channel=req.channel,
                customer=Customer.model_validate(req.customer.model_dump()),  # the shared model, exactly
                description=req.description,
                subject=req.subject,
                order_number=req.order_number,
                product=req.product,
                category=category,
                complaint_type=complaint_type,
                tier=tier,
                departments=departments,
                attachments=all_attachments,
                received_at=received_at,
                status_token=new_status_token(),
                policy=req.policy,
                dedupe_key=dedupe_key_for(req.customer, req.order_number, category),
                classified_by=classified_by,
                business_line=req.business_line,
            )
        except ValidationError as e:  # e.g. more than 20 attachments in total
            raise invalid_from_validation(e) from e

    # -- start: the only Temporal calls
    async def start(self, ci: ComplaintInput, *, source: str, api_key_id: int | None = None) -> IntakeResult:
        report = _report_of(ci)  # when joining: this report as received, to the microsecond
        ci = _in_whole_seconds(ci)
        options = ComplaintOptions(calendars=await self._calendars(ci))
        workflow_id = dedupe_workflow_id(ci.dedupe_key) if ci.dedupe_key else workflow_id_for(ci.complaint_id)
        # The receipt of a new complaint is written while Temporal records the start (one round trip less
        # on the way to the 201); when the workflow answers instead, its outcome replaces it.
        receipt = asyncio.create_task(
            self._record(ci, ci.complaint_id, workflow_id, False, source=source, api_key_id=api_key_id)
        )
        result: ActionResult | None = None
        try:
            try:
                await self._start_new(ci, options, workflow_id)
                case = opened_case(ci, options)
                if self.confirm is not None:  # the customer need not wait for the worker
                    self.confirm.send(case, ci)
                view: ComplaintView | None = view_of(case, ci, workflow_id)
                joined = False
            except WorkflowAlreadyStartedError:
                # An open complaint of the same issue, or this very complaint retried: the workflow decides.
                result, workflow_id = await self._report_to_existing(ci, options, workflow_id, report)
                joined = result.complaint_id != ci.complaint_id
                # A join: the existing complaint's number, token, tier (perhaps confirmed by a person by now).
                view = await self._state(workflow_id) if joined else opened_view(ci, options, workflow_id)
        except Exception:
            await receipt
            await self._forget_receipt(ci)  # not taken (refused, or not known to be taken): no receipt
            raise
        await receipt
        if result is not None:
            await self._record(
                ci, result.complaint_id, workflow_id, joined, source=source, api_key_id=api_key_id
            )

        if view is not None:
            out = IntakeResult(
                complaint_id=view.complaint_id,
                status_url=self._status_url(view.status_token),
                joined=joined,
                tier=view.tier,
                complaint_type=view.complaint_type,
                category=view.category,
                departments=view.departments,
                state=view.state.value,
                received_at=view.received_at,
                first_response_by=_due(view, ObligationName.FIRST_RESPONSE),
                resolution_by=_due(view, ObligationName.RESOLUTION),
                next_due=view.next_due,
                next_due_at=view.next_due_at,
                workflow_id=workflow_id,
            )
        else:  # joined, but the state query failed: the number and what the Update said
            assert result is not None
            out = IntakeResult(
                complaint_id=result.complaint_id,
                status_url=None,
                joined=joined,
                tier=ci.tier,
                complaint_type=ci.complaint_type,
                category=ci.category,
                departments=ci.departments,
                state=result.state,
                received_at=ci.received_at,
                next_due=result.next_due,
                next_due_at=datetime.fromisoformat(result.next_due_at) if result.next_due_at else None,
                workflow_id=workflow_id,
            )
        log.info(
            "complaint taken",
            complaint_id=out.complaint_id,
            joined=joined,
            tier=out.tier.value,
            channel=ci.channel.value,
            source=source.split(":", 1)[0],
        )
        return out

    def _status_url(self, status_token: str | None) -> str | None:
        if not status_token:
            return None
        return f"{self.settings.public_base_url.rstrip('/')}/status/{status_token}"

    async def _report_to_existing(
        self, ci: ComplaintInput, options: ComplaintOptions, workflow_id: str, report: AddReport
    ) -> tuple[ActionResult, str]:
        try:
            return await self._update_with_start(ci, options, workflow_id, report)
        except WorkflowUpdateFailedError as e:
            if not ci.dedupe_key:
                raise IntakeRefused("the complaint was refused", [("report", _cause(e))]) from e
            # The open complaint of this issue would not take the report (it is closing): file it on its own.
            log.info(
                "dedupe target refused report; filing separately",
                complaint_id=ci.complaint_id,
                reason=_cause(e),
            )
            try:
                return await self._update_with_start(ci, options, workflow_id_for(ci.complaint_id), report)
            except WorkflowUpdateFailedError as e2:
                raise IntakeRefused("the complaint was refused", [("report", _cause(e2))]) from e2

    async def submit(
        self,
        req: IntakeRequest,
        *,
        source: str,
        override: StaffOverride | None = None,
        api_key_id: int | None = None,
    ) -> IntakeResult:
        return await self.start(self.prepare(req, override=override), source=source, api_key_id=api_key_id)

    async def take(
        self,
        req: IntakeRequest,
        *,
        source: str,
        uploads: Sequence[Upload] = (),
        idempotency: IdempotencyRef | None = None,
        override: StaffOverride | None = None,
        api_key_id: int | None = None,
        require_order: bool = True,
    ) -> Taken:
        """The whole intake with uploads and retries: what the HTTP channels call.

        Nothing half-created: uploads are stored only once the input is valid and removed again if the
        complaint refused the report. A timeout leaves them: the workflow may have started and refers to
        them, and a retry with the same Idempotency-Key (or the same dedupe key) reaches that workflow."""
        ci = self.prepare(req, override=override, require_order=require_order)
        if (uploads or idempotency) and self.pool is None:
            raise IntakeUnavailable(
                "uploads and Idempotency-Key need the database", [("service", "no database")]
            )
        if len(ci.attachments) + len(uploads) > 20:
            raise IntakeInvalid(
                "too many attachments", [("attachments", "at most 20 in total, referenced and uploaded")]
            )
        if self.pool is not None and (uploads or idempotency):
            async with self.pool.acquire() as conn, conn.transaction():
                prior = None
                if idempotency:
                    try:
                        prior = await idem.reserve(
                            conn, idempotency.scope, idempotency.key, idempotency.request_hash
                        )
                    except idem.KeyReused:
                        raise IntakeError(
                            "this Idempotency-Key was already used for a different request",
                            [
                                (
                                    "Idempotency-Key",
                                    "reused with a different body; use a new key for a new complaint",
                                )
                            ],
                            status_code=409,
                        ) from None
                if prior is not None:
                    if prior.status_code is not None and prior.response is not None:
                        return Taken(result=None, replay=(prior.status_code, prior.response))
                    ci = prior.complaint  # the first attempt never finished: start that same complaint
                else:
                    if uploads:
                        stored = await store_uploads(
                            conn, ci.complaint_id, list(uploads), self.settings.public_base_url
                        )
                        ci = ci.model_copy(update={"attachments": ci.attachments + stored})
                    if idempotency:
                        await idem.attach(conn, idempotency.scope, idempotency.key, ci)
        try:
            result = await self.start(ci, source=source, api_key_id=api_key_id)
        except IntakeRefused as e:
            if idempotency:
                await idem.complete(
                    self.pool, idempotency.scope, idempotency.key, e.status_code, e.body().model_dump()
                )
            elif uploads:
                await self._forget_uploads(ci.complaint_id)
            raise
        except IntakeUnavailable:
            # Kept: the workflow may well have started (only its answer was late) and it refers to them.
            raise
        if idempotency:
            await idem.complete(
                self.pool, idempotency.scope, idempotency.key, 201, result.model_dump(mode="json")
            )
        return Taken(result=result, replay=None)

    async def _forget_uploads(self, complaint_id: str) -> None:
        try:
            await intake_records.forget_attachments(self.pool, complaint_id)
        except (asyncpg.PostgresError, OSError) as e:
            log.error(
                "could not remove uploads of a refused complaint", complaint_id=complaint_id, error=str(e)
            )

    async def _calendars(self, ci: ComplaintInput) -> dict[str, CalendarSpec]:
        """issue 13: the days the complaint's calendars carry (library + admins' edits), fixed at intake."""
        pol = preset(ci.policy if ci.policy in PRESETS else "standard")
        pol = pol.for_complaint(ci.customer.region, ci.business_line)
        resolved = await shared_book(self.settings, self.pool).calendars_for(pol, ci.received_at)
        return {name: spec for name, spec in resolved.items() if name in pol.calendars_in_use()}

    def _start_options(self, ci: ComplaintInput, options: ComplaintOptions, workflow_id: str) -> dict:
        return dict(
            # ComplaintWorkflow.run(input, options=None): the SDK decodes arguments to their declared types
            # only when as many payloads arrive as the run method declares, so both are sent.
            args=[ci, options],
            id=workflow_id,
            task_queue=self.settings.task_queue,
            # a closed complaint of the same issue does not block a new one
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            search_attributes=_search_attributes(ci),
            static_summary=f"{ci.complaint_id}: {ci.tier.value} {ci.category.value} {ci.complaint_type.value} via {ci.channel.value}",
        )

    async def _start_new(self, ci: ComplaintInput, options: ComplaintOptions, workflow_id: str) -> None:
        """Start the complaint; returns once Temporal has recorded it. WorkflowAlreadyStartedError: the id
        is taken by a running complaint (the first report is in the input: no Update needed)."""
        await self._answered(
            self.client.start_workflow(
                WORKFLOW_TYPE,
                **self._start_options(ci, options, workflow_id),
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        )

    async def _update_with_start(
        self, ci: ComplaintInput, options: ComplaintOptions, workflow_id: str, report: AddReport
    ) -> tuple[ActionResult, str]:
        op = WithStartWorkflowOperation(
            WORKFLOW_TYPE,
            **self._start_options(ci, options, workflow_id),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        result = await self._answered(
            self.client.execute_update_with_start_workflow(
                UPDATE_ADD_REPORT,
                report,
                start_workflow_operation=op,
                id=f"intake-{ci.complaint_id}",
                result_type=ActionResult,
            )
        )
        return result, workflow_id

    async def _answered(self, call: Awaitable[T]) -> T:
        """A Temporal call within the intake's time, its failures as the retryable refusal intake systems see."""
        try:
            return await asyncio.wait_for(call, timeout=self.update_timeout)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as e:
            raise IntakeUnavailable(
                "the complaint system did not answer in time; retry with the same Idempotency-Key",
                [("service", "timeout")],
            ) from e
        except RPCError as e:
            raise IntakeUnavailable(
                "the complaint system is unavailable; retry with the same Idempotency-Key",
                [("service", e.message)],
            ) from e

    async def _state(self, workflow_id: str) -> ComplaintView | None:
        try:
            handle = self.client.get_workflow_handle(workflow_id)
            return await asyncio.wait_for(
                handle.query(QUERY_STATE, result_type=ComplaintView), self.update_timeout
            )
        except Exception as e:  # the answer without promised times is still an answer
            log.warning("state query failed after intake", workflow_id=workflow_id, error=str(e))
            return None

    async def _forget_receipt(self, ci: ComplaintInput) -> None:
        if self.pool is None:
            return
        try:
            await intake_records.forget_receipt(self.pool, ci.complaint_id)
        except (asyncpg.PostgresError, OSError) as e:
            log.error(
                "receipt of a complaint not taken not removed", complaint_id=ci.complaint_id, error=str(e)
            )

    async def _record(
        self,
        ci: ComplaintInput,
        complaint_id: str,
        workflow_id: str,
        joined: bool,
        *,
        source: str,
        api_key_id: int | None,
    ) -> None:
        if self.pool is None:
            return
        try:
            await intake_records.record_receipt(
                self.pool,
                complaint_id=complaint_id,
                submitted_id=ci.complaint_id,
                workflow_id=workflow_id,
                joined=joined,
                channel=ci.channel.value,
                source=source,
                api_key_id=api_key_id,
                status_token=None if joined else ci.status_token,
            )
        except (asyncpg.PostgresError, OSError) as e:
            # The complaint exists and the customer has their number; a missing receipt only hides it from
            # GET /api/v1/complaints/{number} for this intake system.
            log.error("intake receipt not recorded", complaint_id=complaint_id, error=str(e))


def _in_whole_seconds(ci: ComplaintInput) -> ComplaintInput:
    """The workflow records moments in whole seconds and starts its clocks at min(received_at, its clock
    rounded down): with received_at in whole seconds that is received_at itself, so `opened_view` answers
    with the workflow's own deadlines (unless the worker's clock runs behind this process's)."""
    return ci.model_copy(update={"received_at": ci.received_at.replace(microsecond=0)})


def _report_of(ci: ComplaintInput) -> AddReport:
    # The received moment to the microsecond: the workflow tells a report that joins it from its own first
    # report by the Update id, and otherwise by text and received moment (workflows/complaint_steps.py).
    return AddReport(
        channel=ci.channel,
        description=ci.description,
        received_at=ci.received_at.isoformat(),
        attachments=ci.attachments,
    )


def _cause(e: WorkflowUpdateFailedError) -> str:
    cause = e.cause
    return getattr(cause, "message", None) or str(cause or e)


def _search_attributes(ci: ComplaintInput) -> TypedSearchAttributes:
    # No customer data here (A §4.2): engineers search by these in the Temporal Web UI.
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.COMPLAINT_ID, ci.complaint_id),
            SearchAttributePair(sa.TIER, ci.tier.value),
            SearchAttributePair(sa.COMPLAINT_TYPE, ci.complaint_type.value),
            SearchAttributePair(sa.CATEGORY, ci.category.value),
            SearchAttributePair(sa.CHANNEL, ci.channel.value),
            SearchAttributePair(sa.POLICY, ci.policy),
        ]
    )


def parse_request(data: object, *, prefix: str = "") -> IntakeRequest:
    """Validate a JSON-like dict into an IntakeRequest, or raise IntakeInvalid naming each field."""
    try:
        return IntakeRequest.model_validate(data)
    except ValidationError as e:
        raise invalid_from_validation(e, prefix=prefix) from e
