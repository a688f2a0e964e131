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

Timeline event kinds (the ledger keeps them all; the state keeps the newest `TIMELINE_CAP`): received,
acknowledged, supervisor_acknowledged, classified, answered, assigned, tracking_linked, tracking_failed,
investigation_started, department_report, investigation_complete, investigation_overridden,
handling_started, progress, plan_proposed, plan_approved, plan_rejected, work_done, resolved, survey_sent,
waiting_on_customer, resumed, escalated, reassigned, cancelled, merged, rated, reopened, closed,
duplicate_report, sla_warning, sla_breach, progress_report, customer_update, notification_failed.
Events that change the state carry `data["state"]`; events about a clock carry `obligation`,
`data["obligation_status"]` and `data["occurrence"]`.
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

    from domain import clocks
    from domain import search_attributes as sa
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
    from domain.calendar import in_zone
    from domain.case import LOGISTICS_DEPARTMENTS, MEETS, MET_BY, WORKING, CaseState, ComplaintOptions
    from domain.clocks import Obligation
    from domain.messages import (
        ACTIVITY_NOTIFY,
        ACTIVITY_RECORD,
        ACTIVITY_TRACKING,
        Audience,
        LedgerWrite,
        Notification,
        NotificationResult,
        TemplateKey,
        TimelineEvent,
        TrackingRequest,
        TrackingSnapshot,
    )
    from domain.models import (
        ESCALATION_LADDER,
        STAFF_ROLES,
        SUPERVISOR_ROLES,
        SYSTEM_ACTOR,
        TERMINAL_STATES,
        Actor,
        ComplaintInput,
        ComplaintType,
        Department,
        ObligationName,
        ObligationStatus,
        Role,
        State,
        Tier,
    )
    from domain.policy import PRESETS, Anchor, ObligationRule, Policy, preset
    from domain.view import ComplaintView, DepartmentFinding, ObligationView, Plan, Rating, Resolution
    from workflows import metrics as workflow_metrics  # replay-safe business metrics (workflow.metric_meter)
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
PAST_CAP = 30  # settled earlier occurrences (periodic reports, reopened clocks) kept for the view
MAX_ATTACHMENTS = 60
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=6
)
LEDGER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
TRACKING_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10), maximum_attempts=3
)


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type="ActionRefused", non_retryable=True)


