"""What a complaint says and does when one of its clocks reaches its moment: a warning to whoever holds
it, a breach one level up the ladder, a periodic report written from the complaint's state. The book
(domain/obligation_book.py) keeps the clocks; this says it.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import case_view
    from domain.case_view import role_words
    from domain.clocks import Obligation
    from domain.events import EventKind as E
    from domain.messages import TemplateKey
    from domain.models import SYSTEM_ACTOR, ObligationName, ObligationStatus, Role

from workflows import metrics as workflow_metrics  # replay-safe business metrics (workflow.metric_meter)
from workflows.complaint_steps import ComplaintSteps

N, S = ObligationName, ObligationStatus
# Since this patch an automatic customer update nobody worked for also tells the holder and the supervisor.
PATCH_NO_PROGRESS_ALERT = "customer-update-no-progress-alert"


class ClockMoments(ComplaintSteps):
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
                f"{role_words(before)} → {role_words(self.s.holder_role)} after the {ob.name.value} breach",
                data={
                    "from_role": before.value,
                    "to_role": self.s.holder_role.value,
                    "reason": "breach",
                    "obligation": ob.name.value,
                },
            )
            self._notify_staff(
                TemplateKey.ESCALATION, f"escalation:{key}", roles=[self.s.holder_role], context=ctx
            )
        return b.escalated

    def _produce_periodic(self, ob: Obligation, now: datetime) -> None:
        """A report is due: the system writes it from the complaint's state (the rule is kept either way).
        An update to the customer says only what is so (case_view.customer_update_context); when nobody
        worked on the complaint since the last one, the holder and the supervisor are told."""
        since = ob.started_at
        self.book.rearm(ob, now, SYSTEM_ACTOR)
        ctx = case_view.progress_context(self.s)
        data: dict[str, object] = {"obligation_status": S.MET.value}
        if ob.name == N.CUSTOMER_UPDATE:
            told = case_view.customer_update_context(self.s, since)
            data |= {"automatic": True, "no_progress": told["no_progress"]}
            self._notify_customer(
                TemplateKey.CUSTOMER_UPDATE,
                f"customer_update:{ob.occurrence}:r{self.s.reopen_count}",
                ctx | told,
            )
            if told["no_progress"] and workflow.patched(PATCH_NO_PROGRESS_ALERT):
                self._notify_staff(
                    TemplateKey.NO_PROGRESS,
                    f"no_progress:{ob.occurrence}:r{self.s.reopen_count}",
                    # nobody holds it: the role whose queue it waits in is told with the supervisor
                    roles=[Role.SUPERVISOR]
                    + (
                        [self.s.holder_role]
                        if not self.s.holder and self.s.holder_role != Role.SUPERVISOR
                        else []
                    ),
                    departments=[],
                    staff_ids=[self.s.holder.id] if self.s.holder else [],
                    context=ctx | {"since": since.isoformat()},
                )
        else:
            self._notify_staff(
                TemplateKey.PROGRESS_REPORT,
                f"progress_report:{ob.occurrence}:r{self.s.reopen_count}",
                roles=[Role.SUPERVISOR],
                context=ctx,
            )
        self._event(E(ob.name.value), SYSTEM_ACTOR, "automatic", obligation=ob, data=data)
