"""Business-calendar math: working hours, nights, weekends, statutory holidays, make-up working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import (
    AroundTheClock,
    BusinessCalendar,
    CalendarSpec,
    Hours,
)

SH = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar()


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def test_default_calendar_is_mon_to_fri_nine_to_six_in_shanghai():
    assert CAL.spec.timezone == "Asia/Shanghai"
    assert CAL.is_business_time(sh(2026, 3, 2, 9))  # Monday
    assert CAL.is_business_time(sh(2026, 3, 6, 17, 59))  # Friday
    assert not CAL.is_business_time(sh(2026, 3, 6, 18))
    assert not CAL.is_business_time(sh(2026, 3, 7, 10))  # Saturday
    assert not CAL.is_business_time(sh(2026, 3, 2, 8, 59))


def _days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}


# The State Council's 2026 schedule (国务院办公厅关于2026年部分节假日安排的通知, 2025-11-04), as the code
# had it typed in before the data came from the library: recorded complaints replay on exactly these days.
OFFICIAL_2026_OFF = (
    _days(date(2026, 1, 1), date(2026, 1, 3))
    | _days(date(2026, 2, 15), date(2026, 2, 23))
    | _days(date(2026, 4, 4), date(2026, 4, 6))
    | _days(date(2026, 5, 1), date(2026, 5, 5))
    | _days(date(2026, 6, 19), date(2026, 6, 21))
    | _days(date(2026, 9, 25), date(2026, 9, 27))
    | _days(date(2026, 10, 1), date(2026, 10, 7))
)
OFFICIAL_2026_WORKED = {date(2026, m, d) for m, d in ((1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10))}


def test_official_2026_holidays_and_makeup_days_are_included():
    # Spring Festival: 15–23 February off, 14 and 28 February (Saturdays) worked.
    for day in _days(date(2026, 1, 1), date(2026, 12, 31)):
        working = bool(CAL.hours_on(day))
        expected = day in OFFICIAL_2026_WORKED or (day.isoweekday() <= 5 and day not in OFFICIAL_2026_OFF)
        assert working == expected, day
    assert CAL.is_business_time(sh(2026, 10, 8, 10))  # 8 October is an ordinary Thursday
    assert not CAL.is_business_time(sh(2026, 10, 5, 10))  # National Day week


def test_makeup_working_saturday_counts_as_business_time():
    assert CAL.is_business_time(sh(2026, 2, 14, 10))
    assert CAL.add(sh(2026, 2, 14, 10), timedelta(minutes=5)) == sh(2026, 2, 14, 10, 5)


def test_add_within_a_working_day():
    assert CAL.add(sh(2026, 3, 2, 9), timedelta(minutes=30)) == sh(2026, 3, 2, 9, 30)


def test_add_carries_over_the_night():
    assert CAL.add(sh(2026, 3, 2, 17), timedelta(hours=2)) == sh(2026, 3, 3, 10)


def test_add_skips_the_weekend():
    assert CAL.add(sh(2026, 3, 6, 17, 58), timedelta(minutes=5)) == sh(2026, 3, 9, 9, 3)


def test_add_skips_the_spring_festival():
    # Filed on Friday 13 February at 17:00: 2 h of working time → 1 h on Friday, 1 h on the make-up Saturday.
    assert CAL.add(sh(2026, 2, 13, 17), timedelta(hours=2)) == sh(2026, 2, 14, 10)
    # Filed during the holiday: the clock starts on Tuesday 24 February at 09:00.
    assert CAL.next_business_moment(sh(2026, 2, 18, 11)) == sh(2026, 2, 24, 9)
    assert CAL.add(sh(2026, 2, 18, 11), timedelta(minutes=5)) == sh(2026, 2, 24, 9, 5)


def test_twenty_four_business_hours_span_almost_three_working_days():
    assert CAL.add(sh(2026, 3, 2, 9), timedelta(hours=24)) == sh(2026, 3, 4, 15)


def test_add_lands_on_the_end_of_the_day_not_the_next_morning():
    assert CAL.add(sh(2026, 3, 2, 9), timedelta(hours=9)) == sh(2026, 3, 2, 18)


def test_next_business_moment_of_working_time_is_itself():
    t = sh(2026, 3, 3, 11, 17)
    assert CAL.next_business_moment(t) == t


def test_next_business_moment_at_night_is_next_morning():
    assert CAL.next_business_moment(sh(2026, 3, 3, 20)) == sh(2026, 3, 4, 9)


def test_between_counts_only_working_time():
    assert CAL.between(sh(2026, 3, 6, 17), sh(2026, 3, 9, 10)) == timedelta(hours=2)
    assert CAL.between(sh(2026, 3, 9, 10), sh(2026, 3, 6, 17)) == timedelta(0)


def test_calendar_accepts_utc_inputs():
    start = sh(2026, 3, 2, 17).astimezone(UTC)
    assert CAL.add(start, timedelta(hours=2)) == sh(2026, 3, 3, 10)


def test_custom_hours_with_a_lunch_break():
    spec = CalendarSpec(
        weekly_hours={
            d: [Hours(start=time(9), end=time(12)), Hours(start=time(13), end=time(18))] for d in range(1, 6)
        }
    )
    cal = BusinessCalendar(spec)
    assert cal.add(sh(2026, 3, 2, 11), timedelta(hours=2)) == sh(2026, 3, 2, 14)
    assert not cal.is_business_time(sh(2026, 3, 2, 12, 30))


def test_calendar_without_working_hours_is_refused():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="working hours"):
        CalendarSpec(weekly_hours={})
    with pytest.raises(ValidationError, match="unknown time zone"):
        CalendarSpec(timezone="Mars/Olympus")


def test_around_the_clock_counts_every_minute():
    cal = AroundTheClock()
    t = sh(2026, 2, 16, 3)  # a holiday night
    assert cal.add(t, timedelta(hours=4)) == sh(2026, 2, 16, 7)
    assert cal.between(t, sh(2026, 2, 17, 3)) == timedelta(hours=24)
    assert cal.next_business_moment(t) == t


# -- properties -------------------------------------------------------------------------------------------
moments = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2026, 12, 31), timezones=st.just(SH)
)
durations = st.integers(min_value=0, max_value=60 * 24 * 10).map(lambda m: timedelta(minutes=m))


@settings(max_examples=300, deadline=None)
@given(moments, durations)
def test_property_between_undoes_add(start, d):
    assert CAL.between(start, CAL.add(start, d)) == d


@settings(max_examples=300, deadline=None)
@given(moments, durations, durations)
def test_property_add_is_additive(start, d1, d2):
    assert CAL.add(CAL.add(start, d1), d2) == CAL.add(start, d1 + d2)


@settings(max_examples=300, deadline=None)
@given(moments, moments, moments)
def test_property_between_splits_at_any_moment(a, b, c):
    a, b, c = sorted([a, b, c])
    assert CAL.between(a, b) + CAL.between(b, c) == CAL.between(a, c)


@settings(max_examples=300, deadline=None)
@given(moments)
def test_property_next_business_moment_is_working_time_and_nothing_is_skipped(t):
    n = CAL.next_business_moment(t)
    assert n >= t and CAL.is_business_time(n)
    assert CAL.between(t, n) == timedelta(0)
    day = n.astimezone(SH).date()
    assert day not in OFFICIAL_2026_OFF or day in OFFICIAL_2026_WORKED


@settings(max_examples=200, deadline=None)
@given(moments, durations, durations)
def test_property_pausing_keeps_the_remaining_working_time(start, used, wait):
    """Pause after `used` of a 24 h window, wait `wait` (wall time), resume: what is left is unchanged."""
    window = timedelta(hours=24)
    used = min(used, window)
    due = CAL.add(start, window)
    paused_at = CAL.add(start, used)
    remaining = CAL.between(paused_at, due)
    resumed_at = paused_at + wait
    new_due = CAL.add(CAL.next_business_moment(resumed_at), remaining)
    assert CAL.between(CAL.next_business_moment(resumed_at), new_due) == window - used