def _role(role: Role) -> str:
    return role.value.replace("_", " ")


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _state_words(state: State) -> str:
    return state.value.replace("_", " ")


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
            "received",
            SYSTEM_ACTOR,
            f"{input.tier.value} {input.complaint_type.value} via {input.channel.value}",
            state=State.RECEIVED,
            data={"policy": self.s.policy.name, "tier_confirmed": self.s.tier_confirmed}
            | ({"unknown_policy": self._unknown_policy} if self._unknown_policy else {}),
        )
        self._happen(Anchor.INTAKE, received)
        # B §4: a confirmation with the number, the status link and the promised times, at once.
        self._notify_customer(TemplateKey.CONFIRMATION, "confirmation", self._promises())
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
        self.s.obligations[ob.key] = clocks.warn(ob, now)
        workflow_metrics.warning(ob.name, self.s.tier)
        self._event(
            "sla_warning",
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
        breached = clocks.breach(ob, now)
        workflow_metrics.breach(ob.name, self.s.tier)
        self.s.breach_count += 1
        self.s.last_breach_at = now
        if ob.name.value not in self.s.breached:
            self.s.breached = sorted({*self.s.breached, ob.name.value})
        before = self.s.holder_role
        if escalate:
            self.s.holder_role = clocks.escalation_target(before, ob)
        breached = breached.model_copy(update={"escalation_level": self._ladder_level(self.s.holder_role)})
        self.s.obligations[ob.key] = breached
        self._event(
            "sla_breach",
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
        if escalate and self.s.holder_role != before:
            self._event(
                "escalated",
                SYSTEM_ACTOR,
                f"{_role(before)} → {_role(self.s.holder_role)} after the {ob.name.value} breach",
                data={"from_role": before.value, "to_role": self.s.holder_role.value, "reason": "breach"},
            )
            self._notify_staff(
                TemplateKey.ESCALATION, f"escalation:{key}", roles=[self.s.holder_role], context=ctx
            )
        return escalate and self.s.holder_role != before

    def _produce_periodic(self, ob: Obligation, now: datetime) -> None:
        """A report is due: the system writes it from the complaint's state (the rule is kept either way)."""
        self._rearm(ob, now, SYSTEM_ACTOR)
        ctx = self._progress_context()
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
            ob.name.value, SYSTEM_ACTOR, "automatic", obligation=ob, data={"obligation_status": S.MET.value}
        )

    def _close_without_rating(self, ob: Obligation, now: datetime) -> None:
        self.s.obligations[ob.key] = clocks.waive(ob, now)
        self._close(now, "no rating within the survey window", rated=False)

    # -- clocks and events, the generic part ------------------------------------------------------------------
    def _rules(self) -> list[ObligationRule]:
        """The rules that apply to this complaint now (tier and type), the rating window included."""
        p = self.s.policy
        return [*p.rules_for(self.s.tier, self.s.complaint_type), p.rating_rule()]

    def _open(self, rule: ObligationRule, at: datetime) -> None:
        """Start (or restart, as its next occurrence) the clock of `rule` from `at`."""
        existing = self.s.obligations.get(rule.name.value)
        if existing is not None and existing.status in clocks.RUNNING | {S.PAUSED}:
            return
        if existing is not None:
            self._archive(existing)
            ob = clocks.reopen(existing, rule, self.s.policy, self.s.tier, at)
        else:
            ob = clocks.open_clock(rule, self.s.policy, self.s.tier, at)
        if self.s.state == State.WAITING_ON_CUSTOMER:
            ob = clocks.pause(ob, self.s.policy.calendar(ob.calendar), at)
        self.s.obligations[ob.key] = ob

    def _archive(self, ob: Obligation) -> None:
        self.s.past = [*self.s.past, ob][-PAST_CAP:]

    def _happen(self, anchor: Anchor, at: datetime, by: Actor | None = None) -> None:
        """An event of the complaint's life: meets what it meets, stops the periodic clocks it ends and
        starts the clocks anchored on it."""
        self.s.anchors[anchor] = at
        for name in MEETS.get(anchor, ()):
            self._meet(name, at, by)
        for key, ob in list(self.s.obligations.items()):
            rule = self._rule_of(ob)
            if ob.periodic and rule is not None and rule.until == anchor:
                self.s.obligations[key] = clocks.waive(ob, at)
        for rule in self._rules():
            if rule.anchor == anchor:
                self._open(rule, at)

    def _meet(self, name: ObligationName, at: datetime, by: Actor | None) -> None:
        ob = self.s.obligations.get(name.value)
        if ob is None or ob.status not in clocks.ACTIVE:
            return
        met = clocks.meet(ob, at, by.id if by else None)
        self.s.obligations[ob.key] = met
        self._event(
            "obligation_met",
            by or SYSTEM_ACTOR,
            f"{name.value} {met.status.value}",
            obligation=met,
            data={"obligation_status": met.status.value},
            log_only=True,
        )

    def _waive(
        self, names: tuple[ObligationName, ...] | None, at: datetime, *, periodic_too: bool = True
    ) -> None:
        """Waive running clocks that no longer apply (None: all of them). Breaches stay on record."""
        for key, ob in list(self.s.obligations.items()):
            if (names is None or ob.name in names) and (periodic_too or not ob.periodic):
                self.s.obligations[key] = clocks.waive(ob, at)

    def _rule_of(self, ob: Obligation) -> ObligationRule | None:
        if ob.name == N.DEPARTMENT_REPORT:
            return self.s.policy.department_report_rule()
        if ob.name == N.RATING:
            return self.s.policy.rating_rule()
        return next(
            (r for r in self.s.policy.rules_for(self.s.tier, self.s.complaint_type) if r.name == ob.name),
            None,
        )

    def _rearm(self, ob: Obligation, at: datetime, by: Actor) -> None:
        rule = self._rule_of(ob)
        if rule is None:
            return
        done, nxt = clocks.rearm(ob, rule, self.s.policy, self.s.tier, at, by.id)
        self._archive(done)
        self.s.obligations[ob.key] = nxt

    def _replan(self, at: datetime) -> None:
        """A tier or type change: clocks that no longer apply are waived, those that still apply move to the
        new windows from their own start, new ones start from their anchors (if those already happened)."""
        rules = {r.name: r for r in self._rules()}
        for key, ob in list(self.s.obligations.items()):
            if ob.name in (N.DEPARTMENT_REPORT, N.RATING):
                continue
            rule = rules.get(ob.name)
            if rule is None:
                self.s.obligations[key] = clocks.waive(ob, at)
            else:
                # A first occurrence runs from its anchor event (the new calendar may start it earlier);
                # a later one (re-armed, reopened) from its own start.
                anchor_at = self.s.anchors.get(rule.anchor) if ob.occurrence == 1 else None
                self.s.obligations[key] = clocks.replan(ob, rule, self.s.policy, self.s.tier, anchor_at)
        resolved = Anchor.RESOLVED in self.s.anchors
        for rule in rules.values():
            if rule.name.value in self.s.obligations or rule.anchor not in self.s.anchors:
                continue
            if MET_BY.get(rule.name) in self.s.anchors or rule.name == N.RATING:
                continue
            if rule.periodic and (resolved or rule.until in self.s.anchors):
                continue
            self._open(rule, self.s.anchors[rule.anchor])

    def _pause_all(self, at: datetime) -> None:
        for key, ob in list(self.s.obligations.items()):
            self.s.obligations[key] = clocks.pause(ob, self.s.policy.calendar(ob.calendar), at)

    def _resume_all(self, at: datetime) -> None:
        for key, ob in list(self.s.obligations.items()):
            self.s.obligations[key] = clocks.resume(ob, self.s.policy.calendar(ob.calendar), at)

    @staticmethod
    def _ladder_level(role: Role) -> int:
        ladder = list(ESCALATION_LADDER)
        return ladder.index(role) if role in ladder else len(ladder) - 1

    def _set_state(self, state: State) -> None:
        self.s.state = state

    def _event(
        self,
        kind: str,
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
    def _notify_customer(
        self, template: TemplateKey, key: str, context: dict[str, Any] | None = None
    ) -> None:
        c = self._input.customer
        self._outbox.append(
            Notification(
                idempotency_key=f"{self.cid}:{key}",
                complaint_id=self.cid,
                template=template,
                audience=Audience.CUSTOMER,
                locale=c.locale,
                context={
                    "complaint_id": self.cid,
                    "status_token": self._input.status_token,
                    "channel": self._input.channel.value,
                    "customer": {"name": c.name, "phone": c.phone, "email": c.email},
                    "state": self.s.state.value,
                    **(context or {}),
                },
            )
        )

    def _notify_staff(
        self,
        template: TemplateKey,
        key: str,
        *,
        roles: list[Role],
        departments: list[Department] | None = None,
        staff_ids: list[str] | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        self._outbox.append(
            Notification(
                idempotency_key=f"{self.cid}:{key}",
                complaint_id=self.cid,
                template=template,
                audience=Audience.STAFF,
                roles=roles,
                departments=departments if departments is not None else list(self.s.departments),
                staff_ids=staff_ids or [],
                context={
                    "complaint_id": self.cid,
                    "tier": self.s.tier.value,
                    "state": self.s.state.value,
                    "holder_role": self.s.holder_role.value,
                    **(context or {}),
                },
            )
        )

    def _action_key(self, what: str) -> str:
        """Idempotency key part for a notification caused by an Update: its id is unique and replay-stable."""
        info = workflow.current_update_info()
        return f"{what}:{info.id}" if info else f"{what}:{self.s.seq}"

    def _promises(self) -> dict[str, Any]:
        """The promised times the confirmation names (B §1.2: the customer is told when to expect feedback)."""
        return {
            "promised": {
                ob.name.value: ob.due_at.isoformat()
                for ob in self.s.obligations.values()
                if ob.name in (N.FIRST_RESPONSE, N.DIRECT_ANSWER, N.PRELIMINARY_PLAN, N.RESOLUTION)
            },
            "tier": self.s.tier.value,
        }

    def _progress_context(self) -> dict[str, Any]:
        nxt = clocks.next_due(self.s.obligations)
        return {
            "tier": self.s.tier.value,
            "departments": [d.value for d in self.s.departments],
            "last_progress": self.s.last_progress,
            "plan": self.s.plan.text if self.s.plan else None,
            "next_due": nxt.name.value if nxt else None,
            "next_due_at": nxt.due_at.isoformat() if nxt else None,
            "open_obligations": sorted(
                k for k, o in self.s.obligations.items() if o.status in clocks.RUNNING
            ),
            "breaches": self.s.breach_count,
        }

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
                "notification_failed",
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
                "tracking_failed",
                SYSTEM_ACTOR,
                "carrier not reachable",
                data={"why": why, "error": str(e.cause or e)[:300]},
            )
        else:
            self.s.tracking = snap
            self._event(
                "tracking_linked",
                SYSTEM_ACTOR,
                snap.status or ("found" if snap.found else "waybill unknown to the carrier"),
                data={"why": why, "found": snap.found, "anomalies": list(snap.anomalies)},
            )
        self._commit()

    def _publish(self) -> None:
        """Search attributes (only those that changed) and the current details: where it stands, in words."""
        s = self.s
        nxt = clocks.next_due(s.obligations)
        values: list[tuple[Any, Any]] = [
            (sa.COMPLAINT_ID, self.cid),
            (sa.TIER, s.tier.value),
            (sa.STATE, s.state.value),
            (sa.COMPLAINT_TYPE, s.complaint_type.value),
            (sa.CATEGORY, s.category.value),
            (sa.CHANNEL, self._input.channel.value),
            (sa.POLICY, s.policy.name),
            (sa.HOLDER_ROLE, s.holder_role.value),
            (sa.DEPARTMENTS, [d.value for d in s.departments]),
            (sa.BREACHED, list(s.breached)),
            (sa.BREACH_COUNT, s.breach_count),
            (sa.LAST_BREACH_AT, s.last_breach_at),
            (sa.NEXT_DUE_AT, nxt.due_at if nxt else None),
            (sa.REOPEN_COUNT, s.reopen_count),
        ]
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
        details = self._details_text(nxt)
        if details != self._details:
            self._details = details
            workflow.set_current_details(details)

    def _details_text(self, nxt: Obligation | None) -> str:
        s = self.s
        zone = s.policy.peak.timezone
        lines = [
            f"**{self.cid}** · {s.tier.value} {s.complaint_type.value} · **{_state_words(s.state)}**"
            f" · held by {_role(s.holder_role)} · policy {s.policy.name}",
        ]
        if nxt is not None:
            local = in_zone(nxt.due_at, zone)
            lines.append(f"Next deadline: {nxt.name.value} due {local:%Y-%m-%d %H:%M} ({zone})")
        if s.breach_count:
            lines.append(f"Breaches: {s.breach_count} ({', '.join(s.breached)})")
        if s.reopen_count:
            lines.append(f"Reopened {s.reopen_count}×")
        if s.investigation_open:
            pending = [
                f.department.value for f in s.investigation if f.reported_at is None and not f.escalated
            ]
            late = [f.department.value for f in s.investigation if f.reported_at is None and f.escalated]
            lines.append(
                f"Joint investigation: waiting for {', '.join(pending + late) or '—'}"
                + (f" (late: {', '.join(late)})" if late else "")
            )
        return "\n".join(lines)

    # -- the view -----------------------------------------------------------------------------------------------
    @workflow.query(name=QUERY_STATE)
    def state(self) -> ComplaintView:
        return self._view()

    def _view(self) -> ComplaintView:
        s, i = self.s, self._input
        obligations = sorted(
            [*s.past, *s.obligations.values()], key=lambda o: (o.started_at, o.key, o.occurrence)
        )
        nxt = clocks.next_due(s.obligations)
        return ComplaintView(
            complaint_id=i.complaint_id,
            workflow_id=workflow.info().workflow_id,
            status_token=i.status_token,
            policy=s.policy.name,
            state=s.state,
            tier=s.tier,
            complaint_type=s.complaint_type,
            category=s.category,
            channel=i.channel,
            customer=i.customer,
            subject=i.subject,
            description=i.description,
            order_number=i.order_number,
            product=i.product,
            attachments=s.attachments,
            received_at=i.received_at,
            tier_confirmed=s.tier_confirmed,
            holder=s.holder,
            holder_role=s.holder_role,
            departments=s.departments,
            assignees=s.assignees,
            obligations=[
                ObligationView(
                    name=o.name,
                    status=o.status,
                    started_at=o.started_at,
                    due_at=o.due_at,
                    warn_at=o.warn_at,
                    met_at=o.met_at,
                    breached_at=o.breached_at,
                    occurrence=o.occurrence,
                    department=o.department,
                    escalation_level=o.escalation_level,
                )
                for o in obligations
            ],
            next_due=nxt.name if nxt else None,
            next_due_at=nxt.due_at if nxt else None,
            plan=s.plan,
            investigation=s.investigation,
            resolution=s.resolution,
            ratings=s.ratings,
            reopen_count=s.reopen_count,
            breach_count=s.breach_count,
            last_breach_at=s.last_breach_at,
            extra_reports=s.extra_reports,
            merged_into=s.merged_into,
            cancel_reason=s.cancel_reason,
            tracking=s.tracking,
            closed_at=s.closed_at,
            timeline=s.timeline,
        )

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

    # -- checks shared by validators and handlers -------------------------------------------------------------
    def _open_complaint(self, action: str) -> None:
        if self.s.state in TERMINAL_STATES:
            raise _refuse(f"Cannot {action}: complaint {self.cid} is already {_state_words(self.s.state)}.")

    def _staff(self, actor: Actor, action: str) -> None:
        if actor.role not in STAFF_ROLES:
            raise _refuse(f"Only staff can {action}; you are signed in as {_role(actor.role)}.")

    def _supervisor(self, actor: Actor, action: str) -> None:
        if actor.role not in SUPERVISOR_ROLES:
            raise _refuse(f"Only a supervisor can {action}; you are signed in as {_role(actor.role)}.")

    def _in(self, states: frozenset[State] | set[State], action: str, hint: str = "") -> None:
        if self.s.state not in states:
            raise _refuse(
                f"Cannot {action} while the complaint is {_state_words(self.s.state)}."
                + (f" {hint}" if hint else "")
            )

    def _investigation_done(self, action: str) -> None:
        if self.s.investigation_open:
            pending = [f.department.value for f in self.s.investigation if f.reported_at is None]
            raise _refuse(
                f"Cannot {action} yet: the joint investigation is waiting for reports from {', '.join(pending)}."
                " A supervisor can override the investigation."
            )

    # -- acknowledge ------------------------------------------------------------------------------------------
    def _check_acknowledge(self, a: Acknowledge) -> None:
        self._staff(a.actor, "acknowledge a complaint")
        self._open_complaint("acknowledge")
        self._in(WORKING, "acknowledge")
        if self._acknowledges(a.actor) or self.s.state == State.RECEIVED:
            return
        if self._active(N.SUPERVISOR_ACK) and a.actor.role not in self._ack_roles():
            extra = sorted(self._ack_roles() - SUPERVISOR_ROLES - {Role.SUPERVISOR})
            who = " or ".join(_role(r) for r in [Role.SUPERVISOR, *extra])
            raise _refuse(
                f"The first response is done; this complaint now waits for a {who}'s acknowledgement,"
                f" and you are signed in as {_role(a.actor.role)}."
            )
        raise _refuse("Already acknowledged: there is nothing left to acknowledge. Post progress instead.")

    def _active(self, name: ObligationName) -> bool:
        ob = self.s.obligations.get(name.value)
        return ob is not None and ob.status in clocks.ACTIVE

    def _acknowledges(self, actor: Actor) -> list[Anchor]:
        out = []
        if self._active(N.FIRST_RESPONSE):
            out.append(Anchor.ACKNOWLEDGED)
        if actor.role in self._ack_roles() and self._active(N.SUPERVISOR_ACK):
            out.append(Anchor.SUPERVISOR_ACKNOWLEDGED)
        return out

    def _ack_roles(self) -> frozenset[Role]:
        """Who meets `supervisor_ack`: whoever was alerted at intake besides the specialists (important: the
        supervisor; urgent: the supervisor or a department head — A §3.2), and anyone above them."""
        alerted = set(self.s.policy.alert_at_intake.get(self.s.tier, [])) - {Role.SPECIALIST}
        return frozenset(alerted | SUPERVISOR_ROLES)

    @workflow.update(name=UPDATE_ACKNOWLEDGE)
    async def acknowledge(self, a: Acknowledge) -> ActionResult:
        async with self._lock:
            self._check_acknowledge(a)
            now = self._now()
            anchors = self._acknowledges(a.actor)
            if self.s.holder is None:
                self.s.holder = a.actor
            for anchor in anchors:
                self._happen(anchor, now, a.actor)
            sup = Anchor.SUPERVISOR_ACKNOWLEDGED in anchors
            first = Anchor.ACKNOWLEDGED in anchors or self.s.state == State.RECEIVED
            self._event(
                "supervisor_acknowledged" if sup and not first else "acknowledged",
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
        self._check_acknowledge(a)

    # -- classify ------------------------------------------------------------------------------------------------
    def _check_classify(self, a: Classify) -> None:
        self._staff(a.actor, "classify a complaint")
        self._open_complaint("classify")
        self._in(WORKING, "change the classification", "It already has its result.")

    @workflow.update(name=UPDATE_CLASSIFY)
    async def classify(self, a: Classify) -> ActionResult:
        async with self._lock:
            self._check_classify(a)
            now = self._now()
            old_tier, old_type = self.s.tier, self.s.complaint_type
            self.s.tier, self.s.complaint_type, self.s.tier_confirmed = a.tier, a.complaint_type, True
            if a.departments:
                self.s.departments = list(dict.fromkeys(a.departments))
            changed = (old_tier, old_type) != (a.tier, a.complaint_type)
            if changed:
                self._replan(now)
            self._event(
                "classified",
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
        self._check_classify(a)

    # -- answer directly (general consultations) -----------------------------------------------------------------
    def _check_answer(self, a: AnswerDirectly) -> None:
        self._staff(a.actor, "answer a complaint")
        self._open_complaint("answer")
        self._in(
            {State.RECEIVED, State.ACKNOWLEDGED},
            "answer directly",
            "A direct answer comes before assignment.",
        )
        if self.s.tier != Tier.GENERAL or self.s.complaint_type != ComplaintType.CONSULTATION:
            raise _refuse(
                f"A direct answer is only for general consultations; this is {_article(self.s.tier.value)}"
                f" {self.s.complaint_type.value}. Assign it to a department, or reclassify it first."
            )

    @workflow.update(name=UPDATE_ANSWER)
    async def answer_directly(self, a: AnswerDirectly) -> ActionResult:
        async with self._lock:
            self._check_answer(a)
            now = self._now()
            self.s.holder = self.s.holder or a.actor
            self._happen(Anchor.ANSWERED, now, a.actor)
            self._waive((N.ASSIGNMENT, N.PRELIMINARY_PLAN, N.HANDLING_START), now)
            self.s.resolution = Resolution(
                cause="consultation", solution=a.answer, resolved_by=a.actor, resolved_at=now
            )
            self._event("answered", a.actor, a.answer, state=State.ANSWERED)
            self._notify_customer(TemplateKey.ANSWER, self._action_key("answer"), {"answer": a.answer})
            self._finish_result(now, a.actor)
            return self._result("Answered; the customer has been asked to rate the answer.")

    @answer_directly.validator
    def _validate_answer(self, a: AnswerDirectly) -> None:
        self._check_answer(a)

    # -- assign -------------------------------------------------------------------------------------------------
    def _check_assign(self, a: Assign) -> None:
        self._staff(a.actor, "assign a complaint")
        self._open_complaint("assign")
        self._in(
            {State.RECEIVED, State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS},
            "assign",
            "Resume it first." if self.s.state == State.WAITING_ON_CUSTOMER else "",
        )

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
            self._check_assign(a)
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
            self._waive((N.DIRECT_ANSWER,), now)
            self._event(
                "assigned",
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
        self._check_assign(a)

    async def _start_investigation(self, departments: list[Department], now: datetime, by: Actor) -> None:
        """One child per department, each with its own report deadline on the complaint's calendar."""
        self.s.investigation_round += 1
        rnd = self.s.investigation_round
        rule = self.s.policy.department_report_rule()
        self.s.investigation_open = True
        for dept in departments:
            ob = clocks.open_clock(rule, self.s.policy, self.s.tier, now, department=dept, external=True)
            self.s.obligations[ob.key] = ob
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
            "investigation_started",
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
    def _check_start(self, a: StaffAction) -> None:
        self._staff(a.actor, "start handling")
        self._open_complaint("start handling")
        self._in(
            {State.ASSIGNED},
            "start handling",
            "Assign it to a department first."
            if self.s.state in (State.RECEIVED, State.ACKNOWLEDGED)
            else "",
        )

    @workflow.update(name=UPDATE_START_HANDLING)
    async def start_handling(self, a: StaffAction) -> ActionResult:
        async with self._lock:
            self._check_start(a)
            self._start_handling(a.actor, a.note)
            return self._result("Handling started.")

    @start_handling.validator
    def _validate_start(self, a: StaffAction) -> None:
        self._check_start(a)

    def _start_handling(self, actor: Actor, note: str) -> None:
        self._happen(Anchor.HANDLING_STARTED, self._now(), actor)
        self._event("handling_started", actor, note, state=State.IN_PROGRESS)

    def _check_progress(self, a: PostProgress) -> None:
        self._staff(a.actor, "post progress")
        self._open_complaint("post progress")
        self._in(WORKING, "post progress")

    @workflow.update(name=UPDATE_PROGRESS)
    async def post_progress(self, a: PostProgress) -> ActionResult:
        async with self._lock:
            self._check_progress(a)
            now = self._now()
            self.s.last_progress = a.message
            # The first progress from the department's people means the department has started (A §3.2).
            from_department = a.actor.id in self.s.assignees or a.actor.role in (
                Role.ENGINEER,
                Role.LOGISTICS,
                Role.DEPARTMENT_HEAD,
            )
            if self.s.state == State.ASSIGNED and from_department:
                self._start_handling(a.actor, "first progress from the department")
            # A manual post resets the period: the 2-hourly report to the supervisor, and the 30-minute
            # customer update when it went to the customer.
            for name in (N.PROGRESS_REPORT, N.CUSTOMER_UPDATE):
                ob = self.s.obligations.get(name.value)
                if (
                    ob is not None
                    and ob.status in clocks.RUNNING
                    and (name == N.PROGRESS_REPORT or a.to_customer)
                ):
                    self._rearm(ob, now, a.actor)
            self._event("progress", a.actor, a.message, data={"to_customer": a.to_customer})
            if a.to_customer:
                self._notify_customer(
                    TemplateKey.CUSTOMER_UPDATE, self._action_key("progress"), {"message": a.message}
                )
            return self._result("Progress posted.")

    @post_progress.validator
    def _validate_progress(self, a: PostProgress) -> None:
        self._check_progress(a)

    def _check_plan(self, a: ProposePlan) -> None:
        self._staff(a.actor, "propose a plan")
        self._open_complaint("propose a plan")
        self._in(WORKING - {State.WORK_DONE}, "propose a plan")

    @workflow.update(name=UPDATE_PROPOSE_PLAN)
    async def propose_plan(self, a: ProposePlan) -> ActionResult:
        async with self._lock:
            self._check_plan(a)
            now = self._now()
            self.s.plan = Plan(text=a.plan, compensation=a.compensation, proposed_by=a.actor)
            self._happen(Anchor.PLAN_PROPOSED, now, a.actor)
            self._event("plan_proposed", a.actor, a.plan, data={"compensation": a.compensation})
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
        self._check_plan(a)

    def _check_approve(self, a: Approve) -> None:
        self._supervisor(a.actor, "approve a plan")
        self._open_complaint("approve a plan")
        if self.s.plan is None:
            raise _refuse("There is no plan to approve yet: a plan must be proposed first.")
        if self.s.plan.approved is not None:
            verdict = "approved" if self.s.plan.approved else "rejected"
            who = self.s.plan.approved_by.id if self.s.plan.approved_by else "a supervisor"
            raise _refuse(
                f"This plan was already {verdict} by {who}; a new plan must be proposed to decide again."
            )

    @workflow.update(name=UPDATE_APPROVE)
    async def approve(self, a: Approve) -> ActionResult:
        async with self._lock:
            self._check_approve(a)
            assert self.s.plan is not None
            self.s.plan = self.s.plan.model_copy(update={"approved": a.approved, "approved_by": a.actor})
            self._event("plan_approved" if a.approved else "plan_rejected", a.actor, a.note)
            if a.approved and self.s.plan.compensation:
                self._notify_customer(
                    TemplateKey.PLAN,
                    self._action_key("plan_approved"),
                    {"plan": self.s.plan.text, "compensation": self.s.plan.compensation},
                )
            return self._result("Plan approved." if a.approved else "Plan rejected.")

    @approve.validator
    def _validate_approve(self, a: Approve) -> None:
        self._check_approve(a)

    # -- joint investigation --------------------------------------------------------------------------------------
    def _pending_finding(self, dept: Department) -> DepartmentFinding | None:
        return next((f for f in self.s.investigation if f.department == dept and f.reported_at is None), None)

    def _check_department_report(self, a: DepartmentReport) -> None:
        self._staff(a.actor, "report a department's findings")
        self._open_complaint("report findings")
        if not self.s.investigation:
            raise _refuse("No joint investigation is running for this complaint; post progress instead.")
        if self._pending_finding(a.department) is None:
            known = list(dict.fromkeys(f.department for f in self.s.investigation))
            if a.department in known:
                raise _refuse(
                    f"The {a.department.value} department has already reported (or was overridden)."
                )
            raise _refuse(
                f"The {a.department.value} department is not part of this investigation"
                f" ({', '.join(d.value for d in known)})."
            )

    @workflow.update(name=UPDATE_DEPARTMENT_REPORT)
    async def department_report(self, a: DepartmentReport) -> ActionResult:
        async with self._lock:
            self._check_department_report(a)
            now = self._now()
            finding = self._pending_finding(a.department)
            assert finding is not None
            finding.findings, finding.responsible, finding.reported_at = a.findings, a.responsible, now
            key = clocks.obligation_key(N.DEPARTMENT_REPORT, a.department)
            if key in self.s.obligations:
                self.s.obligations[key] = clocks.meet(self.s.obligations[key], now, a.actor.id)
            self._event(
                "department_report",
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
        self._check_department_report(a)

    def _maybe_close_investigation(self, by: Actor, why: str) -> None:
        if self.s.investigation_open and all(f.reported_at is not None for f in self.s.investigation):
            self.s.investigation_open = False
            self._event("investigation_complete", by, why)
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
            if o.round != self.s.investigation_round:
                return
            key = clocks.obligation_key(N.DEPARTMENT_REPORT, o.department)
            ob = self.s.obligations.get(key)
            finding = self._pending_finding(o.department)
            if ob is None or finding is None or ob.status not in clocks.RUNNING:
                return
            now = self._now()
            finding.escalated = True
            ob = clocks.breach(ob, now).model_copy(update={"escalation_level": 1})  # one level: the head
            self.s.obligations[key] = ob
            self.s.breach_count += 1
            self.s.last_breach_at = now
            self.s.breached = sorted({*self.s.breached, N.DEPARTMENT_REPORT.value})
            self._event(
                "sla_breach",
                SYSTEM_ACTOR,
                f"{o.department.value} report was due {ob.due_at.isoformat()}",
                obligation=ob,
                data={"obligation_status": S.BREACHED.value, "to_role": Role.DEPARTMENT_HEAD.value},
            )
            self._commit()

    def _check_override(self, a: OverrideInvestigation) -> None:
        self._supervisor(a.actor, "override the investigation")
        self._open_complaint("override the investigation")
        if not self.s.investigation_open:
            raise _refuse("No joint investigation is waiting for reports.")

    @workflow.update(name=UPDATE_OVERRIDE_INVESTIGATION)
    async def override_investigation(self, a: OverrideInvestigation) -> ActionResult:
        async with self._lock:
            self._check_override(a)
            await self._stop_investigation(a.reason)
            self._event("investigation_overridden", a.actor, a.reason)
            return self._result("Investigation closed without the missing reports.")

    @override_investigation.validator
    def _validate_override(self, a: OverrideInvestigation) -> None:
        self._check_override(a)

    async def _stop_investigation(self, reason: str) -> None:
        now = self._now()
        for f in self.s.investigation:
            if f.reported_at is None:
                key = clocks.obligation_key(N.DEPARTMENT_REPORT, f.department)
                if key in self.s.obligations:
                    self.s.obligations[key] = clocks.waive(self.s.obligations[key], now)
                await self._signal_child(f.department, SIGNAL_STOP, reason)
        self.s.investigation_open = False

    # -- work done, resolve --------------------------------------------------------------------------------------
    def _check_work_done(self, a: WorkDone) -> None:
        self._staff(a.actor, "report the work done")
        self._open_complaint("report the work done")
        self._in({State.ASSIGNED, State.IN_PROGRESS}, "report the work done")
        self._investigation_done("report the work done")

    @workflow.update(name=UPDATE_WORK_DONE)
    async def report_work_done(self, a: WorkDone) -> ActionResult:
        async with self._lock:
            self._check_work_done(a)
            now = self._now()
            if Anchor.HANDLING_STARTED not in self.s.anchors or self.s.state == State.ASSIGNED:
                self._happen(Anchor.HANDLING_STARTED, now, a.actor)
            self._happen(Anchor.WORK_DONE, now, a.actor)
            self.s.last_progress = a.summary
            self._event("work_done", a.actor, a.summary, state=State.WORK_DONE)
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
        self._check_work_done(a)

    def _check_resolve(self, a: Resolve) -> None:
        self._staff(a.actor, "resolve a complaint")
        self._open_complaint("resolve")
        self._in(
            {State.RECEIVED, State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS, State.WORK_DONE},
            "resolve",
            "Resume it first: it is waiting on the customer."
            if self.s.state == State.WAITING_ON_CUSTOMER
            else "",
        )
        self._investigation_done("resolve")
        if a.compensation and a.actor.role not in SUPERVISOR_ROLES:
            plan = self.s.plan
            covered = (
                plan is not None
                and plan.approved
                and plan.compensation is not None
                and a.compensation <= plan.compensation
            )
            if not covered:
                raise _refuse(
                    f"A compensation of {a.compensation:g} needs a supervisor's approval: propose it in a plan for"
                    " a supervisor to approve, or ask a supervisor to resolve."
                )

    @workflow.update(name=UPDATE_RESOLVE)
    async def resolve(self, a: Resolve) -> ActionResult:
        async with self._lock:
            self._check_resolve(a)
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
                "resolved", a.actor, a.solution, state=State.RESOLVED, data={"compensation": a.compensation}
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
        self._check_resolve(a)

    def _finish_result(self, now: datetime, by: Actor) -> None:
        """After the result (answer or resolution): every other clock stops, the survey window opens."""
        if Anchor.RESOLVED not in self.s.anchors:
            self._happen(Anchor.RESOLVED, now, by)
        self._waive(tuple(n for n in N if n != N.RATING), now)
        if self.s.state == State.RESOLVED:
            self._set_state(State.AWAITING_RATING)
        rating = self.s.obligations.get(N.RATING.value)
        self._event(
            "survey_sent",
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
    def _check_wait(self, a: WaitOnCustomer) -> None:
        self._staff(a.actor, "wait on the customer")
        self._open_complaint("wait on the customer")
        self._in(
            {State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS, State.WORK_DONE}, "wait on the customer"
        )

    @workflow.update(name=UPDATE_WAIT)
    async def wait_on_customer(self, a: WaitOnCustomer) -> ActionResult:
        async with self._lock:
            self._check_wait(a)
            now = self._now()
            self.s.state_before_wait = self.s.state
            self._pause_all(now)
            self._event("waiting_on_customer", a.actor, a.reason, state=State.WAITING_ON_CUSTOMER)
            self._notify_customer(
                TemplateKey.WAITING_ON_CUSTOMER, self._action_key("waiting"), {"reason": a.reason}
            )
            return self._result("Waiting on the customer; the resolution clocks are paused.")

    @wait_on_customer.validator
    def _validate_wait(self, a: WaitOnCustomer) -> None:
        self._check_wait(a)

    def _check_resume(self, a: Resume) -> None:
        self._staff(a.actor, "resume a complaint")
        self._open_complaint("resume")
        self._in(
            {State.WAITING_ON_CUSTOMER}, "resume", "Only a complaint waiting on the customer can be resumed."
        )

    @workflow.update(name=UPDATE_RESUME)
    async def resume(self, a: Resume) -> ActionResult:
        async with self._lock:
            self._check_resume(a)
            self._resume_all(self._now())
            back = self.s.state_before_wait or State.IN_PROGRESS
            self.s.state_before_wait = None
            self._event("resumed", a.actor, a.note, state=back)
            return self._result("Resumed; the clocks run again with the time they had left.")

    @resume.validator
    def _validate_resume(self, a: Resume) -> None:
        self._check_resume(a)

    # -- escalate, reassign ----------------------------------------------------------------------------------------
    def _check_escalate(self, a: Escalate) -> None:
        self._staff(a.actor, "escalate a complaint")
        self._open_complaint("escalate")
        if clocks.escalation_target(self.s.holder_role) == self.s.holder_role:
            raise _refuse(
                f"Already with {_article(_role(self.s.holder_role))}, the top of the escalation ladder."
            )

    @workflow.update(name=UPDATE_ESCALATE)
    async def escalate(self, a: Escalate) -> ActionResult:
        async with self._lock:
            self._check_escalate(a)
            before = self.s.holder_role
            self.s.holder_role = clocks.escalation_target(before)
            self._event(
                "escalated",
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
        self._check_escalate(a)

    def _check_reassign(self, a: Reassign) -> None:
        self._staff(a.actor, "reassign a complaint")
        self._open_complaint("reassign")
        holder = self.s.holder
        if a.actor.role not in SUPERVISOR_ROLES | {Role.DEPARTMENT_HEAD} and (
            holder is None or holder.id != a.actor.id
        ):
            raise _refuse(
                f"Only a supervisor, a department head or the current holder can reassign; you are signed in as"
                f" {_role(a.actor.role)}."
            )
        if a.holder_role not in STAFF_ROLES:
            raise _refuse(f"A complaint can only be held by staff, not by {_article(_role(a.holder_role))}.")

    @workflow.update(name=UPDATE_REASSIGN)
    async def reassign(self, a: Reassign) -> ActionResult:
        async with self._lock:
            self._check_reassign(a)
            before = self.s.holder
            self.s.holder = Actor(id=a.holder_id, role=a.holder_role)
            self.s.holder_role = a.holder_role
            self._event(
                "reassigned",
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
        self._check_reassign(a)

    # -- cancel, merge ------------------------------------------------------------------------------------------------
    def _check_cancel(self, a: Cancel) -> None:
        self._supervisor(a.actor, "cancel a complaint")
        self._open_complaint("cancel")

    @workflow.update(name=UPDATE_CANCEL)
    async def cancel(self, a: Cancel) -> ActionResult:
        async with self._lock:
            self._check_cancel(a)
            self.s.cancel_reason = a.reason
            await self._end(State.CANCELLED, a.actor, a.reason)
            self._notify_customer(TemplateKey.CLOSED, "closed", {"reason": a.reason, "cancelled": True})
            return self._result("Cancelled.")

    @cancel.validator
    def _validate_cancel(self, a: Cancel) -> None:
        self._check_cancel(a)

    def _check_merge(self, a: MergeInto) -> None:
        self._staff(a.actor, "merge a complaint")
        self._open_complaint("merge")
        if a.target_complaint_id == self.cid:
            raise _refuse(
                "A complaint cannot be merged into itself; give the number of the complaint it duplicates."
            )

    @workflow.update(name=UPDATE_MERGE)
    async def merge_into(self, a: MergeInto) -> ActionResult:
        async with self._lock:
            self._check_merge(a)
            self.s.merged_into = a.target_complaint_id
            await self._end(State.MERGED, a.actor, f"merged into {a.target_complaint_id}")
            self._notify_customer(
                TemplateKey.DUPLICATE_JOINED, "merged", {"target_complaint_id": a.target_complaint_id}
            )
            return self._result(f"Merged into {a.target_complaint_id}.")

    @merge_into.validator
    def _validate_merge(self, a: MergeInto) -> None:
        self._check_merge(a)

    async def _end(self, state: State, by: Actor, why: str) -> None:
        now = self._now()
        self._waive(None, now)
        if self.s.investigation_open:
            await self._stop_investigation(why)
        self.s.closed_at = now
        self._event(state.value, by, why, state=state)

    def _close(self, now: datetime, why: str, *, rated: bool) -> None:
        self._waive(None, now)
        self.s.closed_at = now
        self._event("closed", SYSTEM_ACTOR, why, state=State.CLOSED, data={"rated": rated})
        self._notify_customer(TemplateKey.CLOSED, "closed", {"rated": rated})

    # -- the customer's rating, the reopen loop -----------------------------------------------------------------------
    def _check_rate(self, r: Rate) -> None:
        self._open_complaint("rate")
        self._in({State.AWAITING_RATING, State.ANSWERED}, "rate", "A rating comes after the result.")
        if r.score < self.s.policy.satisfied_score and not r.demand.strip():
            raise _refuse(
                f"Please tell us what you expect (demand) when rating below {self.s.policy.satisfied_score}: it is"
                " what we will work on."
            )

    @workflow.update(name=UPDATE_RATE)
    async def rate(self, r: Rate) -> ActionResult:
        async with self._lock:
            self._check_rate(r)
            now = self._now()
            customer = Actor(id="customer", role=Role.CUSTOMER)
            self.s.ratings = [
                *self.s.ratings,
                Rating(score=r.score, comment=r.comment, demand=r.demand, at=now),
            ]
            rating = self.s.obligations.get(N.RATING.value)
            if rating is not None:
                self.s.obligations[rating.key] = clocks.meet(rating, now, "customer")
            self._event("rated", customer, r.comment, data={"score": r.score, "demand": r.demand})
            if r.score >= self.s.policy.satisfied_score:
                self._close(now, f"rated {r.score}", rated=True)
                return self._result("Thank you: the complaint is closed.")
            self._reopen(now, r)
            return self._result("Reopened: a senior supervisor takes it over with your demand.")

    @rate.validator
    def _validate_rate(self, r: Rate) -> None:
        self._check_rate(r)

    def _reopen(self, now: datetime, r: Rate) -> None:
        """A §3.3 / B §2.4: below the satisfied score the complaint reopens, the demand recorded, a senior
        supervisor takes it over and handling repeats until the customer is satisfied."""
        s = self.s
        s.reopen_count += 1
        for anchor in (Anchor.RESOLVED, Anchor.WORK_DONE, Anchor.ANSWERED):
            s.anchors.pop(anchor, None)
        before = s.holder_role
        s.holder_role = Role.SENIOR_SUPERVISOR
        s.holder = None  # whoever of the senior supervisors picks it up
        s.resolution = None
        s.anchors[Anchor.HANDLING_STARTED] = now  # handling repeats from here
        for rule in self._rules():
            if rule.name == N.RESOLUTION or (
                rule.periodic and rule.anchor in s.anchors and rule.until not in s.anchors
            ):
                self._open(rule, now)
        self._event(
            "reopened",
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

    def _check_add_report(self, r: AddReport) -> None:
        if self.s.state in TERMINAL_STATES:
            raise _refuse(
                f"Complaint {self.cid} is {_state_words(self.s.state)}; file the report as a new complaint."
            )

    @workflow.update(name=UPDATE_ADD_REPORT)
    async def add_report(self, r: AddReport) -> ActionResult:
        async with self._lock:
            self._check_add_report(r)
            if self._is_original_report(r):
                return self._result("Complaint received.")
            self.s.extra_reports += 1
            self.s.attachments = [*self.s.attachments, *r.attachments][:MAX_ATTACHMENTS]
            self._event(
                "duplicate_report",
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
        self._check_add_report(r)
