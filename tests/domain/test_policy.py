"""Every row of docs/rules.md as data: one test per rule, named for the rule, for the three presets.

Each test opens the rule's clock the way the workflow does (`open_clock`) and checks where it falls due.
Monday 2 March 2026 09:00 Shanghai is an ordinary working morning.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from domain.clocks import open_clock
from domain.models import Category, ComplaintType, Department, ObligationName, Role, Tier
from domain.policy import (
    PRESETS,
    Anchor,
    PeakPeriod,
    Policy,
    load_policy,
    parse_duration,
    preset,
    scaled,
)

SH = ZoneInfo("Asia/Shanghai")
N = ObligationName
MONDAY_9 = datetime(2026, 3, 2, 9, tzinfo=SH)
FRIDAY_22 = datetime(2026, 3, 6, 22, tzinfo=SH)


def names(policy: Policy, tier: Tier, ct: ComplaintType = ComplaintType.COMPLAINT) -> set[ObligationName]:
    return {r.name for r in policy.rules_for(tier, ct)}


def due(
    policy: Policy,
    tier: Tier,
    name: ObligationName,
    at: datetime,
    ct: ComplaintType = ComplaintType.COMPLAINT,
) -> datetime:
    rule = policy.rule(name, tier, ct)
    assert rule is not None, f"{policy.name}: no {name} rule for {tier} {ct}"
    return open_clock(rule, policy, tier, at).due_at


STD = preset("standard")
AS = preset("after-sales")
LOG = preset("logistics")


# -- standard: the table "The default policy" ------------------------------------------------------------
@pytest.mark.parametrize("tier", list(Tier))
def test_standard_first_response_due_5_min_after_intake_for_every_tier(tier):
    assert due(STD, tier, N.FIRST_RESPONSE, MONDAY_9) == MONDAY_9 + timedelta(minutes=5)


def test_standard_general_consultation_direct_answer_due_10_min():
    assert due(
        STD, Tier.GENERAL, N.DIRECT_ANSWER, MONDAY_9, ComplaintType.CONSULTATION
    ) == MONDAY_9 + timedelta(minutes=10)


def test_standard_direct_answer_only_for_general_consultations():
    assert N.DIRECT_ANSWER not in names(STD, Tier.GENERAL, ComplaintType.COMPLAINT)
    assert N.DIRECT_ANSWER not in names(STD, Tier.IMPORTANT, ComplaintType.CONSULTATION)


def test_standard_general_assignment_due_30_min_after_intake():
    assert due(STD, Tier.GENERAL, N.ASSIGNMENT, MONDAY_9) == MONDAY_9 + timedelta(minutes=30)


def test_standard_general_preliminary_plan_due_2h_after_assignment():
    rule = STD.rule(N.PRELIMINARY_PLAN, Tier.GENERAL, ComplaintType.COMPLAINT)
    assert rule.anchor == Anchor.ASSIGNMENT
    assigned = MONDAY_9 + timedelta(minutes=20)
    assert due(STD, Tier.GENERAL, N.PRELIMINARY_PLAN, assigned) == assigned + timedelta(hours=2)


def test_standard_general_resolution_due_24_business_hours_after_intake():
    # 9 h Monday + 9 h Tuesday + 6 h Wednesday
    assert due(STD, Tier.GENERAL, N.RESOLUTION, MONDAY_9) == datetime(2026, 3, 4, 15, tzinfo=SH)


def test_standard_important_supervisor_ack_due_15_min():
    assert due(STD, Tier.IMPORTANT, N.SUPERVISOR_ACK, MONDAY_9) == MONDAY_9 + timedelta(minutes=15)


def test_standard_important_supervisor_alerted_at_intake():
    assert Role.SUPERVISOR in STD.alert_at_intake[Tier.IMPORTANT]


def test_standard_important_handling_start_due_4h_after_intake():
    assert due(STD, Tier.IMPORTANT, N.HANDLING_START, MONDAY_9) == MONDAY_9 + timedelta(hours=4)


def test_standard_important_progress_report_every_2h_while_handled():
    rule = STD.rule(N.PROGRESS_REPORT, Tier.IMPORTANT, ComplaintType.COMPLAINT)
    assert rule.periodic and rule.anchor == Anchor.HANDLING_STARTED and rule.until == Anchor.WORK_DONE
    assert due(STD, Tier.IMPORTANT, N.PROGRESS_REPORT, MONDAY_9) == MONDAY_9 + timedelta(hours=2)


def test_standard_important_result_feedback_due_24h_after_work_done():
    rule = STD.rule(N.RESULT_FEEDBACK, Tier.IMPORTANT, ComplaintType.COMPLAINT)
    assert rule.anchor == Anchor.WORK_DONE and rule.window == timedelta(hours=24)


def test_standard_important_resolution_due_24_business_hours_after_intake():
    assert due(STD, Tier.IMPORTANT, N.RESOLUTION, MONDAY_9) == datetime(2026, 3, 4, 15, tzinfo=SH)


def test_standard_urgent_supervisor_and_department_heads_alerted_at_intake():
    assert {Role.SUPERVISOR, Role.DEPARTMENT_HEAD} <= set(STD.alert_at_intake[Tier.URGENT])


def test_standard_urgent_supervisor_ack_due_15_min_around_the_clock():
    assert due(STD, Tier.URGENT, N.SUPERVISOR_ACK, FRIDAY_22) == FRIDAY_22 + timedelta(minutes=15)


def test_standard_urgent_preliminary_plan_due_2h_after_intake():
    assert due(STD, Tier.URGENT, N.PRELIMINARY_PLAN, FRIDAY_22) == FRIDAY_22 + timedelta(hours=2)


def test_standard_urgent_customer_update_every_30_min_while_open():
    rule = STD.rule(N.CUSTOMER_UPDATE, Tier.URGENT, ComplaintType.COMPLAINT)
    assert rule.periodic and rule.until == Anchor.RESOLVED
    assert due(STD, Tier.URGENT, N.CUSTOMER_UPDATE, FRIDAY_22) == FRIDAY_22 + timedelta(minutes=30)


def test_urgent_resolution_due_4h_after_intake_around_the_clock():
    assert due(STD, Tier.URGENT, N.RESOLUTION, FRIDAY_22) == datetime(2026, 3, 7, 2, tzinfo=SH)


def test_standard_general_clocks_of_an_out_of_hours_complaint_start_next_business_moment():
    assert due(STD, Tier.GENERAL, N.FIRST_RESPONSE, FRIDAY_22) == datetime(2026, 3, 9, 9, 5, tzinfo=SH)


def test_standard_general_clock_during_spring_festival_starts_after_the_holiday():
    filed = datetime(2026, 2, 17, 10, tzinfo=SH)  # 正月初一
    assert due(STD, Tier.GENERAL, N.FIRST_RESPONSE, filed) == datetime(2026, 2, 24, 9, 5, tzinfo=SH)


def test_standard_rating_window_is_72h_around_the_clock_and_satisfied_from_4():
    rule = STD.rating_rule()
    assert rule.window == timedelta(hours=72) and STD.calendar_name(rule, Tier.GENERAL) == "24x7"
    assert due(STD, Tier.GENERAL, N.RATING, FRIDAY_22) == FRIDAY_22 + timedelta(hours=72)
    assert STD.satisfied_score == 4


def test_standard_department_report_due_4h_after_assignment_on_the_complaints_calendar():
    assert due(STD, Tier.GENERAL, N.DEPARTMENT_REPORT, datetime(2026, 3, 2, 16, tzinfo=SH)) == datetime(
        2026, 3, 3, 11, tzinfo=SH
    )
    assert due(STD, Tier.URGENT, N.DEPARTMENT_REPORT, FRIDAY_22) == FRIDAY_22 + timedelta(hours=4)


def test_standard_lost_goods_opens_joint_investigation_of_warehouse_transport_delivery():
    assert STD.joint_investigation[Category.LOST] == [
        Department.WAREHOUSE,
        Department.TRANSPORT,
        Department.DELIVERY,
    ]


def test_standard_warnings_at_75_percent_of_the_window():
    rule = STD.rule(N.RESOLUTION, Tier.URGENT, ComplaintType.COMPLAINT)
    ob = open_clock(rule, STD, Tier.URGENT, FRIDAY_22)
    assert ob.warn_at == FRIDAY_22 + timedelta(hours=3)


def test_standard_waiting_on_customer_pauses_resolution_clocks():
    for tier in Tier:
        assert STD.rule(N.RESOLUTION, tier, ComplaintType.COMPLAINT).pauses_when_waiting
    assert not STD.rule(N.FIRST_RESPONSE, Tier.URGENT, ComplaintType.COMPLAINT).pauses_when_waiting


def test_standard_has_exactly_the_rules_of_the_default_policy_table():
    assert names(STD, Tier.GENERAL, ComplaintType.CONSULTATION) == {
        N.FIRST_RESPONSE,
        N.DIRECT_ANSWER,
        N.ASSIGNMENT,
        N.PRELIMINARY_PLAN,
        N.RESOLUTION,
    }
    assert names(STD, Tier.IMPORTANT) == {
        N.FIRST_RESPONSE,
        N.SUPERVISOR_ACK,
        N.HANDLING_START,
        N.PROGRESS_REPORT,
        N.RESULT_FEEDBACK,
        N.RESOLUTION,
    }
    assert names(STD, Tier.URGENT) == {
        N.FIRST_RESPONSE,
        N.SUPERVISOR_ACK,
        N.PRELIMINARY_PLAN,
        N.CUSTOMER_UPDATE,
        N.RESOLUTION,
    }


# -- after-sales: rulebook A alone -------------------------------------------------------------------------
def test_after_sales_first_response_due_5_min():
    assert due(AS, Tier.GENERAL, N.FIRST_RESPONSE, MONDAY_9) == MONDAY_9 + timedelta(minutes=5)


def test_after_sales_general_handling_complete_24h_after_assignment():
    rule = AS.rule(N.RESOLUTION, Tier.GENERAL, ComplaintType.COMPLAINT)
    assert rule.anchor == Anchor.ASSIGNMENT and rule.window == timedelta(hours=24)


def test_after_sales_important_has_no_overall_resolution_deadline_but_result_feedback_24h():
    assert N.RESOLUTION not in names(AS, Tier.IMPORTANT)
    assert {N.SUPERVISOR_ACK, N.HANDLING_START, N.PROGRESS_REPORT, N.RESULT_FEEDBACK} <= names(
        AS, Tier.IMPORTANT
    )


def test_after_sales_urgent_customer_update_every_30_min_and_resolved_in_4h():
    assert due(AS, Tier.URGENT, N.CUSTOMER_UPDATE, FRIDAY_22) == FRIDAY_22 + timedelta(minutes=30)
    assert due(AS, Tier.URGENT, N.RESOLUTION, FRIDAY_22) == FRIDAY_22 + timedelta(hours=4)
    assert N.PRELIMINARY_PLAN not in names(AS, Tier.URGENT)


# -- logistics: rulebook B alone -----------------------------------------------------------------------------
def test_logistics_urgent_response_starts_within_1h():
    assert due(LOG, Tier.URGENT, N.FIRST_RESPONSE, FRIDAY_22) == FRIDAY_22 + timedelta(hours=1)


def test_logistics_urgent_preliminary_plan_within_2h():
    assert due(LOG, Tier.URGENT, N.PRELIMINARY_PLAN, FRIDAY_22) == FRIDAY_22 + timedelta(hours=2)


def test_logistics_important_solution_within_24h():
    assert STD.rule(N.RESOLUTION, Tier.IMPORTANT, ComplaintType.COMPLAINT).window == timedelta(hours=24)
    assert LOG.rule(N.RESOLUTION, Tier.IMPORTANT, ComplaintType.COMPLAINT).window == timedelta(hours=24)


def test_logistics_general_reply_within_48h():
    assert LOG.rule(N.RESOLUTION, Tier.GENERAL, ComplaintType.COMPLAINT).window == timedelta(hours=48)
    assert names(LOG, Tier.GENERAL) == {N.RESOLUTION}


def test_logistics_urgent_goes_green_channel_to_supervisor_and_heads():
    assert {Role.SUPERVISOR, Role.DEPARTMENT_HEAD} <= set(LOG.alert_at_intake[Tier.URGENT])


# -- peak season, scaling, loading -----------------------------------------------------------------------
def test_peak_season_factor_shortens_windows_opened_inside_a_peak_period():
    policy = preset("standard").with_peak([PeakPeriod(start=date(2026, 11, 1), end=date(2026, 11, 20))])
    inside = datetime(2026, 11, 11, 9, tzinfo=SH)  # a Wednesday
    outside = datetime(2026, 11, 25, 9, tzinfo=SH)
    assert due(policy, Tier.URGENT, N.RESOLUTION, inside) == inside + timedelta(hours=3)
    assert due(policy, Tier.URGENT, N.RESOLUTION, outside) == outside + timedelta(hours=4)


def test_scaled_policy_shrinks_minutes_to_seconds_around_the_clock():
    bench = scaled(STD, 1 / 60)
    assert due(bench, Tier.GENERAL, N.FIRST_RESPONSE, FRIDAY_22) == FRIDAY_22 + timedelta(seconds=5)
    assert bench.rating_window == timedelta(hours=72) / 60
    assert set(bench.tier_calendars.values()) == {"24x7"}
    assert preset("bench").name == "bench"


def test_presets_are_listed_and_cannot_be_changed_in_place():
    """Complaints share one instance of equal policies (domain/sharing.py): a change makes a new policy."""
    assert set(PRESETS) == {"standard", "after-sales", "logistics", "bench"}
    a = preset("standard")
    with pytest.raises(ValidationError):
        a.warn_ratio = 0.5
    assert a.model_copy(update={"warn_ratio": 0.5}).warn_ratio == 0.5
    assert preset("standard").warn_ratio == 0.75


def test_policy_survives_json_round_trip():
    p = preset("standard")
    assert Policy.model_validate_json(p.model_dump_json()) == p


def test_load_policy_from_yaml_with_short_durations(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(
        "extends: standard\nname: strict\nwarn_ratio: 0.5\ndepartment_report_window: 2h\nrating_window: 1d\n",
        encoding="utf-8",
    )
    p = load_policy(f)
    assert p.name == "strict" and p.warn_ratio == 0.5
    assert p.department_report_window == timedelta(hours=2) and p.rating_window == timedelta(days=1)
    assert len(p.rules) == len(STD.rules)


def test_load_policy_from_json(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps(preset("logistics").model_dump(mode="json")), encoding="utf-8")
    assert load_policy(str(f)) == preset("logistics")


def test_load_policy_refuses_unknown_names_and_bad_files(tmp_path):
    with pytest.raises(ValueError, match="neither a preset"):
        load_policy("nope")
    f = tmp_path / "bad.yaml"
    f.write_text("name: x\nrules:\n  - {name: resolution, tiers: [general], window: 1h, calendar: moon}\n")
    with pytest.raises(ValidationError, match="calendars not defined: moon"):
        load_policy(f)


def test_two_rules_for_the_same_obligation_and_tier_are_refused():
    with pytest.raises(ValidationError, match="two rules for resolution"):
        Policy(
            name="x",
            rules=[
                {"name": "resolution", "tiers": ["general"], "window": "1h"},
                {"name": "resolution", "tiers": ["general", "urgent"], "window": "2h"},
            ],
        )


@pytest.mark.parametrize(
    "text,expected",
    [
        ("90s", timedelta(seconds=90)),
        ("20m", timedelta(minutes=20)),
        ("1d2h", timedelta(days=1, hours=2)),
        ("1h30m", timedelta(minutes=90)),
    ],
)
def test_short_durations(text, expected):
    assert parse_duration(text) == expected
