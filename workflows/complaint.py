"""ComplaintWorkflow: one per complaint, every rule of its SLA policy as an obligation clock.

Shape (after temporalio/samples-python `safe_message_handlers` and `updatable_timer`):
- All state lives in one pydantic `CaseState` (domain/case.py), handed to the next run on continue-as-new;
  its clocks are kept by the obligation book (domain/obligation_book.py).
- ONE movable timer (workflows/timer.py): the loop sleeps until the earliest warning or due moment of all
  running obligations; a step that moves that moment moves the timer. What each moment does:
  workflows/complaint_clocks.py.
- One method per action: the Update, and its validator — the action table (domain/action_table.py) — that
  refuses a wrong role, state, complaint or input with a code the UI words, before anything enters
  history. Handlers change state synchronously under a lock and return at once; what a step sends out
  (events, messages, the ledger, tracking, search attributes, investigation children) is
  workflows/complaint_steps.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    # pydantic's EmailStr validates with these; loaded here so the sandbox does not re-import them per run
    import email_validator  # noqa: F401
    import idna  # noqa: F401

    from domain import action_table, case_view, clocks
    from domain import actions as act
    from domain.action_table import CUSTOMER, Situation
    from domain.case import (
        LOGISTICS_DEPARTMENTS,
        MET_BY,
        CaseState,
        ComplaintOptions,
        complaint_policy,
        new_case,
    )
    from domain.case_view import role_words
    from domain.clocks import Obligation
    from domain.events import INTERNAL, VISIBLE_TO_CUSTOMER
    from domain.events import EventKind as E
    from domain.messages import TemplateKey
    from domain.models import (
        SYSTEM_ACTOR,
        TERMINAL_STATES,
        Actor,
        ComplaintInput,
        ObligationName,
        ObligationStatus,
        Role,
        State,
        Tier,
    )
    from domain.obligation_book import (
        assigned_departments,
        investigation_departments,
        progress_starts_handling,
    )
    from domain.policy import Anchor
    from domain.view import ComplaintView, Plan, Rating, Resolution

from workflows import metrics as workflow_metrics  # replay-safe business metrics (workflow.metric_meter)
from workflows.complaint_investigation import InvestigationAndCalendar
from workflows.timer import MIN_TIMER, MovableTimer
from workflows.validators import table_says as _table_says

N, S = ObligationName, ObligationStatus
MAX_ATTACHMENTS = 60
# Since this patch a plan with a compensation reaches the customer only after approval.
PATCH_PLAN_AFTER_APPROVAL = "plan-with-compensation-after-approval"


@workflow.defn(name="ComplaintWorkflow")
class ComplaintWorkflow(InvestigationAndCalendar):
    # -- set-up -----------------------------------------------------------------------------------------
    @workflow.init
    def __init__(self, input: ComplaintInput, options: ComplaintOptions | None = None) -> None:
        self._input = input
        self._opts = options or ComplaintOptions()
        self._lock = asyncio.Lock()
        self._timer = MovableTimer()
        self._start_steps()
        self._unknown_policy: str | None = None  # intake validates names: an unknown one runs on the default
        if self._opts.state is not None:
            self.s = self._opts.state
        else:
            self.s = self._intake(input)

    def _intake(self, input: ComplaintInput) -> CaseState:
        now = self._now()
        # Calendars chosen by region / business line; their days as intake resolved them (none: old starts).
        policy, self._unknown_policy = complaint_policy(input, self._opts)
        self.s = new_case(input, policy)
        # The customer's clock starts when they filed (never in the future of the workflow's own clock).
        received = min(input.received_at, now).astimezone(UTC)
        self._event(
            E.RECEIVED,
            SYSTEM_ACTOR,
            f"{input.tier.value} {input.complaint_type.value} via {input.channel.value}",
            state=State.RECEIVED,
            data={
                "policy": self.s.policy.name,
                "tier_confirmed": self.s.tier_confirmed,
                "tier": input.tier.value,
                "complaint_type": input.complaint_type.value,
                "channel": input.channel.value,
            }
            | ({"unknown_policy": self._unknown_policy} if self._unknown_policy else {}),
        )
        self._happen(Anchor.INTAKE, received)
        # B §4: a confirmation with the number, the status link and the promised times, at once (intake may
        # have sent it already: the same notification, so the outbox sends it once).
        self._outbox.append(case_view.confirmation(self.s, input))
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
            await self._timer.sleep(
                wake.at if wake else None,
                self._clock(),
                summary=f"{wake.name.value} {wake.kind}" if wake else None,
                interrupt=lambda: self._failure is not None or self._should_continue_as_new(),
            )
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

    def _close_without_rating(self, ob: Obligation, now: datetime) -> None:
        self.book.waive_key(ob.key, now)
        self._close(now, "no rating within the survey window", rated=False)

    @workflow.query(name=act.QUERY_STATE)
    def state(self) -> ComplaintView:
        return self._view()

    # -- acknowledge ------------------------------------------------------------------------------------------
    @workflow.update(name=act.UPDATE_ACKNOWLEDGE)
    async def acknowledge(self, a: act.Acknowledge) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
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

    _validate_acknowledge = acknowledge.validator(_table_says(acknowledge))

    # -- classify ------------------------------------------------------------------------------------------------
    @workflow.update(name=act.UPDATE_CLASSIFY)
    async def classify(self, a: act.Classify) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
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

    _validate_classify = classify.validator(_table_says(classify))

    # -- answer directly (general consultations) -----------------------------------------------------------------
    @workflow.update(name=act.UPDATE_ANSWER)
    async def answer_directly(self, a: act.AnswerDirectly) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
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

    _validate_answer = answer_directly.validator(_table_says(answer_directly))

    # -- assign -------------------------------------------------------------------------------------------------
    @workflow.update(name=act.UPDATE_ASSIGN)
    async def assign(self, a: act.Assign) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            now = self._now()
            first = Anchor.ASSIGNMENT not in self.s.anchors
            new = assigned_departments(self.s, list(a.departments), first)
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
            started = investigation_departments(self.s)
            if started:
                await self._start_investigation(started, now, a.actor)
            if self._input.order_number and any(d in LOGISTICS_DEPARTMENTS for d in new):
                await self._link_tracking(self._input.order_number, "assignment")
            return self._result(
                f"Assigned to {', '.join(d.value for d in a.departments)}"
                + (f"; joint investigation: {', '.join(d.value for d in started)}." if started else ".")
            )

    _validate_assign = assign.validator(_table_says(assign))

    # -- start handling / progress / plan / approve ----------------------------------------------------------------
    @workflow.update(name=act.UPDATE_START_HANDLING)
    async def start_handling(self, a: act.StaffAction) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            self._start_handling(a.actor, a.note)
            return self._result("Handling started.")

    _validate_start = start_handling.validator(_table_says(start_handling))

    def _start_handling(self, actor: Actor, note: str) -> None:
        self._happen(Anchor.HANDLING_STARTED, self._now(), actor)
        self._event(E.HANDLING_STARTED, actor, note, state=State.IN_PROGRESS)

    @workflow.update(name=act.UPDATE_PROGRESS)
    async def post_progress(self, a: act.PostProgress) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
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

    _validate_progress = post_progress.validator(_table_says(post_progress))

    @workflow.update(name=act.UPDATE_PROPOSE_PLAN)
    async def propose_plan(self, a: act.ProposePlan) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            now = self._now()
            self.s.plan = Plan(text=a.plan, compensation=a.compensation, proposed_by=a.actor)
            self._happen(Anchor.PLAN_PROPOSED, now, a.actor)
            self._event(E.PLAN_PROPOSED, a.actor, a.plan, data={"compensation": a.compensation})
            # The preliminary plan goes to the customer at once (B §1.2); one with a compensation needs the
            # supervisor's approval and reaches the customer once, approved (before the patch: twice).
            if not a.compensation or not workflow.patched(PATCH_PLAN_AFTER_APPROVAL):
                self._notify_customer(TemplateKey.PLAN, self._action_key("plan"), {"plan": a.plan})
            self._notify_staff(
                TemplateKey.APPROVAL_NEEDED,
                self._action_key("approval"),
                roles=[Role.SUPERVISOR],
                context={"plan": a.plan, "compensation": a.compensation},
            )
            return self._result("Plan proposed; a supervisor has been asked to approve it.")

    _validate_plan = propose_plan.validator(_table_says(propose_plan))

    @workflow.update(name=act.UPDATE_APPROVE)
    async def approve(self, a: act.Approve) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
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

    _validate_approve = approve.validator(_table_says(approve))

    # -- work done, resolve --------------------------------------------------------------------------------------
    @workflow.update(name=act.UPDATE_WORK_DONE)
    async def report_work_done(self, a: act.WorkDone) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
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

    _validate_work_done = report_work_done.validator(_table_says(report_work_done))

    @workflow.update(name=act.UPDATE_RESOLVE)
    async def resolve(self, a: act.Resolve) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            now = self._now()
            told = a.model_dump(include={"cause", "solution", "compensation", "compensation_note"})
            self.s.resolution = Resolution(**told, resolved_by=a.actor, resolved_at=now)
            self._happen(Anchor.RESOLVED, now, a.actor)
            self._event(
                E.RESOLVED, a.actor, a.solution, state=State.RESOLVED, data={"compensation": a.compensation}
            )
            # A §3.3 / B §2.4: cause, solution, compensation on the customer's channels.
            self._notify_customer(
                TemplateKey.RESULT,
                self._action_key("result"),
                {**a.model_dump(include={"cause", "solution", "compensation"}), "note": a.compensation_note},
            )
            self._finish_result(now, a.actor)
            return self._result("Resolved; the customer has been asked to rate the result.")

    _validate_resolve = resolve.validator(_table_says(resolve))

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
    @workflow.update(name=act.UPDATE_WAIT)
    async def wait_on_customer(self, a: act.WaitOnCustomer) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            now = self._now()
            self.s.state_before_wait = self.s.state
            self.book.pause_all(now)
            self._event(E.WAITING_ON_CUSTOMER, a.actor, a.reason, state=State.WAITING_ON_CUSTOMER)
            self._notify_customer(
                TemplateKey.WAITING_ON_CUSTOMER, self._action_key("waiting"), {"reason": a.reason}
            )
            return self._result("Waiting on the customer; the resolution clocks are paused.")

    _validate_wait = wait_on_customer.validator(_table_says(wait_on_customer))

    @workflow.update(name=act.UPDATE_RESUME)
    async def resume(self, a: act.Resume) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            self.book.resume_all(self._now())
            back = self.s.state_before_wait or State.IN_PROGRESS
            self.s.state_before_wait = None
            self._event(E.RESUMED, a.actor, a.note, state=back)
            return self._result("Resumed; the clocks run again with the time they had left.")

    _validate_resume = resume.validator(_table_says(resume))

    # -- escalate, reassign ----------------------------------------------------------------------------------------
    @workflow.update(name=act.UPDATE_ESCALATE)
    async def escalate(self, a: act.Escalate) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
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
            return self._result(f"Escalated to {role_words(self.s.holder_role)}.")

    _validate_escalate = escalate.validator(_table_says(escalate))

    @workflow.update(name=act.UPDATE_REASSIGN)
    async def reassign(self, a: act.Reassign) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            before = self.s.holder
            self.s.holder = Actor(id=a.holder_id, role=a.holder_role)
            self.s.holder_role = a.holder_role
            self._event(
                E.REASSIGNED,
                a.actor,
                a.note,
                data={"from": before and before.id, "to": a.holder_id, "to_role": a.holder_role.value},
            )
            self._notify_staff(
                TemplateKey.ASSIGNMENT,
                self._action_key("reassigned"),
                roles=[a.holder_role],
                staff_ids=[a.holder_id],
                context={"reassigned": True},
            )
            return self._result(f"Now held by {a.holder_id} ({role_words(a.holder_role)}).")

    _validate_reassign = reassign.validator(_table_says(reassign))

    # -- cancel, merge ------------------------------------------------------------------------------------------------
    @workflow.update(name=act.UPDATE_CANCEL)
    async def cancel(self, a: act.Cancel) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            self.s.cancel_reason = a.reason
            await self._end(State.CANCELLED, a.actor, a.reason)
            self._notify_customer(TemplateKey.CLOSED, "closed", {"reason": a.reason, "cancelled": True})
            return self._result("Cancelled.")

    _validate_cancel = cancel.validator(_table_says(cancel))

    @workflow.update(name=act.UPDATE_MERGE)
    async def merge_into(self, a: act.MergeInto) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            self.s.merged_into = a.target_complaint_id
            await self._end(State.MERGED, a.actor, f"merged into {a.target_complaint_id}")
            self._notify_customer(
                TemplateKey.DUPLICATE_JOINED, "merged", {"target_complaint_id": a.target_complaint_id}
            )
            return self._result(f"Merged into {a.target_complaint_id}.")

    _validate_merge = merge_into.validator(_table_says(merge_into))

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
    @workflow.update(name=act.UPDATE_RATE)
    async def rate(self, r: act.Rate) -> act.ActionResult:
        async with self._lock:
            self._ask_table(r)
            now = self._now()
            self.s.ratings = [*self.s.ratings, Rating(**r.model_dump(), at=now)]
            self.book.meet(N.RATING, now, CUSTOMER)
            self._event(E.RATED, CUSTOMER, r.comment, data={"score": r.score, "demand": r.demand})
            if r.score >= self.s.policy.satisfied_score:
                self._close(now, f"rated {r.score}", rated=True)
                return self._result("Thank you: the complaint is closed.")
            self._reopen(now, r)
            return self._result("Reopened: a senior supervisor takes it over with your demand.")

    _validate_rate = rate.validator(_table_says(rate))

    def _reopen(self, now: datetime, r: act.Rate) -> None:
        """A §3.3 / B §2.4: below the satisfied score the complaint reopens, the demand recorded, a senior
        supervisor takes it over and handling repeats until the customer is satisfied."""
        s = self.s
        before = self.book.reopen(now)
        self._event(
            E.REOPENED,
            CUSTOMER,
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
    @workflow.update(name=act.UPDATE_ADD_REPORT)
    async def add_report(self, r: act.AddReport) -> act.ActionResult:
        async with self._lock:
            self._ask_table(r)
            if self._is_original_report(r):
                return self._result("Complaint received.")
            self.s.extra_reports += 1
            self.s.attachments = [*self.s.attachments, *r.attachments][:MAX_ATTACHMENTS]
            self._event(
                E.DUPLICATE_REPORT,
                CUSTOMER,
                r.description,
                data={"channel": r.channel, "received_at": r.received_at, "attachments": len(r.attachments)},
            )
            self._notify_customer(
                TemplateKey.DUPLICATE_JOINED,
                f"duplicate:{self.s.extra_reports}",
                {"channel": r.channel.value},
            )
            return self._result(f"Joined complaint {self.cid}: the same issue is already being handled.")

    _validate_add_report = add_report.validator(_table_says(add_report))

    # -- the conversation: staff replies, internal notes, the customer's answers --------------------------------------
    @workflow.update(name=act.UPDATE_REPLY)
    async def reply_to_customer(self, a: act.ReplyToCustomer) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            key = self._action_key("reply")
            self._event(
                E.STAFF_REPLY,
                a.actor,
                a.message,
                data={
                    "text": a.message,
                    "visibility": VISIBLE_TO_CUSTOMER,
                    "notification": f"{self.cid}:{key}",
                },
            )
            self._notify_customer(
                TemplateKey.STAFF_REPLY, key, {"message": a.message, "holder_name": a.actor.name or ""}
            )
            return self._result("Reply sent to the customer.")

    _validate_reply = reply_to_customer.validator(_table_says(reply_to_customer))

    @workflow.update(name=act.UPDATE_NOTE)
    async def add_note(self, a: act.AddNote) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            self._event(E.NOTE, a.actor, a.note, data={"text": a.note, "visibility": INTERNAL})
            return self._result("Note added.")

    _validate_note = add_note.validator(_table_says(add_note))

    @workflow.update(name=act.UPDATE_CUSTOMER_MESSAGE)
    async def customer_message(self, m: act.CustomerMessage) -> act.ActionResult:
        """The customer answers. While the complaint waits on them, their answer is what it waited for: the
        clocks run again at once (as a pending ticket goes back to open), and the holder is told."""
        async with self._lock:
            self._ask_table(m)
            now = self._now()
            self.s.attachments = [*self.s.attachments, *m.attachments][:MAX_ATTACHMENTS]
            self._event(
                E.CUSTOMER_MESSAGE,
                CUSTOMER,
                m.message,
                data={
                    "text": m.message,
                    "visibility": VISIBLE_TO_CUSTOMER,
                    "channel": m.channel.value,
                    "received_at": m.received_at,
                    "attachments": [att.name for att in m.attachments],
                },
            )
            resumed = self.s.state == State.WAITING_ON_CUSTOMER
            if resumed:
                self.book.resume_all(now)
                back = self.s.state_before_wait or State.IN_PROGRESS
                self.s.state_before_wait = None
                self._event(E.RESUMED, CUSTOMER, "", state=back, data={"by_customer": True})
            holder = self.s.holder
            self._notify_staff(
                TemplateKey.CUSTOMER_MESSAGE,
                self._action_key("customer_message"),
                roles=[] if holder else [self.s.holder_role],
                departments=[],
                staff_ids=[holder.id] if holder else [],
                context={"message": m.message, "resumed": resumed, "attachments": len(m.attachments)},
            )
            return self._result("Message added; the clocks run again." if resumed else "Message added.")

    _validate_customer_message = customer_message.validator(_table_says(customer_message))
