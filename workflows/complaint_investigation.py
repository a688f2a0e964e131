"""The complaint workflow's joint investigation and calendar changes: the department reports (B §2.2), a
department's missed report deadline, the supervisor's override, and admins' calendar edits re-planning the
clocks. A base class of ComplaintWorkflow (workflows/complaint.py), so that file stays the loop and the
front-line actions; the same lock, book and steps."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import actions as act
    from domain import clocks
    from domain.calendar import SIGNAL_CALENDARS_CHANGED, CalendarChange
    from domain.events import EventKind as E
    from domain.models import SYSTEM_ACTOR, TERMINAL_STATES, ObligationName, ObligationStatus, Role

from workflows.complaint_clocks import ClockMoments
from workflows.investigation import (
    SIGNAL_DEPARTMENT_OVERDUE,
    SIGNAL_REPORT,
    DepartmentFindingSignal,
    DepartmentOverdue,
)
from workflows.validators import table_says as _table_says

N, S = ObligationName, ObligationStatus


class InvestigationAndCalendar(ClockMoments):
    # -- joint investigation --------------------------------------------------------------------------------------
    @workflow.update(name=act.UPDATE_DEPARTMENT_REPORT)
    async def department_report(self, a: act.DepartmentReport) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
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

    _validate_department_report = department_report.validator(_table_says(department_report))

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

    @workflow.signal(name=SIGNAL_CALENDARS_CHANGED)
    async def calendars_changed(self, change: CalendarChange) -> None:
        """Admins changed a calendar's days: the running clocks count again on them (docs/calendar.md)."""
        async with self._lock:
            if self.s.state in TERMINAL_STATES:
                return
            moved = self.book.recalendar(change.calendars, self._now())
            if moved:
                data = {"moved": {k: due.isoformat() for k, due in moved.items()}}
                self._event(E.CALENDAR_CHANGED, SYSTEM_ACTOR, change.reason, data=data)
            self._commit()

    @workflow.update(name=act.UPDATE_OVERRIDE_INVESTIGATION)
    async def override_investigation(self, a: act.OverrideInvestigation) -> act.ActionResult:
        async with self._lock:
            self._ask_table(a)
            await self._stop_investigation(a.reason)
            self._event(E.INVESTIGATION_OVERRIDDEN, a.actor, a.reason)
            return self._result("Investigation closed without the missing reports.")

    _validate_override = override_investigation.validator(_table_says(override_investigation))
