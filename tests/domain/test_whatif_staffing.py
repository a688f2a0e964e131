"""The what-if's staffing model (docs/what-if.md): staff waits shrink, customers' waits do not."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.events import EventKind as E
from domain.models import Actor, Category, ComplaintType, Role, Tier
from domain.replay import Action, Intake
from domain.whatif import Recorded, Staffing, people_per_shift, percent, staffed

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=SH)
A, B = Actor(id="a", role=Role.SPECIALIST), Actor(id="b", role=Role.SUPERVISOR)
CUSTOMER = Actor(id="customer", role=Role.CUSTOMER)


def _record(actions: list[Action]) -> Recorded:
    intake = Intake("C-1", T0, Tier.GENERAL, ComplaintType.COMPLAINT, Category.OTHER)
    return Recorded(intake, "standard", "", actions)


def test_faster_staff_wait_that_share_less_and_the_customer_waits_as_long_as_recorded() -> None:
    r = _record(
        [
            Action(T0 + timedelta(minutes=10), E.ACKNOWLEDGED, A),
            Action(T0 + timedelta(minutes=30), E.RESOLVED, A),
            Action(T0 + timedelta(minutes=90), E.RATED, CUSTOMER, {"score": 5}),
        ]
    )
    got = [a.at - T0 for a in staffed(r, Staffing(faster=percent("20%")), {})]
    assert got == [timedelta(minutes=8), timedelta(minutes=24), timedelta(minutes=84)]


def test_extra_staff_shrink_a_shifts_waits_by_people_on_it_over_people_after() -> None:
    other = _record([Action(T0 + timedelta(minutes=5), E.ACKNOWLEDGED, B)])
    r = _record([Action(T0 + timedelta(minutes=40), E.ACKNOWLEDGED, A)])
    people = people_per_shift([r, other])
    assert people == {(T0.date(), 1): 2}  # 08:00-16:00: a and b
    (a,) = staffed(r, Staffing(extra_staff=2), people)
    assert a.at - T0 == timedelta(minutes=20)  # 40 min × 2 / (2 + 2)
    assert staffed(r, Staffing(), people) is r.actions  # as recorded: untouched
