"""What one step of a complaint sends out, beside the rules: timeline events, notifications (each its own
activity: a failed message is recorded, never fails the complaint), the ledger write (the view and the
step's new events, in order), the parcel's tracking, the search attributes and current details engineers
read — and the joint investigation's children. `ComplaintWorkflow` (workflows/complaint.py) is built on it.

Deterministic workflow code: `workflow.now()`, activities and child workflows only.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain import action_table, case_view, clocks
    from domain import actions as act
    from domain.action_table import CUSTOMER, Situation
    from domain.case import CaseState, ComplaintOptions
    from domain.clocks import Obligation
    from domain.events import EventKind as E
    from domain.messages import (
        ACTIVITY_NOTIFY,
        ACTIVITY_RECORD,
        ACTIVITY_STEP,
        ACTIVITY_TRACKING,
        LedgerWrite,
        Notification,
        NotificationResult,
        StepResult,
        StepWrite,
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
        State,
    )
    from domain.obligation_book import ObligationBook
    from domain.policy import Anchor
    from domain.view import ComplaintView, DepartmentFinding

from workflows.investigation import (
    NOTIFY_RETRY,  # one retry policy for every notification, the investigations' too
    SIGNAL_STOP,
    DepartmentInvestigationWorkflow,
    InvestigationInput,
    investigation_id,
)
from workflows.timer import MovableTimer

# Since this patch a step's notifications go out with its ledger write, in one local activity.
PATCH_ONE_STEP = "one-local-activity-per-step"
TIMELINE_CAP = 50  # newest events kept in state and view; the ledger keeps every one
LEDGER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
TRACKING_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10), maximum_attempts=3
)


class ComplaintSteps:
    """The plumbing of a complaint's steps; the subclass holds the rules, the loop and the handlers."""

    s: CaseState
    _input: ComplaintInput
    _opts: ComplaintOptions
    _outbox: list[Notification]
    _unsent: list[Notification]
    _one_step: bool | None
    _ledger_gap: bool
    _events: list[TimelineEvent]
    _ledger_due: bool
    _draining: bool
    _tasks: set[asyncio.Task[None]]
    _failure: BaseException | None
    _sa_sent: dict[str, Any]
    _details: str
    _timer: MovableTimer

    def _start_steps(self) -> None:
        self._outbox = []  # notifications of the current step
        self._unsent = []  # notifications waiting for the next step write (PATCH_ONE_STEP)
        self._one_step = None
        self._ledger_gap = True  # a run's first write also writes the view's timeline (heals a lost one)
        self._events = []  # events not yet in the ledger
        self._ledger_due = False
        self._draining = False
        self._tasks = set()
        self._failure = None
        self._sa_sent = {}
        self._details = ""

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        if info.is_continue_as_new_suggested():
            return True
        limit = self._opts.history_limit
        return limit is not None and info.get_current_history_length() > limit

    def _is_original_report(self, r: act.AddReport) -> bool:
        """Intake always delivers the first report as this Update too (update-with-start)."""
        info = workflow.current_update_info()
        if info is not None and info.id == f"intake-{self.cid}":
            return True
        return (
            r.description == self._input.description and r.received_at == self._input.received_at.isoformat()
        )

    @property
    def book(self) -> ObligationBook:
        return ObligationBook(self.s)

    @property
    def cid(self) -> str:
        return self._input.complaint_id

    def _clock(self) -> datetime:
        """The complaint's time, to the millisecond (shifted in simulations): what deadlines are compared to."""
        return workflow.now() + self._opts.time_shift

    def _now(self) -> datetime:
        # What gets recorded: whole seconds, the same instants whatever the task's few ms of latency.
        return self._clock().replace(microsecond=0)

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

    def _notify_customer(
        self, template: TemplateKey, key: str, context: dict[str, Any] | None = None
    ) -> None:
        self._outbox.append(case_view.to_customer(self.s, self._input, template, key, context))

    def _notify_staff(self, template: TemplateKey, key: str, **to: Any) -> None:
        self._outbox.append(case_view.to_staff(self.s, self.cid, template, key, **to))

    def _action_key(self, what: str) -> str:
        """Idempotency key part for a notification caused by an Update: its id is unique and replay-stable."""
        info = workflow.current_update_info()
        return f"{what}:{info.id}" if info else f"{what}:{self.s.seq}"

    def _commit(self) -> None:
        outbox, self._outbox = self._outbox, []
        if self._one_step is None:  # decided once per run, at its first step: a run keeps one way
            self._one_step = workflow.patched(PATCH_ONE_STEP)
        if self._one_step:
            self._unsent.extend(outbox)  # they go out with the step's ledger write
        else:
            for note in outbox:
                self._spawn(self._send(note))
        if (self._ledger_due or self._unsent) and not self._draining:
            self._draining = True
            self._spawn(self._drain())
        self._publish()
        wake = clocks.next_wakeup(self.s.obligations)
        self._timer.move(wake.at if wake else None, force=self.s.state in TERMINAL_STATES)

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
        """Ledger writes, in order, one per batch of steps: the view plus the events since the last write, and
        (since PATCH_ONE_STEP) the notifications of those steps."""
        try:
            while self._ledger_due or self._unsent:
                due, self._ledger_due = self._ledger_due, False
                events, self._events = self._events, []
                notes, self._unsent = self._unsent, []
                batch = (
                    LedgerWrite(
                        complaint=self._view().model_dump(mode="json"), events=events, heal=self._ledger_gap
                    )
                    if due
                    else None
                )
                if notes or batch is not None:
                    await self._write(batch, notes)
        finally:
            self._draining = False

    async def _write(self, batch: LedgerWrite | None, notes: list[Notification]) -> None:
        """One local activity: the ledger batch alone (`record_ledger`), or since PATCH_ONE_STEP with the
        step's notifications (`record_step`, activities/step.py): a deadline's answer costs one marker instead
        of an activity per message and a task for each result. A local activity holds the workflow task while
        it runs, so attempts are short and any backoff beyond 2 s waits on a timer instead: a database outage
        must not hold back the clocks' timers. What did not settle at once goes to the retrying `notify`
        activity, which records a lost one."""
        step = bool(notes)
        events = len(batch.events) if batch else 0
        try:
            result = await workflow.execute_local_activity(
                ACTIVITY_STEP if step else ACTIVITY_RECORD,
                StepWrite(ledger=batch, notifications=notes) if step else batch,
                result_type=StepResult if step else int,
                start_to_close_timeout=timedelta(seconds=20 if step else 10),
                schedule_to_close_timeout=timedelta(hours=1),
                retry_policy=LEDGER_RETRY,
                local_retry_threshold=timedelta(seconds=2),
                summary=f"step: {events} events, {len(notes)} notifications"
                if step
                else f"ledger: {events} events",
            )
        except ActivityError as e:
            # The next write carries the view and its newest events again, healing most of the gap.
            self._ledger_gap = self._ledger_gap or batch is not None
            workflow.logger.error(
                "ledger write failed", extra={"complaint_id": self.cid, "error": str(e.cause or e)}
            )
            deferred = {n.idempotency_key for n in notes}
        else:
            if batch is not None:
                self._ledger_gap = False
            deferred = set(result.deferred) if step else set()
        for note in notes:
            if note.idempotency_key in deferred:
                self._spawn(self._send(note))

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

    def _view(self) -> ComplaintView:
        return case_view.view_of(self.s, self._input, workflow.info().workflow_id)

    def _result(self, message: str) -> act.ActionResult:
        self._commit()
        nxt = clocks.next_due(self.s.obligations)
        return act.ActionResult(
            complaint_id=self.cid,
            state=self.s.state.value,
            next_due=nxt.name if nxt else None,
            next_due_at=nxt.due_at.isoformat() if nxt else None,
            message=message,
        )

    # -- the joint investigation's children ------------------------------------------------------------------------
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

    async def _stop_investigation(self, reason: str) -> None:
        now = self._now()
        for f in self.s.investigation:
            if f.reported_at is None:
                self.book.waive_key(
                    clocks.obligation_key(ObligationName.DEPARTMENT_REPORT, f.department), now
                )
                await self._signal_child(f.department, SIGNAL_STOP, reason)
        self.s.investigation_open = False

    # -- clocks and events, the generic part ------------------------------------------------------------------
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

    # -- the action table decides; validators and handlers ask it -------------------------------------------------
    def _ask_table(self, arg: Any, *, who: bool = False) -> None:
        """The table's word on the current Update (its name is the table's key): in full in the validator,
        the state's part again in the handler once it holds the lock."""
        info = workflow.current_update_info()
        assert info is not None
        self._check(info.name, getattr(arg, "actor", CUSTOMER), arg, who=who)

    def _check(self, action: str, actor: Actor, arg: Any, *, who: bool = True) -> None:
        """Refuse with the table's code and parameters (the UI words them). Handlers re-check with
        `who=False` after the lock: only what the state decides can have changed since validation."""
        refused = action_table.check(action, actor, Situation.of_case(self.s, self.cid), arg, who=who)
        if refused is not None:
            raise ApplicationError(
                refused.summary(), refused.params, type=refused.code.value, non_retryable=True
            )
