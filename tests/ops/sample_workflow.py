"""A small stand-in complaint workflow for the ops tests while `workflows/registry.py` is not there yet.

It carries customer data the way the real one does (input, Update arg, query result, activity input) and
writes search attributes / a summary / current details the way the real one does (no customer data), so
encryption, tracing, logging and metrics are checked on a real run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio import activity, workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes

with workflow.unsafe.imports_passed_through():
    import structlog

    from workflows import metrics as workflow_metrics
from domain.actions import Acknowledge
from domain.messages import ACTIVITY_NOTIFY, Audience, Notification, NotificationResult, TemplateKey
from domain.models import Channel, ComplaintInput, Customer, ObligationName, Tier
from domain.search_attributes import COMPLAINT_ID, STATE, TIER

FIRST_RESPONSE = timedelta(minutes=5)
CUSTOMER = Customer(name="王小明 Wang Xiaoming", phone="+86 138 0013 8000", email="wxm@example.cn")


def complaint(complaint_id: str, tier: Tier = Tier.URGENT) -> ComplaintInput:
    return ComplaintInput(
        complaint_id=complaint_id,
        channel=Channel.WEB,
        customer=CUSTOMER,
        description="冷链生鲜变质 spoiled fresh goods, call me at +86 138 0013 8000",
        order_number="SF1234567890",
        tier=tier,
        received_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        status_token="tok-" + complaint_id,
    )


def start_attributes(c: ComplaintInput) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(COMPLAINT_ID, c.complaint_id),
            SearchAttributePair(TIER, c.tier.value),
            SearchAttributePair(STATE, "received"),
        ]
    )


@activity.defn(name=ACTIVITY_NOTIFY)
async def notify(n: Notification) -> NotificationResult:
    structlog.get_logger("notify").info("notification sent", template=n.template.value)
    activity.logger.info("stdlib line from the activity")
    return NotificationResult(idempotency_key=n.idempotency_key, delivered=["sms"])


@workflow.defn(name="OpsSampleComplaint")
class SampleComplaintWorkflow:
    def __init__(self) -> None:
        self.complaint: ComplaintInput | None = None
        self.acknowledged_by: str | None = None
        self.breached = False

    @workflow.run
    async def run(self, c: ComplaintInput) -> str:
        self.complaint = c
        workflow.logger.info("stdlib line from the workflow")
        workflow.set_current_details(f"{c.complaint_id}: waiting for the first response")
        await workflow.execute_activity(
            notify,
            Notification(
                idempotency_key=f"{c.complaint_id}:confirmation",
                complaint_id=c.complaint_id,
                template=TemplateKey.CONFIRMATION,
                audience=Audience.CUSTOMER,
                context={"name": c.customer.name, "phone": c.customer.phone},
            ),
            start_to_close_timeout=timedelta(seconds=30),
            summary="confirmation to the customer",
        )
        due = workflow.now() + FIRST_RESPONSE
        try:
            await workflow.wait_condition(lambda: self.acknowledged_by is not None, timeout=FIRST_RESPONSE)
        except TimeoutError:
            workflow_metrics.timer_fired(ObligationName.FIRST_RESPONSE, due)
            workflow_metrics.breach(ObligationName.FIRST_RESPONSE, c.tier)
            self.breached = True
            workflow.upsert_search_attributes([STATE.value_set("breached")])
            await workflow.wait_condition(lambda: self.acknowledged_by is not None)
        workflow.upsert_search_attributes([STATE.value_set("acknowledged")])
        return f"{c.complaint_id} acknowledged by {self.acknowledged_by}"

    @workflow.update(name="acknowledge")
    async def acknowledge(self, action: Acknowledge) -> str:
        self.acknowledged_by = action.actor.id
        return f"acknowledged, note: {action.note}"

    @workflow.query(name="state")
    def state(self) -> dict:
        assert self.complaint is not None
        return {"customer": self.complaint.customer.model_dump(), "breached": self.breached}
