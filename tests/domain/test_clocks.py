"""The obligation clock: open, warn, meet, breach, pause/resume, escalate, re-arm, waive, next wakeup."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain import clocks
from domain.clocks import Obligation, escalation_target, next_wakeup, open_clock
from domain.models import ComplaintType, Department, ObligationName, ObligationStatus, Role, Tier
from domain.policy import preset

SH = ZoneInfo("Asia/Shanghai")
N, S = ObligationName, ObligationStatus
STD = preset("standard")
MONDAY_9 = datetime(2026, 3, 2, 9, tzinfo=SH)


def clock(name: ObligationName, tier: Tier, at: datetime = MONDAY_9, **kw) -> Obligation:
    return open_clock(STD.rule(name, tier, ComplaintType.COMPLAINT), STD, tier, at, **kw)


def test_open_clock_warns_at_75_percent_of_the_window():
    ob = clock(N.RESOLUTION, Tier.URGENT)
    assert ob.status == S.OPEN and ob.due_at == MONDAY_9 + timedelta(hours=4)
    assert ob.warn_at == MONDAY_9 + timedelta(hours=3)


def test_warning_point_counts_business_time():
    ob = clock(N.RESOLUTION, Tier.GENERAL)  # 24 business hours → warning after 18: Monday 9 h + Tuesday 9 h
    assert ob.warn_at == datetime(2026, 3, 3, 18, tzinfo=SH)


def test_meeting_before_due_is_met_after_due_is_met_late():
    ob = clock(N.FIRST_RESPONSE, Tier.GENERAL)
    assert clocks.meet(ob, MONDAY_9 + timedelta(minutes=4), "a").status == S.MET
    assert clocks.meet(ob, MONDAY_9 + timedelta(minutes=6)).status == S.MET_LATE


def test_a_breached_obligation_can_still_be_met_late():
    ob = clocks.breach(clock(N.FIRST_RESPONSE, Tier.GENERAL), MONDAY_9 + timedelta(minutes=5))
    assert ob.status == S.BREACHED and ob.breached_at is not None
    met = clocks.meet(ob, MONDAY_9 + timedelta(minutes=9))
    assert met.status == S.MET_LATE and met.breached_at == ob.breached_at


def test_meeting_twice_changes_nothing():
    ob = clocks.meet(clock(N.FIRST_RESPONSE, Tier.GENERAL), MONDAY_9)
    assert clocks.meet(ob, MONDAY_9 + timedelta(hours=1)) == ob


def test_waive_keeps_a_breach_on_record():
    open_ob = clock(N.ASSIGNMENT, Tier.GENERAL)
    assert clocks.waive(open_ob, MONDAY_9).status == S.WAIVED
    breached = clocks.breach(open_ob, MONDAY_9 + timedelta(minutes=30))
    assert clocks.waive(breached, MONDAY_9 + timedelta(hours=1)).status == S.BREACHED


def test_warn_then_breach():
    ob = clocks.warn(clock(N.RESOLUTION, Tier.URGENT), MONDAY_9 + timedelta(hours=3))
    assert ob.status == S.WARNED
    assert clocks.breach(ob, MONDAY_9 + timedelta(hours=4)).status == S.BREACHED


def test_pause_and_resume_preserve_remaining_business_time():
    ob = clock(N.RESOLUTION, Tier.GENERAL)  # due Wednesday 15:00
    cal = STD.calendar(ob.calendar)
    paused = clocks.pause(ob, cal, datetime(2026, 3, 2, 15, tzinfo=SH))  # 6 h used, 18 h left
    assert paused.status == S.PAUSED and paused.remaining == timedelta(hours=18)
    resumed = clocks.resume(paused, cal, datetime(2026, 3, 5, 10, tzinfo=SH))  # Thursday 10:00
    # Thursday 10–18 (8 h) + Friday 9–18 (9 h) + Monday 9–10 (1 h)
    assert resumed.status == S.OPEN and resumed.due_at == datetime(2026, 3, 9, 10, tzinfo=SH)
    # 12 h to the warning point were left: Thursday 10–18 (8 h) + Friday 9–13 (4 h)
    assert resumed.warn_at == datetime(2026, 3, 6, 13, tzinfo=SH)


def test_pause_after_the_warning_resumes_warned():
    ob = clocks.warn(clock(N.RESOLUTION, Tier.URGENT), MONDAY_9 + timedelta(hours=3))
    cal = STD.calendar(ob.calendar)
    resumed = clocks.resume(
        clocks.pause(ob, cal, MONDAY_9 + timedelta(hours=3, minutes=30)), cal, MONDAY_9 + timedelta(hours=10)
    )
    assert resumed.status == S.WARNED and resumed.due_at == MONDAY_9 + timedelta(hours=10, minutes=30)


def test_clocks_that_do_not_pause_keep_running_while_waiting():
    ob = clock(N.FIRST_RESPONSE, Tier.URGENT)
    assert clocks.pause(ob, STD.calendar(ob.calendar), MONDAY_9) == ob


def test_paused_obligation_never_wakes_the_workflow():
    ob = clock(N.RESOLUTION, Tier.URGENT)
    paused = clocks.pause(ob, STD.calendar(ob.calendar), MONDAY_9 + timedelta(minutes=1))
    assert next_wakeup([paused]) is None


def test_breach_escalates_one_level_up_the_ladder():
    assert escalation_target(Role.SPECIALIST) == Role.SUPERVISOR
    assert escalation_target(Role.SUPERVISOR) == Role.SENIOR_SUPERVISOR
    assert escalation_target(Role.SENIOR_SUPERVISOR) == Role.SENIOR_SUPERVISOR  # the top stays the top


def test_missing_department_report_escalates_to_that_departments_head():
    rule = STD.department_report_rule()
    ob = open_clock(rule, STD, Tier.GENERAL, MONDAY_9, department=Department.WAREHOUSE)
    assert ob.key == "department_report:warehouse"
    assert escalation_target(Role.SPECIALIST, ob) == Role.DEPARTMENT_HEAD


def test_periodic_obligation_rearms_from_the_moment_it_was_met():
    ob = clock(N.CUSTOMER_UPDATE, Tier.URGENT)
    rule = STD.rule(N.CUSTOMER_UPDATE, Tier.URGENT, ComplaintType.COMPLAINT)
    posted = MONDAY_9 + timedelta(minutes=20)
    done, nxt = clocks.rearm(ob, rule, STD, Tier.URGENT, posted, "agent")
    assert (done.occurrence, done.status, done.met_by) == (1, S.MET, "agent")
    assert nxt.occurrence == 2 and nxt.status == S.OPEN
    assert nxt.due_at == posted + timedelta(minutes=30)
    assert nxt.warn_at is None  # periodic reports are produced, not warned about


def test_next_wakeup_is_the_earliest_warn_or_due_of_running_obligations():
    fr = clock(N.FIRST_RESPONSE, Tier.URGENT)  # warn 09:03:45, due 09:05
    res = clock(N.RESOLUTION, Tier.URGENT)
    w = next_wakeup({fr.key: fr, res.key: res})
    assert (w.key, w.kind, w.at) == ("first_response", "warn", MONDAY_9 + timedelta(minutes=3, seconds=45))
    warned = clocks.warn(fr, w.at)
    w2 = next_wakeup([warned, res])
    assert (w2.key, w2.kind) == ("first_response", "due")
    met = clocks.meet(warned, w.at)
    assert next_wakeup([met, res]).key == "resolution"
    assert next_wakeup([met]) is None


def test_external_obligations_are_clocked_elsewhere():
    rule = STD.department_report_rule()
    ob = open_clock(rule, STD, Tier.URGENT, MONDAY_9, department=Department.TRANSPORT, external=True)
    assert next_wakeup([ob]) is None


def test_replan_moves_due_point_from_the_same_start():
    ob = clock(N.RESOLUTION, Tier.GENERAL, MONDAY_9)
    urgent_rule = STD.rule(N.RESOLUTION, Tier.URGENT, ComplaintType.COMPLAINT)
    re = clocks.replan(ob, urgent_rule, STD, Tier.URGENT)
    assert re.due_at == MONDAY_9 + timedelta(hours=4) and re.calendar == "24x7"


def test_replan_to_around_the_clock_counts_from_the_event_not_the_business_start():
    friday_night = datetime(2026, 3, 6, 20, tzinfo=SH)
    ob = clock(N.RESOLUTION, Tier.GENERAL, friday_night)
    assert ob.started_at == datetime(2026, 3, 9, 9, tzinfo=SH)
    urgent_rule = STD.rule(N.RESOLUTION, Tier.URGENT, ComplaintType.COMPLAINT)
    assert clocks.replan(ob, urgent_rule, STD, Tier.URGENT, friday_night).due_at == friday_night + timedelta(
        hours=4
    )


def test_replan_keeps_a_warning_already_given():
    ob = clocks.warn(clock(N.RESOLUTION, Tier.GENERAL, MONDAY_9), MONDAY_9 + timedelta(hours=20))
    urgent_rule = STD.rule(N.RESOLUTION, Tier.URGENT, ComplaintType.COMPLAINT)
    assert clocks.replan(ob, urgent_rule, STD, Tier.URGENT).status == S.WARNED


def test_peak_factor_is_applied_when_the_clock_starts_in_peak_season():
    from datetime import date

    from domain.policy import PeakPeriod

    policy = preset("standard").with_peak([PeakPeriod(start=date(2026, 3, 1), end=date(2026, 3, 3))])
    ob = open_clock(
        policy.rule(N.RESOLUTION, Tier.URGENT, ComplaintType.COMPLAINT), policy, Tier.URGENT, MONDAY_9
    )
    assert ob.window == timedelta(hours=3) and ob.due_at == MONDAY_9 + timedelta(hours=3)


def test_obligation_survives_json_round_trip():
    ob = clocks.pause(
        clock(N.RESOLUTION, Tier.GENERAL), STD.calendar("business"), MONDAY_9 + timedelta(hours=1)
    )
    assert Obligation.model_validate_json(ob.model_dump_json()) == ob
