"""The clocks inside the running workflow: warnings, breaches and escalation, pauses, business hours,
re-planning on a tier change, periodic updates, notifications that fail, tracking, duplicate reports."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata

from domain import actions as a
from domain import search_attributes as sa
from domain.messages import Audience, TemplateKey
from domain.models import (
    Category,
    Channel,
    ComplaintType,
    ObligationName,
    ObligationStatus,
    Role,
    State,
    Tier,
)
from tests.workflows.harness import SH, SPECIALIST, SUPERVISOR, Desk, World, desk_on

N, S = ObligationName, ObligationStatus
M, H = timedelta(minutes=1), timedelta(hours=1)


async def test_warning_at_75_percent_goes_to_whoever_holds_the_complaint(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    await c.until(1 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))  # the specialist now holds it
    await c.until(11 * M)  # supervisor_ack: 15 min window → warning at 11:15
    assert not [
        n
        for n in desk.world.sent(TemplateKey.WARNING, complaint_id=c.id)
        if n.context["obligation"] == "supervisor_ack"
    ]
    await c.until(11 * M + 16 * timedelta(seconds=1))
    [warning] = [
        n
        for n in desk.world.sent(TemplateKey.WARNING, complaint_id=c.id)
        if n.context["obligation"] == "supervisor_ack"
    ]
    assert warning.roles == [Role.SPECIALIST] and warning.staff_ids == [SPECIALIST.id]
    assert (await c.obligation(N.SUPERVISOR_ACK)).status == S.WARNED


async def test_breach_escalates_one_level_up_the_ladder(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    await c.until(5 * M + timedelta(seconds=1))  # nobody answered within 5 min
    view = await c.view()
    fr = next(o for o in view.obligations if o.name == N.FIRST_RESPONSE)
    assert fr.status == S.BREACHED and fr.breached_at == c.at + 5 * M and fr.escalation_level == 1
    assert view.holder_role == Role.SUPERVISOR and view.breach_count == 1
    assert view.last_breach_at == c.at + 5 * M
    [breach] = desk.world.sent(TemplateKey.BREACH, Audience.STAFF, c.id)
    [esc] = desk.world.sent(TemplateKey.ESCALATION, Audience.STAFF, c.id)
    assert breach.roles == [Role.SPECIALIST] and esc.roles == [Role.SUPERVISOR]
    # The next breach climbs one more level: supervisor → senior supervisor.
    await c.until(15 * M + timedelta(seconds=1))
    view = await c.view()
    assert view.holder_role == Role.SENIOR_SUPERVISOR and view.breach_count == 2
    # A breached obligation can still be met, late.
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    assert (await c.obligation(N.FIRST_RESPONSE)).status == S.MET_LATE
    assert (await c.obligation(N.SUPERVISOR_ACK)).status == S.MET_LATE


async def test_explicit_escalation_and_the_top_of_the_ladder(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    res = await c.do(a.UPDATE_ESCALATE, a.Escalate(actor=SPECIALIST, reason="客户情绪激动"))
    assert "supervisor" in res.message
    await c.do(a.UPDATE_ESCALATE, a.Escalate(actor=SUPERVISOR, reason="需要资深主管"))
    assert (await c.view()).holder_role == Role.SENIOR_SUPERVISOR
    assert [n.roles for n in desk.world.sent(TemplateKey.ESCALATION, Audience.STAFF, c.id)] == [
        [Role.SUPERVISOR],
        [Role.SENIOR_SUPERVISOR],
    ]


async def test_waiting_on_customer_pauses_resolution_and_resume_keeps_the_time_left(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    await c.do(a.UPDATE_PROPOSE_PLAN, a.ProposePlan(actor=SUPERVISOR, plan="上门取证"))
    await c.until(65 * M)
    res = await c.do(a.UPDATE_WAIT, a.WaitOnCustomer(actor=SUPERVISOR, reason="等待客户提供照片"))
    assert res.state == State.WAITING_ON_CUSTOMER.value
    assert (await c.obligation(N.RESOLUTION)).status == S.PAUSED
    assert desk.world.sent(TemplateKey.WAITING_ON_CUSTOMER, Audience.CUSTOMER, c.id)
    await c.until(8 * H)  # far past the 4 h resolution deadline, but the clock stood still
    view = await c.view()
    assert view.breach_count == 0 and view.state == State.WAITING_ON_CUSTOMER
    updates_while_waiting = len(desk.world.sent(TemplateKey.CUSTOMER_UPDATE, complaint_id=c.id))
    res = await c.do(a.UPDATE_RESUME, a.Resume(actor=SUPERVISOR))
    assert res.state == State.ACKNOWLEDGED.value
    resolution = await c.obligation(N.RESOLUTION)
    assert resolution.status == S.OPEN and resolution.due_at == c.at + 8 * H + 175 * M  # 2 h 55 min were left
    assert updates_while_waiting == 2  # 30 and 60 min, then paused with the rest


async def test_general_complaint_filed_out_of_hours_confirms_at_once_and_starts_clocks_next_business_morning(
    desk: Desk,
):
    friday_night = datetime(2026, 3, 6, 20, 0, tzinfo=SH)
    c = await desk.start(tier=Tier.GENERAL, at=friday_night)
    assert desk.world.sent(TemplateKey.CONFIRMATION, Audience.CUSTOMER, c.id)  # at once, at 20:00
    fr = await c.obligation(N.FIRST_RESPONSE)
    assert fr.started_at == datetime(2026, 3, 9, 9, 0, tzinfo=SH)
    assert fr.due_at == datetime(2026, 3, 9, 9, 5, tzinfo=SH)
    await c.until(60 * H)  # Monday 08:00: nothing due yet over the weekend
    assert (await c.view()).breach_count == 0
    await c.until(61 * H + 6 * M)  # Monday 09:06
    assert (await c.obligation(N.FIRST_RESPONSE)).status == S.BREACHED


async def test_urgent_complaint_filed_out_of_hours_runs_around_the_clock(desk: Desk):
    friday_night = datetime(2026, 3, 6, 22, 0, tzinfo=SH)
    c = await desk.start(tier=Tier.URGENT, at=friday_night)
    assert (await c.obligation(N.FIRST_RESPONSE)).due_at == friday_night + 5 * M
    assert (await c.obligation(N.RESOLUTION)).due_at == friday_night + 4 * H


async def test_classify_to_urgent_replans_every_clock(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    await c.until(10 * M)
    res = await c.do(
        a.UPDATE_CLASSIFY,
        a.Classify(actor=SPECIALIST, tier=Tier.URGENT, complaint_type=ComplaintType.COMPLAINT),
    )
    assert "re-planned" in res.message
    view = await c.view()
    by_name = {o.name: o for o in view.obligations}
    assert by_name[N.ASSIGNMENT].status == S.WAIVED  # no longer applies
    assert by_name[N.RESOLUTION].due_at == c.at + 4 * H  # same start, urgent window, around the clock
    assert by_name[N.SUPERVISOR_ACK].due_at == c.at + 15 * M  # opened from intake
    assert by_name[N.CUSTOMER_UPDATE].status == S.OPEN
    assert by_name[N.PRELIMINARY_PLAN].due_at == c.at + 2 * H
    assert view.tier == Tier.URGENT and view.tier_confirmed
    raised = [
        n
        for n in desk.world.sent(TemplateKey.NEW_COMPLAINT, Audience.STAFF, c.id)
        if n.context.get("from_tier")
    ]
    assert raised and {Role.SUPERVISOR, Role.DEPARTMENT_HEAD} <= set(raised[0].roles)


async def test_proposed_urgent_tier_takes_effect_at_once_and_staff_confirm_it(desk: Desk):
    c = await desk.start(tier=Tier.URGENT, category=Category.SPOILED, classified_by="classifier")
    view = await c.view()
    assert view.tier == Tier.URGENT and not view.tier_confirmed
    assert (await c.obligation(N.RESOLUTION)).due_at == c.at + 4 * H
    res = await c.do(
        a.UPDATE_CLASSIFY,
        a.Classify(actor=SPECIALIST, tier=Tier.URGENT, complaint_type=ComplaintType.COMPLAINT),
    )
    assert res.message == "Classification confirmed."
    assert (await c.view()).tier_confirmed


async def test_urgent_customer_update_every_30_min_until_resolved(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    await c.until(95 * M)
    updates = desk.world.sent(TemplateKey.CUSTOMER_UPDATE, Audience.CUSTOMER, c.id)
    assert len(updates) == 3  # at 30, 60, 90 min
    assert {u.idempotency_key for u in updates} == {f"{c.id}:customer_update:{i}:r0" for i in (1, 2, 3)}
    # A manual update to the customer restarts the period.
    await c.do(a.UPDATE_PROGRESS, a.PostProgress(actor=SUPERVISOR, message="正在补发", to_customer=True))
    assert (await c.obligation(N.CUSTOMER_UPDATE)).due_at == c.at + 125 * M
    await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SUPERVISOR, cause="c", solution="s"))
    before = len(desk.world.sent(TemplateKey.CUSTOMER_UPDATE, Audience.CUSTOMER, c.id))
    await c.until(4 * H)
    assert len(desk.world.sent(TemplateKey.CUSTOMER_UPDATE, Audience.CUSTOMER, c.id)) == before


async def test_a_failed_notification_never_fails_the_complaint(ts_env):
    world = World(fail_templates={TemplateKey.CONFIRMATION})
    async with desk_on(ts_env, world) as desk:
        c = await desk.start(tier=Tier.GENERAL, complaint_type=ComplaintType.CONSULTATION)
        await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
        await c.do(a.UPDATE_ANSWER, a.AnswerDirectly(actor=SPECIALIST, answer="ok"))
        await c.do(a.UPDATE_RATE, a.Rate(score=5))
        final = await c.result()
        assert final.state == State.CLOSED
        failed = world.events(c.id, "notification_failed")
        assert failed and failed[0].data["template"] == "confirmation"


async def test_unknown_waybill_is_a_finding_not_an_error(desk: Desk):
    c = await desk.start(tier=Tier.IMPORTANT, category=Category.LOST, order_number="XX-NOT-A-WAYBILL")
    view = await c.view()
    assert view.tracking is not None and view.tracking.found is False
    [linked] = desk.world.events(c.id, "tracking_linked")
    assert linked.data["found"] is False


async def test_same_issue_reported_again_joins_the_open_complaint(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL)
    first = a.AddReport(
        channel=Channel.HOTLINE, description=c.input.description, received_at=c.input.received_at.isoformat()
    )
    res = await c.handle.execute_update(
        a.UPDATE_ADD_REPORT, first, id=f"intake-{c.id}", result_type=a.ActionResult
    )
    assert res.complaint_id == c.id and (await c.view()).extra_reports == 0  # the intake's own first report
    again = a.AddReport(
        channel=Channel.APP, description="还是没收到", received_at="2026-03-02T10:00:00+08:00"
    )
    res = await c.do(a.UPDATE_ADD_REPORT, again)
    assert res.complaint_id == c.id and "Joined" in res.message
    assert (await c.view()).extra_reports == 1
    assert desk.world.sent(TemplateKey.DUPLICATE_JOINED, Audience.CUSTOMER, c.id)


async def test_search_attributes_and_current_details_follow_every_state_change(desk: Desk):
    c = await desk.start(tier=Tier.URGENT)
    await c.until(6 * M)  # first_response breached at 5 min
    history = await c.handle.fetch_history()
    upserts = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    fields = set().union(
        *(
            e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            for e in upserts
        )
    )
    assert {
        "ComplaintTier",
        "ComplaintState",
        "BreachedObligations",
        "BreachCount",
        "LastBreachAt",
        "NextDueAt",
        "HolderRole",
    } <= fields
    attrs = (await c.handle.describe()).typed_search_attributes
    assert attrs.get(sa.TIER) == "urgent" and attrs.get(sa.BREACHED) == ["first_response"]
    assert attrs.get(sa.BREACH_COUNT) == 1 and attrs.get(sa.HOLDER_ROLE) == "supervisor"
    assert attrs.get(sa.LAST_BREACH_AT) == c.at + 5 * M
    # The current details say where it stands in words — and never who the customer is (A §4.2).
    meta = await c.handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    details = meta.current_details
    assert (
        c.id in details
        and "urgent" in details
        and "Next deadline: supervisor_ack due 2026-03-02 09:15" in details
    )
    assert "Breaches: 1 (first_response)" in details
    for secret in (
        c.input.customer.name,
        c.input.customer.phone,
        c.input.customer.email,
        c.input.description,
    ):
        assert secret not in details
        assert all(secret not in str(v) for v in attrs)


async def test_peak_season_shortens_deadlines_opened_inside_it(desk: Desk):
    from datetime import date

    from domain.policy import PeakPeriod, preset

    policy = preset("standard").with_peak([PeakPeriod(start=date(2026, 3, 1), end=date(2026, 3, 7))])
    c = await desk.start(tier=Tier.URGENT, policy=policy)
    assert (await c.obligation(N.RESOLUTION)).due_at == c.at + 3 * H  # 4 h × 0.75


async def test_unshifted_clock_with_milliseconds_breaches_at_the_due_moment(desk: Desk):
    """Intake times carry milliseconds in production; the loop must still fire exactly at the due moment."""
    c = await desk.start(tier=Tier.URGENT, shift=False)
    await c.until(5 * M + timedelta(seconds=1))
    fr = await c.obligation(N.FIRST_RESPONSE)
    assert fr.status == S.BREACHED and fr.breached_at == fr.due_at
    assert (await c.view()).last_breach_at == fr.due_at
    history = await c.handle.fetch_history()
    assert not [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]


async def test_reclassified_urgent_out_of_hours_counts_from_intake_around_the_clock(desk: Desk):
    friday_night = datetime(2026, 3, 6, 20, 0, tzinfo=SH)
    c = await desk.start(tier=Tier.GENERAL, at=friday_night)
    await c.until(1 * H)  # 21:00: the business clocks have not even started
    await c.do(
        a.UPDATE_CLASSIFY,
        a.Classify(actor=SPECIALIST, tier=Tier.URGENT, complaint_type=ComplaintType.COMPLAINT),
    )
    view = await c.view()
    by_name = {o.name: o for o in view.obligations}
    assert by_name[N.RESOLUTION].due_at == friday_night + 4 * H
    # Urgent from the start means the 5-minute response and the 15-minute ack were missed long ago: one
    # lapse, one escalation.
    assert by_name[N.FIRST_RESPONSE].status == S.BREACHED and by_name[N.SUPERVISOR_ACK].status == S.BREACHED
    assert view.holder_role == Role.SUPERVISOR
