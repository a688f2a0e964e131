"""Complaints share equal policies and calendars (domain/sharing.py): one instance per document in a
worker's memory, never the caller's own object, and gone once no complaint holds it."""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, datetime

from domain.calendar import china_business_calendar_spec
from domain.case import CaseState, ComplaintOptions, new_case
from domain.models import Channel, ComplaintInput, Customer
from domain.policy import preset, scaled, standard

INPUT = ComplaintInput(
    complaint_id="C-SHARE-1",
    channel=Channel.API,
    customer=Customer(name="张三"),
    description="包裹延误",
    received_at=datetime(2026, 3, 2, 1, tzinfo=UTC),
    status_token="t" * 32,
)


def test_complaints_on_equal_policies_hold_one_instance_also_after_continue_as_new():
    a, b = new_case(INPUT, preset("standard")), new_case(INPUT, preset("standard"))
    assert a.policy is b.policy
    carried = CaseState.model_validate_json(a.model_dump_json())  # continue-as-new's input, decoded
    assert carried.policy is a.policy and carried == a


def test_different_policies_stay_apart():
    a, b = new_case(INPUT, standard()), new_case(INPUT, scaled(standard(), 0.5))
    assert a.policy is not b.policy and a.policy != b.policy


def test_the_kept_policy_is_not_the_callers_object():
    mine = standard()
    case = new_case(INPUT, mine)
    assert case.policy == mine and case.policy is not mine
    mine.rules.clear()  # the caller changing its own document later changes no complaint
    assert case.policy.rules


def test_options_share_the_policy_and_each_calendar():
    spec = china_business_calendar_spec()
    one = ComplaintOptions(policy=standard(), calendars={"business": spec})
    two = ComplaintOptions.model_validate_json(one.model_dump_json())
    assert two.policy is one.policy
    assert two.calendars["business"] is one.calendars["business"]


def test_a_policy_no_complaint_holds_is_let_go():
    case = new_case(INPUT, scaled(standard(), 0.123))
    kept = weakref.ref(case.policy)
    del case
    gc.collect()
    assert kept() is None
