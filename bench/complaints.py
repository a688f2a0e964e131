"""Starting complaints the way intake starts them, on a policy whose windows are seconds.

Shared by the lateness benchmark and the fault tests: the real `ComplaintWorkflow`, the `standard` policy
scaled (`domain.policy.scaled`, around the clock) so that the first-response window is W seconds, handed
to the workflow as `ComplaintOptions.policy`; `received_at` is chosen by the caller, so many complaints
can share one due moment.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

FIRST_RESPONSE = timedelta(minutes=5)  # the standard policy's first-response window, scaled to W


def complaint_input(cid: str, received_at: datetime, *, tier: str = "general", phone: str = "+8613800000000"):
    from domain.models import Channel, ComplaintInput, ComplaintType, Customer, Tier

    return ComplaintInput(
        complaint_id=cid,
        channel=Channel.API,
        customer=Customer(name="Bench Customer", phone=phone, email="customer@example.com"),
        description="bench: parcel arrived late",
        complaint_type=ComplaintType.COMPLAINT,
        tier=Tier(tier),
        received_at=received_at,
        status_token=uuid.uuid4().hex,
        policy="standard",
        classified_by="bench",
    )


def policy_with_window(seconds: float):
    """`standard`, every window scaled so that first response is `seconds` (warning at 75 %)."""
    from domain.policy import scaled, standard

    return scaled(standard(), seconds / FIRST_RESPONSE.total_seconds())


async def start_complaint(client, task_queue: str, ci, policy) -> str:
    """Start one complaint workflow with intake's id, search attributes and summary; returns its id."""
    from temporalio.common import SearchAttributePair, TypedSearchAttributes

    from core.temporal import workflow_id_for
    from domain import search_attributes as sa
    from domain.case import ComplaintOptions

    workflow_id = workflow_id_for(ci.complaint_id)
    await client.start_workflow(
        "ComplaintWorkflow",
        args=[ci, ComplaintOptions(policy=policy)],
        id=workflow_id,
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.COMPLAINT_ID, ci.complaint_id),
                SearchAttributePair(sa.TIER, ci.tier.value),
                SearchAttributePair(sa.POLICY, ci.policy),
            ]
        ),
        static_summary=f"{ci.complaint_id}: bench",
    )
    return workflow_id
