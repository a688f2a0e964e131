"""DepartmentInvestigationWorkflow: one department's part of a joint investigation (B §1.3).

Started by the complaint (a lost-goods complaint, or an assignment to several departments), one per
department, so each department's report deadline lives on its own and a late department is escalated to
its own head — no department can hide behind another (the blame-shifting B §1.3 warns about). Kept cheap:
the parent computes the warning and due moments on the complaint's calendar, so this workflow does no
calendar math; it sleeps at most twice (warning, due), sends at most three notifications and ends as soon
as the report arrives (`report` signal) or the complaint no longer needs it (`stop` signal).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.messages import ACTIVITY_NOTIFY, Audience, Notification, NotificationResult, TemplateKey
    from domain.models import Department, Locale, Role

SIGNAL_REPORT = "report"
SIGNAL_STOP = "stop"
SIGNAL_DEPARTMENT_OVERDUE = "department_overdue"  # sent to the parent complaint
# A child whose parent vanished (terminated by hand) must not linger for ever.
ORPHAN_LIMIT = timedelta(days=30)

NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=6
)


def investigation_id(complaint_workflow_id: str, department: Department, round: int) -> str:
    """One child per department and investigation round, named after its complaint's workflow."""
    return f"{complaint_workflow_id}/investigation/{department.value}/{round}"


class InvestigationInput(BaseModel):
    complaint_id: str
    department: Department
    round: int = 1
    assigned_at: datetime
    warn_at: datetime | None = None
    due_at: datetime
    time_shift: timedelta = timedelta(0)  # the parent's simulated clock offset
    locale: Locale = Locale.ZH_CN


class DepartmentFindingSignal(BaseModel):
    findings: str
    responsible: bool | None = None
    reported_by: str
    reported_at: datetime


class DepartmentOverdue(BaseModel):
    department: Department
    round: int
    at: datetime


class InvestigationOutcome(BaseModel):
    department: Department
    reported: bool
    overdue: bool
    stopped: bool = False
    reason: str = ""


@workflow.defn(name="DepartmentInvestigationWorkflow")
class DepartmentInvestigationWorkflow:
    def __init__(self) -> None:
        self._finding: DepartmentFindingSignal | None = None
        self._stop_reason: str | None = None
        self._overdue = False

    @workflow.signal(name=SIGNAL_REPORT)
    def report(self, finding: DepartmentFindingSignal) -> None:
        self._finding = finding

    @workflow.signal(name=SIGNAL_STOP)
    def stop(self, reason: str) -> None:
        self._stop_reason = reason or "stopped"

    def _finished(self) -> bool:
        return self._finding is not None or self._stop_reason is not None

    def _now(self, inp: InvestigationInput) -> datetime:
        return (workflow.now() + inp.time_shift).replace(microsecond=0)

    async def _sleep_until(self, inp: InvestigationInput, moment: datetime, what: str) -> bool:
        """Wait until `moment` or the end; True when the moment came first."""
        left = moment - workflow.now() - inp.time_shift  # to the ms
        if left > timedelta(milliseconds=1):
            try:
                await workflow.wait_condition(self._finished, timeout=left, timeout_summary=what)
            except TimeoutError:
                pass
        return not self._finished()

    @workflow.run
    async def run(self, inp: InvestigationInput) -> InvestigationOutcome:
        dept = inp.department.value
        if inp.warn_at is not None and await self._sleep_until(inp, inp.warn_at, f"{dept} report warning"):
            await self._notify(inp, "warn", TemplateKey.WARNING, roles=[], due=inp.due_at)
        if await self._sleep_until(inp, inp.due_at, f"{dept} report due"):
            self._overdue = True
            await asyncio.gather(
                self._notify(inp, "breach", TemplateKey.BREACH, roles=[], due=inp.due_at),  # the department
                self._notify(
                    inp, "escalation", TemplateKey.ESCALATION, roles=[Role.DEPARTMENT_HEAD], due=inp.due_at
                ),
                self._tell_parent(inp),
            )
        try:
            await workflow.wait_condition(
                self._finished, timeout=ORPHAN_LIMIT, timeout_summary=f"{dept} report"
            )
        except TimeoutError:
            self._stop_reason = "no report and no word from the complaint"
        return InvestigationOutcome(
            department=inp.department,
            reported=self._finding is not None,
            overdue=self._overdue,
            stopped=self._finding is None,
            reason=self._stop_reason or "",
        )

    async def _notify(
        self, inp: InvestigationInput, what: str, template: TemplateKey, *, roles: list[Role], due: datetime
    ) -> None:
        note = Notification(
            idempotency_key=f"{inp.complaint_id}:department_report:{inp.department.value}:{inp.round}:{what}",
            complaint_id=inp.complaint_id,
            template=template,
            audience=Audience.STAFF,
            locale=inp.locale,
            roles=roles,
            departments=[inp.department],
            context={
                "complaint_id": inp.complaint_id,
                "obligation": "department_report",
                "department": inp.department.value,
                "due_at": due.isoformat(),
                "escalated_to": Role.DEPARTMENT_HEAD.value if template != TemplateKey.WARNING else None,
            },
        )
        try:
            await workflow.execute_activity(
                ACTIVITY_NOTIFY,
                note,
                result_type=NotificationResult,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=15),
                retry_policy=NOTIFY_RETRY,
                summary=f"notify {inp.department.value}: {template.value}",
            )
        except ActivityError as e:  # a lost notification never stops the investigation
            workflow.logger.warning(
                "department notification failed", extra={"template": template.value, "error": str(e)}
            )

    async def _tell_parent(self, inp: InvestigationInput) -> None:
        parent = workflow.info().parent
        if parent is None:
            return
        try:
            await workflow.get_external_workflow_handle(parent.workflow_id).signal(
                SIGNAL_DEPARTMENT_OVERDUE,
                DepartmentOverdue(department=inp.department, round=inp.round, at=self._now(inp)),
            )
        except Exception as e:  # the complaint already ended: nobody left to tell
            workflow.logger.info("parent gone", extra={"error": str(e)})
