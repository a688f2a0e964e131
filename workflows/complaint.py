"""ComplaintWorkflow: one per complaint, every rule of its SLA policy as an obligation clock.

Shape (after temporalio/samples-python `safe_message_handlers` and `updatable_timer`):
- All state lives in one pydantic `CaseState`, handed to the next run on continue-as-new.
- ONE movable timer: the main loop sleeps on `wait_condition(lambda: self._dirty, timeout=…)` until the
  earliest warning or due moment of all running obligations; an Update that moves that moment sets
  `_dirty` and the loop re-arms. Never one timer per obligation.
- Staff actions are Updates with validators: a wrong role, state or input is refused with a sentence a
  person can act on before anything enters history. Handlers change state synchronously under a lock and
  return `ActionResult` at once; I/O happens beside them: notifications run as their own activities (a
  failed notification is recorded, never fails the complaint), the ledger gets one write per step with
  the view and the step's new timeline events, in order.
- Joint investigations run one `DepartmentInvestigationWorkflow` child per department (abandoned on
  parent close so continue-as-new keeps them); they talk to the complaint by signals.
- Engineers find complaints by typed search attributes (never customer data) and read where one stands in
  its current details.

Timeline event kinds: domain/events.py (the ledger keeps them all; the state keeps the newest
`TIMELINE_CAP`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    # pydantic's EmailStr validates with these; loaded here so the sandbox does not re-import them per run
    import email_validator  # noqa: F401
    import idna  # noqa: F401

    from desk import workflow_metrics  # replay-safe business metrics (workflow.metric_meter)
    from domain import action_table, case_view, clocks
    from domain.action_table import CUSTOMER, Situation
    from domain.actions import (
        QUERY_STATE,
        UPDATE_ACKNOWLEDGE,
        UPDATE_ADD_REPORT,
        UPDATE_ANSWER,
        UPDATE_APPROVE,
        UPDATE_ASSIGN,
        UPDATE_CANCEL,
        UPDATE_CLASSIFY,
        UPDATE_DEPARTMENT_REPORT,
        UPDATE_ESCALATE,
        UPDATE_MERGE,
        UPDATE_OVERRIDE_INVESTIGATION,
        UPDATE_PROGRESS,
        UPDATE_PROPOSE_PLAN,
        UPDATE_RATE,
        UPDATE_REASSIGN,
        UPDATE_RESOLVE,
        UPDATE_RESUME,
        UPDATE_START_HANDLING,
        UPDATE_WAIT,
        UPDATE_WORK_DONE,
        Acknowledge,
        ActionResult,
        AddReport,
        AnswerDirectly,
        Approve,
        Assign,
        Cancel,
        Classify,
        DepartmentReport,
        Escalate,
        MergeInto,
        OverrideInvestigation,
        PostProgress,
        ProposePlan,
        Rate,
        Reassign,
        Resolve,
        Resume,
        StaffAction,
        WaitOnCustomer,
        WorkDone,
    )
    from domain.case import LOGISTICS_DEPARTMENTS, MET_BY, CaseState, ComplaintOptions
    from domain.clocks import Obligation
    from domain.events import EventKind as E
    from domain.messages import (
        ACTIVITY_NOTIFY,
        ACTIVITY_RECORD,
        ACTIVITY_TRACKING,
        LedgerWrite,
        Notification,
        NotificationResult,
        TemplateKey,
        TimelineEvent,
        TrackingRequest,
        TrackingSnapshot,
    )
    from domain.models import (
        SYSTEM_ACTOR,
        TERMINAL_STATES,
        Actor,
        ComplaintInput,
        Department,
        ObligationName,
        ObligationStatus,
        Role,
        State,
        Tier,
    )
    from domain.obligation_book import ObligationBook, progress_starts_handling
    from domain.policy import PRESETS, Anchor, Policy, preset
    from domain.view import ComplaintView, DepartmentFinding, Plan, Rating, Resolution
    from workflows.investigation import (
        SIGNAL_DEPARTMENT_OVERDUE,
        SIGNAL_REPORT,
        SIGNAL_STOP,
        DepartmentFindingSignal,
        DepartmentInvestigationWorkflow,
        DepartmentOverdue,
        InvestigationInput,
        investigation_id,
    )

N, S = ObligationName, ObligationStatus
MIN_TIMER = timedelta(milliseconds=1)  # closer than this to a due moment is "due now"
TIMELINE_CAP = 50  # newest events kept in state and view; the ledger keeps every one
MAX_ATTACHMENTS = 60
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=6
)
LEDGER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
TRACKING_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10), maximum_attempts=3
)


def _role(role: Role) -> str:
    return role.value.replace("_", " ")


@workflow.defn(name="ComplaintWorkflow")
class ComplaintWorkflow:
    # -- set-up -----------------------------------------------------------------------------------------
    @workflow.init
    def __init__(self, input: ComplaintInput, options: ComplaintOptions | None = None) -> None:
        self._input = input
        self._opts = options or ComplaintOptions()
        self._lock = asyncio.Lock()
        self._dirty = False  # the earliest wake-up moved or the complaint ended: re-arm the timer
        self._armed: datetime | None = None
        self._outbox: list[Notification] = []  # notifications of the current step
        self._events: list[TimelineEvent] = []  # events not yet in the ledger
        self._ledger_due = False
        self._draining = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._sa_sent: dict[str, Any] = {}
        self._details = ""
        self._unknown_policy: str | None = None
        if self._opts.state is not None:
            self.s = self._opts.state
        else:
            self.s = self._intake(input)

    @property
    def cid(self) -> str:
        return self._input.complaint_id

    def _clock(self) -> datetime:
        """The complaint's time, to the millisecond (shifted in simulations): what deadlines are compared to."""
        return workflow.now() + self._opts.time_shift

    def _now(self) -> datetime:
        # What gets recorded: whole seconds, the same instants whatever the task's few ms of latency.
        return self._clock().replace(microsecond=0)

    def _policy_for(self, input: ComplaintInput) -> Policy:
        if self._opts.policy is not None:
            return self._opts.policy
        if input.policy in PRESETS:
            return preset(input.policy)
        # Intake validates names; an unknown one must not lose the complaint, so it runs on the default.
        self._unknown_policy = input.policy
        return preset("standard")

    def _intake(self, input: ComplaintInput) -> CaseState:
        now = self._now()
        self.s = CaseState(
            policy=self._policy_for(input),
            tier=input.tier,
            complaint_type=input.complaint_type,
            category=input.category,
            tier_confirmed=not input.classified_by.startswith("classifier"),
            departments=list(input.departments),
            attachments=list(input.attachments),
        )
        # The customer's clock starts when they filed (never in the future of the workflow's own clock).
        received = min(input.received_at, now).astimezone(UTC)
        self._event(
            E.RECEIVED,
            SYSTEM_ACTOR,
            f"{input.tier.value} {input.complaint_type.value} via {input.channel.value}",
            state=State.RECEIVED,
            data={"policy": self.s.policy.name, "tier_confirmed": self.s.tier_confirmed}
            | ({"unknown_policy": self._unknown_policy} if self._unknown_policy else {}),
        )
        self._happen(Anchor.INTAKE, received)
        # B §4: a confirmation with the number, the status link and the promised times, at once.
        self._notify_customer(TemplateKey.CONFIRMATION, "confirmation", case_view.promises(self.s))
        roles = self.s.policy.alert_at_intake.get(self.s.tier, [])
        if roles:
            self._notify_staff(
                TemplateKey.NEW_COMPLAINT,
                "new_complaint",
                roles=roles,
                departments=list(input.departments),
                context={"tier": self.s.tier.value, "category": self.s.category.value},
            )
        return self.s

    # -- the main loop ------------------------------------------------------------------------------------
    @workflow.run
    async def run(self, input: ComplaintInput, options: ComplaintOptions | None = None) -> ComplaintView:
        if self._opts.state is None and input.order_number:
            self._spawn(self._link_tracking(input.order_number, "intake"))
        self._commit()
        while self.s.state not in TERMINAL_STATES and not self._should_continue_as_new():
            wake = clocks.next_wakeup(self.s.obligations)
            self._armed = wake.at if wake else None
            self._dirty = False
            left = (wake.at - self._clock()) if wake else None
            if left is None or left > MIN_TIMER:
                try:
                    await workflow.wait_condition(
                        lambda: self._dirty or self._failure is not None or self._should_continue_as_new(),
                        timeout=left,
                        timeout_summary=f"{wake.name.value} {wake.kind}" if wake else None,
                    )
                except TimeoutError:
                    pass
            if self._failure is not None:
                raise self._failure
            async with self._lock:
                # Anything due within a timer's resolution is due now: the loop must always make progress.
                if self._fire(self._clock() + MIN_TIMER):
                    self._commit()
        # Never leave an Update half-done, a notification unsent or the ledger behind.
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._tasks)
        if self._failure is not None:
            raise self._failure
        if self.s.state not in TERMINAL_STATES:
            workflow.continue_as_new(args=[self._input, self._opts.model_copy(update={"state": self.s})])
        return self._view()

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        if info.is_continue_as_new_suggested():
            return True
        limit = self._opts.history_limit
        return limit is not None and info.get_current_history_length() > limit

    def _fire(self, horizon: datetime) -> bool:
        """Act on every warning and due moment up to `horizon`, each stamped with its own moment (a clock
        breaches at its due time, however late the worker saw it). At most one escalation per step:
        obligations due at the same instant are one lapse, not several."""
        changed = escalated = False
        for _ in range(1000):
            wake = clocks.next_wakeup(self.s.obligations)
            if wake is None or wake.at > horizon:
                break
            changed = True
            ob = self.s.obligations[wake.key]
            workflow_metrics.timer_fired(ob.name, wake.at, now=self._clock())
            if wake.kind == "warn":
                self._warn(ob, wake.at)
            elif ob.name == N.RATING:
                self._close_without_rating(ob, wake.at)
            elif ob.periodic:
                # On time, the next period starts at this one's end (a steady cadence); after an outage it
                # starts now rather than firing a burst of catch-up reports.
                late = self._clock() - wake.at > ob.window / 2
                self._produce_periodic(ob, self._now() if late else wake.at)
            else:
                escalated = self._breach(ob, wake.at, escalate=not escalated) or escalated
            if self.s.state in TERMINAL_STATES:
                break
        return changed

    # -- what the clocks do when their moment comes ---------------------------------------------------------
    def _warn(self, ob: Obligation, now: datetime) -> None:
        ob = self.book.warn(ob, now)
        workflow_metrics.warning(ob.name, self.s.tier)
        self._event(
            E.SLA_WARNING,
            SYSTEM_ACTOR,
            f"{ob.name.value} due {ob.due_at.isoformat()}",
            obligation=ob,
            data={"obligation_status": S.WARNED.value, "holder_role": self.s.holder_role.value},
        )
        self._notify_staff(
            TemplateKey.WARNING,
            f"warn:{ob.key}:{ob.occurrence}",
            roles=[self.s.holder_role],
            staff_ids=[self.s.holder.id] if self.s.holder else [],
            context={"obligation": ob.name.value, "due_at": ob.due_at.isoformat()},
        )

    def _breach(self, ob: Obligation, now: datetime, *, escalate: bool) -> bool:
        b = self.book.breach(ob, now, escalate=escalate)
        workflow_metrics.breach(ob.name, self.s.tier)
        breached, before = b.obligation, b.from_role
        self._event(
            E.SLA_BREACH,
            SYSTEM_ACTOR,
            f"{ob.name.value} was due {ob.due_at.isoformat()}",
            obligation=breached,
            data={
                "obligation_status": S.BREACHED.value,
                "from_role": before.value,
                "to_role": self.s.holder_role.value,
            },
        )
        key = f"{ob.key}:{ob.occurrence}"
        ctx = {
            "obligation": ob.name.value,
            "due_at": ob.due_at.isoformat(),
            "escalated_to": self.s.holder_role.value,
        }
        self._notify_staff(
            TemplateKey.BREACH,
            f"breach:{key}",
            roles=[before],
            staff_ids=[self.s.holder.id] if self.s.holder else [],
            context=ctx,
        )
        if b.escalated:
            self._event(
                E.ESCALATED,
                SYSTEM_ACTOR,
                f"{_role(before)} → {_role(self.s.holder_role)} after the {ob.name.value} breach",
                data={"from_role": before.value, "to_role": self.s.holder_role.value, "reason": "breach"},
            )
            self._notify_staff(
                TemplateKey.ESCALATION, f"escalation:{key}", roles=[self.s.holder_role], context=ctx
            )
        return b.escalated

    def _produce_periodic(self, ob: Obligation, now: datetime) -> None:
        """A report is due: the system writes it from the complaint's state (the rule is kept either way)."""
        self.book.rearm(ob, now, SYSTEM_ACTOR)
        ctx = case_view.progress_context(self.s)
        if ob.name == N.CUSTOMER_UPDATE:
            self._notify_customer(
                TemplateKey.CUSTOMER_UPDATE, f"customer_update:{ob.occurrence}:r{self.s.reopen_count}", ctx
            )
        else:
            self._notify_staff(
                TemplateKey.PROGRESS_REPORT,
                f"progress_report:{ob.occurrence}:r{self.s.reopen_count}",
                roles=[Role.SUPERVISOR],
                context=ctx,
            )
        self._event(
            E(ob.name.value), SYSTEM_ACTOR, "automatic", obligation=ob, data={"obligation_status": S.MET.value}
        )

    def _close_without_rating(self, ob: Obligation, now: datetime) -> None:
        self.book.waive_key(ob.key, now)
        self._close(now, "no rating within the survey window", rated=False)

    # -- clocks and events, the generic part ------------------------------------------------------------------
    @property
    def book(self) -> ObligationBook:
        return ObligationBook(self.s)

    def _happen(self, anchor: Anchor, at: datetime, by: Actor | None = None) -> None:
        """An event of the complaint's life (the book meets, stops and starts its clocks); each obligation
        it met goes to the ledger."""
        for met in self.book.happen(anchor, at, by):
            self._event(
                E.OBLIGATION_MET,
                by or SYSTEM_ACTOR,
                f"{met.name.value} {met.status.value}",
                obligation=met,
                data={"obligation_status": met.status.value},
                log_only=True,
            )

    def _set_state(self, state: State) -> None:
        self.s.state = state

    def _event(
        self,
        kind: E,
        actor: Actor,
        text: str = "",
        *,
        obligation: Obligation | None = None,
        state: State | None = None,
        data: dict[str, Any] | None = None,
        log_only: bool = False,
    ) -> None:
        """One timeline entry, with a deterministic id so a retried ledger write never duplicates it.
        `log_only` entries go to the ledger but not into the capped in-state timeline."""
        self.s.seq += 1
        payload = dict(data or {})
        if state is not None:
            self._set_state(state)
            payload["state"] = state.value
        if obligation is not None:
            payload.setdefault("occurrence", obligation.occurrence)
            if obligation.department:
                payload.setdefault("department", obligation.department.value)
        ev = TimelineEvent(
            event_id=f"{self.cid}-{self.s.seq:05d}",
            complaint_id=self.cid,
            at=self._now(),
            kind=kind,
            actor=actor,
            text=text[:500],
            obligation=obligation.name if obligation else None,
            due_at=obligation.due_at if obligation else None,
            data=payload,
        )
        self._events.append(ev)
        if not log_only:
            self.s.timeline = [*self.s.timeline, ev][-TIMELINE_CAP:]
        self._ledger_due = True

    # -- notifications ----------------------------------------------------------------------------------------
    def _notify_customer(self, template: TemplateKey, key: str, context: dict[str, Any] | None = None) -> None:
        self._outbox.append(case_view.to_customer(self.s, self._input, template, key, context))

    def _notify_staff(self, template: TemplateKey, key: str, **to: Any) -> None:
        self._outbox.append(case_view.to_staff(self.s, self.cid, template, key, **to))

    def _action_key(self, what: str) -> str:
        """Idempotency key part for a notification caused by an Update: its id is unique and replay-stable."""
        info = workflow.current_update_info()
        return f"{what}:{info.id}" if info else f"{what}:{self.s.seq}"

    # -- committing a step: notifications out, ledger, search attributes, details, timer ------------------------
    def _commit(self) -> None:
        outbox, self._outbox = self._outbox, []
        for note in outbox:
            self._spawn(self._send(note))
        if self._ledger_due and not self._draining:
            self._draining = True
            self._spawn(self._drain())
        self._publish()
        wake = clocks.next_wakeup(self.s.obligations)
        if (wake.at if wake else None) != self._armed or self.s.state in TERMINAL_STATES:
            self._dirty = True

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self._failure is None:
            self._failure = task.exception()  # a bug: fail the workflow task so it is retried after a fix

    async def _send(self, note: Notification) -> None:
        try:
            await workflow.execute_activity(
                ACTIVITY_NOTIFY,
                note,
                result_type=NotificationResult,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=15),
                retry_policy=NOTIFY_RETRY,
                summary=f"notify {note.audience.value}: {note.template.value}",
            )
        except ActivityError as e:
            self._event(
                E.NOTIFICATION_FAILED,
                SYSTEM_ACTOR,
                f"{note.template.value} to {note.audience.value} not delivered",
                data={
                    "template": note.template.value,
                    "idempotency_key": note.idempotency_key,
                    "error": str(e.cause or e)[:300],
                },
            )
            self._commit()

    async def _drain(self) -> None:
        """Ledger writes, in order, one per batch of steps: the view plus the events since the last write."""
        try:
            while self._ledger_due:
                self._ledger_due = False
                events, self._events = self._events, []
                batch = LedgerWrite(complaint=self._view().model_dump(mode="json"), events=events)
                try:
                    # A local activity: one marker event instead of three per write. A local activity holds
                    # the workflow task while it runs, so attempts are short and any backoff beyond 2 s
                    # waits on a timer instead: a database outage must not hold back the clocks' timers.
                    await workflow.execute_local_activity(
                        ACTIVITY_RECORD,
                        batch,
                        result_type=int,
                        start_to_close_timeout=timedelta(seconds=10),
                        schedule_to_close_timeout=timedelta(hours=1),
                        retry_policy=LEDGER_RETRY,
                        local_retry_threshold=timedelta(seconds=2),
                        summary=f"ledger: {len(events)} events",
                    )
                except ActivityError as e:
                    # The next write carries the view and its newest events again, healing most of the gap.
                    workflow.logger.error(
                        "ledger write failed", extra={"complaint_id": self.cid, "error": str(e.cause or e)}
                    )
        finally:
            self._draining = False

    async def _link_tracking(self, waybill: str, why: str) -> None:
        """B §1.1 / §2.3: the parcel's trail and courier are linked automatically. An unknown waybill is a
        finding (found=False), not an error; an unreachable carrier is noted and the complaint goes on."""
        try:
            snap = await workflow.execute_activity(
                ACTIVITY_TRACKING,
                TrackingRequest(complaint_id=self.cid, waybill=waybill),
                result_type=TrackingSnapshot,
                start_to_close_timeout=timedelta(seconds=20),
                schedule_to_close_timeout=timedelta(minutes=2),
                retry_policy=TRACKING_RETRY,
                summary=f"tracking ({why})",
            )
        except ActivityError as e:
            self._event(
                E.TRACKING_FAILED,
                SYSTEM_ACTOR,
                "carrier not reachable",
                data={"why": why, "error": str(e.cause or e)[:300]},
            )
        else:
            self.s.tracking = snap
            self._event(
                E.TRACKING_LINKED,
                SYSTEM_ACTOR,
                snap.status or ("found" if snap.found else "waybill unknown to the carrier"),
                data={"why": why, "found": snap.found, "anomalies": list(snap.anomalies)},
            )
        self._commit()

    def _publish(self) -> None:
        """Search attributes (only those that changed) and the current details: where it stands, in words."""
        s = self.s
        nxt = clocks.next_due(s.obligations)
        values = case_view.search_attribute_values(s, self._input, nxt)
        if not self._sa_sent:  # what the starter (or the previous run) already set
            current = workflow.info().typed_search_attributes
            self._sa_sent = {key.name: current.get(key) for key, _ in values}
        updates: list[SearchAttributeUpdate[Any]] = []
        for key, value in values:
            value = None if value == [] else value
            sent = self._sa_sent.get(key.name)
            if (list(sent) if isinstance(sent, list | tuple) else sent) == value:
                continue
            updates.append(key.value_unset() if value is None else key.value_set(value))
            self._sa_sent[key.name] = value
        if updates:
            workflow.upsert_search_attributes(updates)
        details = case_view.details_text(s, self._input, nxt)
        if details != self._details:
            self._details = details
            workflow.set_current_details(details)

    # -- the view -----------------------------------------------------------------------------------------------
    @workflow.query(name=QUERY_STATE)
    def state(self) -> ComplaintView:
        return self._view()

    def _view(self) -> ComplaintView:
        return case_view.view_of(self.s, self._input, workflow.info().workflow_id)

    def _result(self, message: str) -> ActionResult:
        self._commit()
        nxt = clocks.next_due(self.s.obligations)
        return ActionResult(
            complaint_id=self.cid,
            state=self.s.state.value,
            next_due=nxt.name if nxt else None,
            next_due_at=nxt.due_at.isoformat() if nxt else None,
            message=message,
        )

    # -- the action table decides; validators and handlers ask it -------------------------------------------------
    def _check(self, action: str, actor: Actor, arg: Any, *, who: bool = True) -> None:
        """Refuse with the table's code and parameters (the UI words them). Handlers re-check with
        `who=False` after the lock: only what the state decides can have changed since validation."""
        refused = action_table.check(action, actor, Situation.of_case(self.s, self.cid), arg, who=who)
        if refused is not None:
            raise ApplicationError(
                refused.summary(), refused.params, type=refused.code.value, non_retryable=True
            )

    # -- acknowledge ------------------------------------------------------------------------------------------
    @workflow.update(name=UPDATE_ACKNOWLEDGE)
    async def acknowledge(self, a: Acknowledge) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_ACKNOWLEDGE, a.actor, a, who=False)
            now = self._now()
            sit = Situation.of_case(self.s, self.cid)
            anchors = [MET_BY[n] for n in action_table.acknowledges(a.actor, sit)]
            if self.s.holder is None:
                self.s.holder = a.actor
            for anchor in anchors:
                self._happen(anchor, now, a.actor)
            sup = Anchor.SUPERVISOR_ACKNOWLEDGED in anchors
            first = Anchor.ACKNOWLEDGED in anchors or self.s.state == State.RECEIVED
            self._event(
                E.SUPERVISOR_ACKNOWLEDGED if sup and not first else E.ACKNOWLEDGED,
                a.actor,
                a.message or a.note,
                state=State.ACKNOWLEDGED if self.s.state == State.RECEIVED else None,
                data={"supervisor_ack": sup},
            )
            if first:
                self._notify_customer(
                    TemplateKey.ACKNOWLEDGED, self._action_key("ack"), {"message": a.message}
                )
            return self._result(
                "Supervisor acknowledgement recorded." if sup and not first else "Acknowledged."
            )

    @acknowledge.validator
    def _validate_acknowledge(self, a: Acknowledge) -> None:
        self._check(UPDATE_ACKNOWLEDGE, a.actor, a)

    # -- classify ------------------------------------------------------------------------------------------------
    @workflow.update(name=UPDATE_CLASSIFY)
    async def classify(self, a: Classify) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_CLASSIFY, a.actor, a, who=False)
            now = self._now()
            old_tier, old_type = self.s.tier, self.s.complaint_type
            self.s.tier, self.s.complaint_type, self.s.tier_confirmed = a.tier, a.complaint_type, True
            if a.departments:
                self.s.departments = list(dict.fromkeys(a.departments))
            changed = (old_tier, old_type) != (a.tier, a.complaint_type)
            if changed:
                self.book.replan(now)
            self._event(
                E.CLASSIFIED,
                a.actor,
                a.note,
                data={
                    "from_tier": old_tier.value,
                    "tier": a.tier.value,
                    "from_type": old_type.value,
                    "complaint_type": a.complaint_type.value,
                    "replanned": changed,
                },
            )
            if list(Tier).index(a.tier) > list(Tier).index(old_tier):  # raised: alert as at intake
                self._notify_staff(
                    TemplateKey.NEW_COMPLAINT,
                    self._action_key("raised"),
                    roles=self.s.policy.alert_at_intake.get(a.tier, []),
                    context={"tier": a.tier.value, "from_tier": old_tier.value},
                )
            return self._result(
                f"Classified as {a.tier.value} {a.complaint_type.value}; deadlines re-planned."
                if changed
                else "Classification confirmed."
            )

    @classify.validator
    def _validate_classify(self, a: Classify) -> None:
        self._check(UPDATE_CLASSIFY, a.actor, a)

    # -- answer directly (general consultations) -----------------------------------------------------------------
    @workflow.update(name=UPDATE_ANSWER)
    async def answer_directly(self, a: AnswerDirectly) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_ANSWER, a.actor, a, who=False)
            now = self._now()
            self.s.holder = self.s.holder or a.actor
            self._happen(Anchor.ANSWERED, now, a.actor)
            self.book.waive((N.ASSIGNMENT, N.PRELIMINARY_PLAN, N.HANDLING_START), now)
            self.s.resolution = Resolution(
                cause="consultation", solution=a.answer, resolved_by=a.actor, resolved_at=now
            )
            self._event(E.ANSWERED, a.actor, a.answer, state=State.ANSWERED)
            self._notify_customer(TemplateKey.ANSWER, self._action_key("answer"), {"answer": a.answer})
            self._finish_result(now, a.actor)
            return self._result("Answered; the customer has been asked to rate the answer.")

    @answer_directly.validator
    def _validate_answer(self, a: AnswerDirectly) -> None:
        self._check(UPDATE_ANSWER, a.actor, a)

    # -- assign -------------------------------------------------------------------------------------------------
    def _investigation_departments(self, assigned: list[Department]) -> list[Department]:
        """B §1.3: lost goods → warehouse, transport and delivery (and whoever else was named); any assignment
        to several departments works the same way."""
        joint = self.s.policy.joint_investigation.get(self.s.category)
        if joint:
            return list(dict.fromkeys([*joint, *[d for d in assigned if d != Department.CUSTOMER_SERVICE]]))
        return list(dict.fromkeys(assigned)) if len(set(assigned)) > 1 else []

    @workflow.update(name=UPDATE_ASSIGN)
    async def assign(self, a: Assign) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_ASSIGN, a.actor, a, who=False)
            now = self._now()
            first = Anchor.ASSIGNMENT not in self.s.anchors
            # Until the first assignment the departments are the classifier's proposal; from then on they
            # are the ones actually assigned, and later assignments add to them.
            before = [] if first else self.s.departments
            new = [d for d in a.departments if d not in before]
            self.s.departments = list(dict.fromkeys([*before, *a.departments]))
            self.s.assignees = list(dict.fromkeys([*self.s.assignees, *a.assignees]))
            self.s.holder = self.s.holder or a.actor
            self._happen(Anchor.ASSIGNMENT, now, a.actor)
            self.book.waive((N.DIRECT_ANSWER,), now)
            self._event(
                E.ASSIGNED,
                a.actor,
                a.note,
                state=State.ASSIGNED if self.s.state in (State.RECEIVED, State.ACKNOWLEDGED) else None,
                data={
                    "departments": [d.value for d in a.departments],
                    "assignees": list(a.assignees),
                    "first": first,
                },
            )
            self._notify_staff(
                TemplateKey.ASSIGNMENT,
                self._action_key("assignment"),
                roles=[],
                departments=list(a.departments),
                staff_ids=list(a.assignees),
                context={"departments": [d.value for d in a.departments]},
            )
            investigating = {f.department for f in self.s.investigation}
            started = [
                d for d in self._investigation_departments(list(self.s.departments)) if d not in investigating
            ]
            if started:
                await self._start_investigation(started, now, a.actor)
            if self._input.order_number and any(d in LOGISTICS_DEPARTMENTS for d in new):
                await self._link_tracking(self._input.order_number, "assignment")
            return self._result(
                f"Assigned to {', '.join(d.value for d in a.departments)}"
                + (f"; joint investigation: {', '.join(d.value for d in started)}." if started else ".")
            )

    @assign.validator
    def _validate_assign(self, a: Assign) -> None:
        self._check(UPDATE_ASSIGN, a.actor, a)

    async def _start_investigation(self, departments: list[Department], now: datetime, by: Actor) -> None:
        """One child per department, each with its own report deadline on the complaint's calendar."""
        self.s.investigation_round += 1
        rnd = self.s.investigation_round
        self.s.investigation_open = True
        for dept in departments:
            ob = self.book.open_department(dept, now)
            self.s.investigation.append(DepartmentFinding(department=dept, due_at=ob.due_at))
            await workflow.start_child_workflow(
                DepartmentInvestigationWorkflow.run,
                InvestigationInput(
                    complaint_id=self.cid,
                    department=dept,
                    round=rnd,
                    assigned_at=now,
                    warn_at=ob.warn_at,
                    due_at=ob.due_at,
                    time_shift=self._opts.time_shift,
                    locale=self._input.customer.locale,
                ),
                id=self._child_id(dept, rnd),
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"{self.cid}: {dept.value} report due {ob.due_at.isoformat()}",
            )
        self._event(
            E.INVESTIGATION_STARTED,
            by,
            ", ".join(d.value for d in departments),
            data={"departments": [d.value for d in departments], "round": rnd},
        )

    def _child_id(self, dept: Department, rnd: int) -> str:
        return investigation_id(workflow.info().workflow_id, dept, rnd)

    async def _signal_child(self, dept: Department, signal: str, arg: Any) -> None:
        rnd = self.s.investigation_round
        try:
            await workflow.get_external_workflow_handle(self._child_id(dept, rnd)).signal(signal, arg)
        except Exception as e:  # the child already ended (e.g. a report after a stop): nothing to tell
            workflow.logger.info(
                "investigation child not signalled", extra={"department": dept.value, "error": str(e)}
            )

    # -- start handling / progress / plan / approve ----------------------------------------------------------------
    @workflow.update(name=UPDATE_START_HANDLING)
    async def start_handling(self, a: StaffAction) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_START_HANDLING, a.actor, a, who=False)
            self._start_handling(a.actor, a.note)
            return self._result("Handling started.")

    @start_handling.validator
    def _validate_start(self, a: StaffAction) -> None:
        self._check(UPDATE_START_HANDLING, a.actor, a)

    def _start_handling(self, actor: Actor, note: str) -> None:
        self._happen(Anchor.HANDLING_STARTED, self._now(), actor)
        self._event(E.HANDLING_STARTED, actor, note, state=State.IN_PROGRESS)

    @workflow.update(name=UPDATE_PROGRESS)
    async def post_progress(self, a: PostProgress) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_PROGRESS, a.actor, a, who=False)
            now = self._now()
            self.s.last_progress = a.message
            if progress_starts_handling(a.actor, self.s):
                self._start_handling(a.actor, "first progress from the department")
            self.book.reset_periods(now, a.actor, to_customer=a.to_customer)
            self._event(E.PROGRESS, a.actor, a.message, data={"to_customer": a.to_customer})
            if a.to_customer:
                self._notify_customer(
                    TemplateKey.CUSTOMER_UPDATE, self._action_key("progress"), {"message": a.message}
                )
            return self._result("Progress posted.")

    @post_progress.validator
    def _validate_progress(self, a: PostProgress) -> None:
        self._check(UPDATE_PROGRESS, a.actor, a)

    @workflow.update(name=UPDATE_PROPOSE_PLAN)
    async def propose_plan(self, a: ProposePlan) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_PROPOSE_PLAN, a.actor, a, who=False)
            now = self._now()
            self.s.plan = Plan(text=a.plan, compensation=a.compensation, proposed_by=a.actor)
            self._happen(Anchor.PLAN_PROPOSED, now, a.actor)
            self._event(E.PLAN_PROPOSED, a.actor, a.plan, data={"compensation": a.compensation})
            # The preliminary plan goes to the customer at once (B §1.2); a compensation only once approved.
            self._notify_customer(TemplateKey.PLAN, self._action_key("plan"), {"plan": a.plan})
            self._notify_staff(
                TemplateKey.APPROVAL_NEEDED,
                self._action_key("approval"),
                roles=[Role.SUPERVISOR],
                context={"plan": a.plan, "compensation": a.compensation},
            )
            return self._result("Plan proposed; a supervisor has been asked to approve it.")

    @propose_plan.validator
    def _validate_plan(self, a: ProposePlan) -> None:
        self._check(UPDATE_PROPOSE_PLAN, a.actor, a)

    @workflow.update(name=UPDATE_APPROVE)
    async def approve(self, a: Approve) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_APPROVE, a.actor, a, who=False)
            assert self.s.plan is not None
            self.s.plan = self.s.plan.model_copy(update={"approved": a.approved, "approved_by": a.actor})
            self._event(E.PLAN_APPROVED if a.approved else E.PLAN_REJECTED, a.actor, a.note)
            if a.approved and self.s.plan.compensation:
                self._notify_customer(
                    TemplateKey.PLAN,
                    self._action_key("plan_approved"),
                    {"plan": self.s.plan.text, "compensation": self.s.plan.compensation},
                )
            return self._result("Plan approved." if a.approved else "Plan rejected.")

    @approve.validator
    def _validate_approve(self, a: Approve) -> None:
        self._check(UPDATE_APPROVE, a.actor, a)

    # -- joint investigation --------------------------------------------------------------------------------------
    def _pending_finding(self, dept: Department) -> DepartmentFinding | None:
        return next((f for f in self.s.investigation if f.department == dept and f.reported_at is None), None)

    @workflow.update(name=UPDATE_DEPARTMENT_REPORT)
    async def department_report(self, a: DepartmentReport) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_DEPARTMENT_REPORT, a.actor, a, who=False)
            now = self._now()
            finding = self.book.pending_finding(a.department)
            assert finding is not None
            finding.findings, finding.responsible, finding.reported_at = a.findings, a.responsible, now
            key = clocks.obligation_key(N.DEPARTMENT_REPORT, a.department)
            self.book.meet_key(key, now, a.actor)
            self._event(
                E.DEPARTMENT_REPORT,
                a.actor,
                a.findings,
                obligation=self.s.obligations.get(key),
                data={
                    "department": a.department.value,
                    "responsible": a.responsible,
                    "obligation_status": self.s.obligations[key].status.value
                    if key in self.s.obligations
                    else None,
                },
            )
            await self._signal_child(
                a.department,
                SIGNAL_REPORT,
                DepartmentFindingSignal(
                    findings=a.findings, responsible=a.responsible, reported_by=a.actor.id, reported_at=now
                ),
            )
            self._maybe_close_investigation(a.actor, "all departments reported")
            return self._result(f"Findings of {a.department.value} recorded.")

    @department_report.validator
    def _validate_department_report(self, a: DepartmentReport) -> None:
        self._check(UPDATE_DEPARTMENT_REPORT, a.actor, a)

    def _maybe_close_investigation(self, by: Actor, why: str) -> None:
        if self.s.investigation_open and all(f.reported_at is not None for f in self.s.investigation):
            self.s.investigation_open = False
            self._event(E.INVESTIGATION_COMPLETE, by, why)
            self._notify_staff(
                TemplateKey.PROGRESS_REPORT,
                f"investigation_complete:{self.s.investigation_round}",
                roles=[self.s.holder_role],
                staff_ids=[self.s.holder.id] if self.s.holder else [],
                context={"findings": [f.model_dump(mode="json") for f in self.s.investigation]},
            )

    @workflow.signal(name=SIGNAL_DEPARTMENT_OVERDUE)
    async def department_overdue(self, o: DepartmentOverdue) -> None:
        """A department missed its report deadline; its child already escalated to the department's head."""
        async with self._lock:
            ob = self.book.department_overdue(o.department, o.round, self._now())
            if ob is None:
                return
            self._event(
                E.SLA_BREACH,
                SYSTEM_ACTOR,
                f"{o.department.value} report was due {ob.due_at.isoformat()}",
                obligation=ob,
                data={"obligation_status": S.BREACHED.value, "to_role": Role.DEPARTMENT_HEAD.value},
            )
            self._commit()

    @workflow.update(name=UPDATE_OVERRIDE_INVESTIGATION)
    async def override_investigation(self, a: OverrideInvestigation) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_OVERRIDE_INVESTIGATION, a.actor, a, who=False)
            await self._stop_investigation(a.reason)
            self._event(E.INVESTIGATION_OVERRIDDEN, a.actor, a.reason)
            return self._result("Investigation closed without the missing reports.")

    @override_investigation.validator
    def _validate_override(self, a: OverrideInvestigation) -> None:
        self._check(UPDATE_OVERRIDE_INVESTIGATION, a.actor, a)

    async def _stop_investigation(self, reason: str) -> None:
        now = self._now()
        for f in self.s.investigation:
            if f.reported_at is None:
                self.book.waive_key(clocks.obligation_key(N.DEPARTMENT_REPORT, f.department), now)
                await self._signal_child(f.department, SIGNAL_STOP, reason)
        self.s.investigation_open = False

    # -- work done, resolve --------------------------------------------------------------------------------------
    @workflow.update(name=UPDATE_WORK_DONE)
    async def report_work_done(self, a: WorkDone) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_WORK_DONE, a.actor, a, who=False)
            now = self._now()
            if Anchor.HANDLING_STARTED not in self.s.anchors or self.s.state == State.ASSIGNED:
                self._happen(Anchor.HANDLING_STARTED, now, a.actor)
            self._happen(Anchor.WORK_DONE, now, a.actor)
            self.s.last_progress = a.summary
            self._event(E.WORK_DONE, a.actor, a.summary, state=State.WORK_DONE)
            self._notify_staff(
                TemplateKey.PROGRESS_REPORT,
                self._action_key("work_done"),
                roles=[self.s.holder_role],
                staff_ids=[self.s.holder.id] if self.s.holder else [],
                context={"summary": a.summary},
            )
            return self._result("Work done; the result is now due to the customer.")

    @report_work_done.validator
    def _validate_work_done(self, a: WorkDone) -> None:
        self._check(UPDATE_WORK_DONE, a.actor, a)

    @workflow.update(name=UPDATE_RESOLVE)
    async def resolve(self, a: Resolve) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_RESOLVE, a.actor, a, who=False)
            now = self._now()
            self.s.resolution = Resolution(
                cause=a.cause,
                solution=a.solution,
                compensation=a.compensation,
                compensation_note=a.compensation_note,
                resolved_by=a.actor,
                resolved_at=now,
            )
            self._happen(Anchor.RESOLVED, now, a.actor)
            self._event(
                E.RESOLVED, a.actor, a.solution, state=State.RESOLVED, data={"compensation": a.compensation}
            )
            # A §3.3 / B §2.4: cause, solution, compensation on the customer's channels.
            self._notify_customer(
                TemplateKey.RESULT,
                self._action_key("result"),
                {
                    "cause": a.cause,
                    "solution": a.solution,
                    "compensation": a.compensation,
                    "note": a.compensation_note,
                },
            )
            self._finish_result(now, a.actor)
            return self._result("Resolved; the customer has been asked to rate the result.")

    @resolve.validator
    def _validate_resolve(self, a: Resolve) -> None:
        self._check(UPDATE_RESOLVE, a.actor, a)

    def _finish_result(self, now: datetime, by: Actor) -> None:
        """After the result (answer or resolution): every other clock stops, the survey window opens."""
        if Anchor.RESOLVED not in self.s.anchors:
            self._happen(Anchor.RESOLVED, now, by)
        self.book.waive(self.book.all_but_rating(), now)
        if self.s.state == State.RESOLVED:
            self._set_state(State.AWAITING_RATING)
        rating = self.s.obligations.get(N.RATING.value)
        self._event(
            E.SURVEY_SENT,
            SYSTEM_ACTOR,
            "",
            obligation=rating,
            state=self.s.state if self.s.state != State.ANSWERED else None,
        )
        self._notify_customer(
            TemplateKey.RATING_REQUEST,
            f"rating_request:r{self.s.reopen_count}",
            {"rating_due_at": rating.due_at.isoformat() if rating else None},
        )

    # -- waiting on the customer -----------------------------------------------------------------------------------
    @workflow.update(name=UPDATE_WAIT)
    async def wait_on_customer(self, a: WaitOnCustomer) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_WAIT, a.actor, a, who=False)
            now = self._now()
            self.s.state_before_wait = self.s.state
            self.book.pause_all(now)
            self._event(E.WAITING_ON_CUSTOMER, a.actor, a.reason, state=State.WAITING_ON_CUSTOMER)
            self._notify_customer(
                TemplateKey.WAITING_ON_CUSTOMER, self._action_key("waiting"), {"reason": a.reason}
            )
            return self._result("Waiting on the customer; the resolution clocks are paused.")

    @wait_on_customer.validator
    def _validate_wait(self, a: WaitOnCustomer) -> None:
        self._check(UPDATE_WAIT, a.actor, a)

    @workflow.update(name=UPDATE_RESUME)
    async def resume(self, a: Resume) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_RESUME, a.actor, a, who=False)
            self.book.resume_all(self._now())
            back = self.s.state_before_wait or State.IN_PROGRESS
            self.s.state_before_wait = None
            self._event(E.RESUMED, a.actor, a.note, state=back)
            return self._result("Resumed; the clocks run again with the time they had left.")

    @resume.validator
    def _validate_resume(self, a: Resume) -> None:
        self._check(UPDATE_RESUME, a.actor, a)

    # -- escalate, reassign ----------------------------------------------------------------------------------------
    @workflow.update(name=UPDATE_ESCALATE)
    async def escalate(self, a: Escalate) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_ESCALATE, a.actor, a, who=False)
            before = self.s.holder_role
            self.s.holder_role = clocks.escalation_target(before)
            self._event(
                E.ESCALATED,
                a.actor,
                a.reason,
                data={"from_role": before.value, "to_role": self.s.holder_role.value, "reason": "manual"},
            )
            self._notify_staff(
                TemplateKey.ESCALATION,
                self._action_key("escalation"),
                roles=[self.s.holder_role],
                context={"reason": a.reason, "from_role": before.value},
            )
            return self._result(f"Escalated to {_role(self.s.holder_role)}.")

    @escalate.validator
    def _validate_escalate(self, a: Escalate) -> None:
        self._check(UPDATE_ESCALATE, a.actor, a)

    @workflow.update(name=UPDATE_REASSIGN)
    async def reassign(self, a: Reassign) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_REASSIGN, a.actor, a, who=False)
            before = self.s.holder
            self.s.holder = Actor(id=a.holder_id, role=a.holder_role)
            self.s.holder_role = a.holder_role
            self._event(
                E.REASSIGNED,
                a.actor,
                a.note,
                data={
                    "from": before.id if before else None,
                    "to": a.holder_id,
                    "to_role": a.holder_role.value,
                },
            )
            self._notify_staff(
                TemplateKey.ASSIGNMENT,
                self._action_key("reassigned"),
                roles=[a.holder_role],
                staff_ids=[a.holder_id],
                context={"reassigned": True},
            )
            return self._result(f"Now held by {a.holder_id} ({_role(a.holder_role)}).")

    @reassign.validator
    def _validate_reassign(self, a: Reassign) -> None:
        self._check(UPDATE_REASSIGN, a.actor, a)

    # -- cancel, merge ------------------------------------------------------------------------------------------------
    @workflow.update(name=UPDATE_CANCEL)
    async def cancel(self, a: Cancel) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_CANCEL, a.actor, a, who=False)
            self.s.cancel_reason = a.reason
            await self._end(State.CANCELLED, a.actor, a.reason)
            self._notify_customer(TemplateKey.CLOSED, "closed", {"reason": a.reason, "cancelled": True})
            return self._result("Cancelled.")

    @cancel.validator
    def _validate_cancel(self, a: Cancel) -> None:
        self._check(UPDATE_CANCEL, a.actor, a)

    @workflow.update(name=UPDATE_MERGE)
    async def merge_into(self, a: MergeInto) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_MERGE, a.actor, a, who=False)
            self.s.merged_into = a.target_complaint_id
            await self._end(State.MERGED, a.actor, f"merged into {a.target_complaint_id}")
            self._notify_customer(
                TemplateKey.DUPLICATE_JOINED, "merged", {"target_complaint_id": a.target_complaint_id}
            )
            return self._result(f"Merged into {a.target_complaint_id}.")

    @merge_into.validator
    def _validate_merge(self, a: MergeInto) -> None:
        self._check(UPDATE_MERGE, a.actor, a)

    async def _end(self, state: State, by: Actor, why: str) -> None:
        now = self._now()
        self.book.waive(None, now)
        if self.s.investigation_open:
            await self._stop_investigation(why)
        self.s.closed_at = now
        self._event(E(state.value), by, why, state=state)

    def _close(self, now: datetime, why: str, *, rated: bool) -> None:
        self.book.waive(None, now)
        self.s.closed_at = now
        self._event(E.CLOSED, SYSTEM_ACTOR, why, state=State.CLOSED, data={"rated": rated})
        self._notify_customer(TemplateKey.CLOSED, "closed", {"rated": rated})

    # -- the customer's rating, the reopen loop -----------------------------------------------------------------------
    @workflow.update(name=UPDATE_RATE)
    async def rate(self, r: Rate) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_RATE, CUSTOMER, r, who=False)
            now = self._now()
            customer = Actor(id="customer", role=Role.CUSTOMER)
            self.s.ratings = [
                *self.s.ratings,
                Rating(score=r.score, comment=r.comment, demand=r.demand, at=now),
            ]
            self.book.meet(N.RATING, now, CUSTOMER)
            self._event(E.RATED, customer, r.comment, data={"score": r.score, "demand": r.demand})
            if r.score >= self.s.policy.satisfied_score:
                self._close(now, f"rated {r.score}", rated=True)
                return self._result("Thank you: the complaint is closed.")
            self._reopen(now, r)
            return self._result("Reopened: a senior supervisor takes it over with your demand.")

    @rate.validator
    def _validate_rate(self, r: Rate) -> None:
        self._check(UPDATE_RATE, CUSTOMER, r)

    def _reopen(self, now: datetime, r: Rate) -> None:
        """A §3.3 / B §2.4: below the satisfied score the complaint reopens, the demand recorded, a senior
        supervisor takes it over and handling repeats until the customer is satisfied."""
        s = self.s
        before = self.book.reopen(now)
        self._event(
            E.REOPENED,
            Actor(id="customer", role=Role.CUSTOMER),
            r.demand,
            state=State.IN_PROGRESS,
            data={"score": r.score, "demand": r.demand, "round": s.reopen_count, "from_role": before.value},
        )
        self._notify_customer(TemplateKey.REOPENED, f"reopened:{s.reopen_count}", {"demand": r.demand})
        self._notify_staff(
            TemplateKey.ESCALATION,
            f"reopened:{s.reopen_count}",
            roles=[Role.SENIOR_SUPERVISOR],
            context={"reason": "customer unsatisfied", "score": r.score, "demand": r.demand},
        )

    # -- the same issue reported again (intake) ---------------------------------------------------------------------
    def _is_original_report(self, r: AddReport) -> bool:
        """Intake always delivers the first report as this Update too (update-with-start)."""
        info = workflow.current_update_info()
        if info is not None and info.id == f"intake-{self.cid}":
            return True
        return (
            r.description == self._input.description and r.received_at == self._input.received_at.isoformat()
        )

    @workflow.update(name=UPDATE_ADD_REPORT)
    async def add_report(self, r: AddReport) -> ActionResult:
        async with self._lock:
            self._check(UPDATE_ADD_REPORT, CUSTOMER, r, who=False)
            if self._is_original_report(r):
                return self._result("Complaint received.")
            self.s.extra_reports += 1
            self.s.attachments = [*self.s.attachments, *r.attachments][:MAX_ATTACHMENTS]
            self._event(
                E.DUPLICATE_REPORT,
                Actor(id="customer", role=Role.CUSTOMER),
                r.description,
                data={
                    "channel": r.channel.value,
                    "received_at": r.received_at,
                    "attachments": len(r.attachments),
                },
            )
            self._notify_customer(
                TemplateKey.DUPLICATE_JOINED,
                f"duplicate:{self.s.extra_reports}",
                {"channel": r.channel.value},
            )
            return self._result(f"Joined complaint {self.cid}: the same issue is already being handled.")

    @add_report.validator
    def _validate_add_report(self, r: AddReport) -> None:
        self._check(UPDATE_ADD_REPORT, CUSTOMER, r)
