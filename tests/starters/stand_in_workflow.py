"""A test-only stand-in for `workflows.complaint.ComplaintWorkflow`, used only while the real one is not in
the tree: same name, run input, `add_report` Update and `state` query, nothing else. It lets the intake
tests exercise update-with-start, joining and the status link against a real server and worker.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.actions import QUERY_STATE, UPDATE_ADD_REPORT, ActionResult, AddReport
    from domain.messages import TimelineEvent
    from domain.models import SYSTEM_ACTOR, ComplaintInput, State
    from domain.view import ComplaintView


@workflow.defn(name="ComplaintWorkflow")
class StandInComplaintWorkflow:
    @workflow.init
    def __init__(self, inp: ComplaintInput, options: dict | None = None) -> None:
        self.inp = inp
        self.extra_reports = 0
        self.attachments = list(inp.attachments)
        self.timeline: list[TimelineEvent] = []
        self.closed = False

    @workflow.run
    async def run(self, inp: ComplaintInput, options: dict | None = None) -> None:
        await workflow.wait_condition(lambda: self.closed)

    @workflow.signal(name="test_close")
    def close(self) -> None:
        self.closed = True

    @workflow.update(name=UPDATE_ADD_REPORT)
    async def add_report(self, report: AddReport) -> ActionResult:
        # The report that started this workflow arrives as an Update too: intake names it intake-<own number>.
        if workflow.current_update_info().id != f"intake-{self.inp.complaint_id}":
            self.extra_reports += 1
            self.attachments += report.attachments
            self.timeline.append(
                TimelineEvent(
                    event_id=str(workflow.uuid4()),
                    complaint_id=self.inp.complaint_id,
                    at=workflow.now(),
                    kind="report_added",
                    actor=SYSTEM_ACTOR,
                    text=report.description,
                    data={"channel": report.channel.value},
                )
            )
        return ActionResult(complaint_id=self.inp.complaint_id, state=State.RECEIVED.value)

    @workflow.query(name=QUERY_STATE)
    def state(self) -> ComplaintView:
        i = self.inp
        return ComplaintView(
            complaint_id=i.complaint_id,
            workflow_id=workflow.info().workflow_id,
            status_token=i.status_token,
            policy=i.policy,
            state=State.RECEIVED,
            tier=i.tier,
            complaint_type=i.complaint_type,
            category=i.category,
            channel=i.channel,
            customer=i.customer,
            subject=i.subject,
            description=i.description,
            order_number=i.order_number,
            product=i.product,
            attachments=self.attachments,
            received_at=i.received_at,
            departments=i.departments,
            extra_reports=self.extra_reports,
            timeline=self.timeline,
        )
