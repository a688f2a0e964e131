"""The default calendars' days come from the holiday library: property tests over 2004–2027 against the
library's own answers (and `chinesecalendar`, an independent source, for 2004–2026), the years not yet
announced, and admins' edits over them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import BusinessCalendar, CalendarSpec, unconfirmed_schedules
from domain.calendar_edits import (
    CalendarEdits,
    CalendarFileError,
    DayEdit,
    OpenClock,
    YearConfirmed,
    moved_deadlines,
    parse_calendar_file,
    parse_ics,
    resolve_calendars,
    resolve_spec,
)
from domain.models import ComplaintType, ObligationName, ObligationStatus, Tier
from domain.policy import Policy, load_policy, preset
from domain.public_holidays import last_confirmed_year, official_year

SH = ZoneInfo("Asia/Shanghai")
CN = holidays.China(years=range(2004, 2028))
HK = holidays.HongKong(years=range(2004, 2028), categories=("public", "optional"))
days_2004_2027 = st.dates(min_value=date(2004, 1, 1), max_value=date(2027, 12, 31))
# The one day the two sources disagree on: the 2006 New Year notice made Saturday 31 Dec 2005 a working day
# (国办发明电〔2005〕40号); `holidays` has it, chinesecalendar does not.
DISAGREE = {date(2005, 12, 31)}


@settings(max_examples=600, deadline=None)
@given(days_2004_2027)
def test_property_the_default_calendar_works_exactly_when_the_library_says_it_is_a_working_day(day):
    cal = BusinessCalendar(preset("standard").calendars["business"])
    assert bool(cal.hours_on(day)) == CN.is_working_day(day)


@settings(max_examples=600, deadline=None)
@given(st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31)))
def test_property_announced_years_agree_with_chinesecalendar(day):
    cal = BusinessCalendar(preset("standard").calendars["business"])
    if day not in DISAGREE:
        assert bool(cal.hours_on(day)) == chinese_calendar.is_workday(day)


@settings(max_examples=300, deadline=None)
@given(days_2004_2027)
def test_property_resolved_days_are_the_library_days(day):
    """Resolving a calendar into explicit dates (what intake hands a complaint) changes no day."""
    spec = preset("standard").calendars["business"]
    resolved = resolve_spec("business", spec, range(day.year, day.year + 1), CalendarEdits())
    assert day.year in resolved.resolved_years
    assert BusinessCalendar(resolved).hours_on(day) == BusinessCalendar(spec).hours_on(day)


@settings(max_examples=300, deadline=None)
@given(days_2004_2027)
def test_property_hong_kong_offices_close_on_every_general_holiday_and_weekend(day):
    cal = BusinessCalendar(preset("standard").calendars["hong_kong"])
    assert bool(cal.hours_on(day)) == (day.isoweekday() <= 5 and day not in HK)


@settings(max_examples=300, deadline=None)
@given(days_2004_2027)
def test_property_the_warehouse_works_saturdays_but_not_on_holidays(day):
    cal = BusinessCalendar(preset("standard").calendars["warehouse"])
    expected = CN.is_working_day(day) or (day.isoweekday() == 6 and day not in CN)
    assert bool(cal.hours_on(day)) == expected


def test_every_announced_year_from_2004_to_2026_is_confirmed():
    # The years chinesecalendar, an independent source, also has announced schedules for.
    assert all(official_year("CN", y).confirmed for y in range(2004, 2027))
    assert last_confirmed_year("CN") >= 2026
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))  # nothing announced there either
    # Hong Kong's days follow from its ordinance: no announcement to wait for.
    assert official_year("HK", 2027).confirmed


@pytest.mark.skipif(official_year("CN", 2027).confirmed, reason="the library now carries 2027")
def test_2027_is_known_by_rule_only_statutory_days_and_no_make_up_days():
    year = official_year("CN", 2027)
    assert not year.confirmed and year.makeup_workdays == ()
    assert {date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 8), date(2027, 10, 1)} <= set(year.holidays)


def test_an_unconfirmed_year_keeps_its_statutory_holidays_by_rule():
    cal = BusinessCalendar(preset("standard").calendars["business"])
    for day in (date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 8), date(2027, 10, 1)):
        assert cal.hours_on(day) == [], day  # 元旦, 除夕, 初三, 国庆


@pytest.mark.skipif(official_year("CN", 2027).confirmed, reason="the library now carries 2027")
def test_the_2027_warning_names_the_year_and_its_days_in_both_languages():
    gaps = unconfirmed_schedules(preset("standard").calendars, [2026, 2027])
    assert [(g.region, g.year) for g in gaps] == [("CN", 2027)]
    gap = gaps[0]
    assert set(gap.calendars) == {"business", "warehouse"}
    assert gap.message() == (
        "2027 holiday schedule not yet confirmed — deadlines on 2027-01-01, 2027-02-05 – 02-10, "
        "2027-04-05, 2027-05-01 – 05-04, 2027-06-09, 2027-09-15, 2027-10-01 – 10-05 may be wrong"
    )
    assert gap.message("zh-CN").startswith("2027 节假日安排尚未确认 — 2027-01-01、2027-02-05 至 02-10")
    assert gap.message("zh-CN").endswith("的期限可能有误")
    sh = lambda *a: datetime(*a, tzinfo=SH)  # noqa: E731
    assert gap.touches(sh(2027, 1, 27, 9), sh(2027, 1, 29, 18))  # within a week of 除夕
    assert not gap.touches(sh(2027, 3, 1, 9), sh(2027, 3, 3, 18))


def test_an_admin_confirming_the_year_stops_the_warning_and_their_days_win():
    edits = CalendarEdits(
        days=[
            DayEdit(day=date(2027, 2, 11), kind="holiday"),
            DayEdit(day=date(2027, 2, 20), kind="workday"),
            DayEdit(day=date(2027, 2, 10), kind="ordinary"),  # taken back from the library's rule
            DayEdit(calendar="warehouse", day=date(2027, 6, 1), kind="holiday", note="盘点"),
        ],
        confirmed=[YearConfirmed(year=2027)],
    )
    specs = resolve_calendars(preset("standard"), datetime(2027, 1, 5, tzinfo=SH), edits)
    assert unconfirmed_schedules(specs, [2027]) == []
    office, warehouse = BusinessCalendar(specs["business"]), BusinessCalendar(specs["warehouse"])
    assert office.hours_on(date(2027, 2, 11)) == [] and office.hours_on(date(2027, 2, 10)) != []
    assert office.hours_on(date(2027, 2, 20)) != []  # a make-up Saturday
    assert office.hours_on(date(2027, 6, 1)) != [] and warehouse.hours_on(date(2027, 6, 1)) == []
    assert specs["hong_kong"].holidays_from == "HK" and date(2027, 2, 11) not in specs["hong_kong"].holidays


def test_the_calendar_file_reads_every_kind_and_names_a_bad_entry():
    edits = parse_calendar_file(
        "holidays:\n  - {day: 2027-02-11, note: 春节}\n  - {calendar: warehouse, day: 2027-06-01}\n"
        "workdays:\n  - {day: 2027-02-20}\nordinary:\n  - {day: 2027-02-10}\nconfirmed:\n  - {year: 2027}\n"
    )
    assert [(e.calendar, e.day.isoformat(), e.kind) for e in edits.days] == [
        ("CN", "2027-02-10", "ordinary"),
        ("CN", "2027-02-11", "holiday"),
        ("CN", "2027-02-20", "workday"),
        ("warehouse", "2027-06-01", "holiday"),
    ]
    assert edits.confirmed == [YearConfirmed(year=2027)]
    with pytest.raises(CalendarFileError, match=r"holidays\[0\]: day: "):
        parse_calendar_file("holidays:\n  - {day: 2027-02-30}\n")
    with pytest.raises(CalendarFileError, match="unknown keys"):
        parse_calendar_file("holiday: []\n")


ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//example//holidays//ZH\r
BEGIN:VEVENT\r
UID:1@example\r
DTSTART;VALUE=DATE:20270205\r
DTEND;VALUE=DATE:20270214\r
SUMMARY:\xe6\x98\xa5\xe8\x8a\x82\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:2@example\r
DTSTART;VALUE=DATE:20270220\r
SUMMARY:\xe6\x98\xa5\xe8\x8a\x82\xe8\xa1\xa5\xe7\x8f\xad\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_an_ical_feed_becomes_one_edit_per_day_and_make_up_days_are_recognised():
    edits = parse_ics(ICS, source="ics:feed.ics")
    assert [e.day for e in edits if e.kind == "holiday"] == [date(2027, 2, d) for d in range(5, 14)]
    assert [(e.day, e.note) for e in edits if e.kind == "workday"] == [(date(2027, 2, 20), "春节补班")]
    with pytest.raises(CalendarFileError):
        parse_ics(b"not a calendar")


def test_the_preview_lists_the_deadlines_a_change_moves():
    now = datetime(2027, 2, 4, 17, 5, tzinfo=SH)
    clock = OpenClock(
        complaint_id="C-1",
        workflow_id="complaint-C-1",
        policy="standard",
        tier=Tier.GENERAL,
        complaint_type=ComplaintType.COMPLAINT,
        region=None,
        name=ObligationName.RESOLUTION,
        occurrence=1,
        status=ObligationStatus.OPEN,
        started_at=datetime(2027, 2, 4, 17, tzinfo=SH),
        due_at=datetime(2027, 2, 15, 14, tzinfo=SH),
        warn_at=None,
    )
    later = clock.model_copy(update={"complaint_id": "C-2", "due_at": datetime(2027, 3, 1, 14, tzinfo=SH)})
    after = CalendarEdits(days=[DayEdit(day=date(2027, 2, 11), kind="holiday")])
    moved = moved_deadlines([clock, later], CalendarEdits(), after, now)
    assert [(m.complaint_id, m.new_due_at) for m in moved] == [
        ("C-1", datetime(2027, 2, 16, 14, tzinfo=SH)),
        ("C-2", datetime(2027, 3, 2, 14, tzinfo=SH)),
    ]
    # A Hong Kong complaint is on another calendar: a mainland edit does not move it.
    hk = clock.model_copy(update={"complaint_id": "C-3", "region": "香港"})
    assert moved_deadlines([hk], CalendarEdits(), after, now) == []
    # A clock due before the changed day does not move either.
    early = clock.model_copy(update={"due_at": datetime(2027, 2, 4, 17, 30, tzinfo=SH)})
    assert moved_deadlines([early], CalendarEdits(), after, now) == []


def test_a_calendar_without_a_region_has_only_its_listed_days():
    spec = CalendarSpec(holidays=[date(2027, 2, 11)])
    assert BusinessCalendar(spec).hours_on(date(2027, 2, 5)) != []
    assert unconfirmed_schedules({"own": spec}, [2027]) == []


def test_an_unknown_holiday_region_is_refused_naming_it():
    with pytest.raises(ValueError, match="unknown holiday region 'XX'"):
        CalendarSpec(holidays_from="XX")


def test_a_policy_file_chooses_calendars_by_region_and_business_line(tmp_path):
    path = tmp_path / "shenzhen.yaml"
    path.write_text("extends: standard\ncalendar_choices:\n  - {regions: [深圳], calendar: warehouse}\n")
    policy = load_policy(path)
    assert policy.for_complaint("深圳", None).tier_calendars[Tier.GENERAL] == "warehouse"
    assert policy.for_complaint("香港", None).tier_calendars[Tier.GENERAL] == "business"  # not chosen here
    assert preset("standard").for_complaint(" hong kong ", None).tier_calendars[Tier.GENERAL] == "hong_kong"
    assert preset("standard").for_complaint(None, "warehouse").tier_calendars[Tier.URGENT] == "24x7"
    with pytest.raises(ValueError, match="calendars not defined: nowhere"):
        Policy.model_validate(
            preset("standard").model_dump()
            | {"calendar_choices": [{"regions": ["x"], "calendar": "nowhere"}]}
        )


def test_a_default_calendar_stored_before_the_library_takes_the_regions_days_from_a_change():
    legacy = CalendarSpec(holidays=[date(2026, 10, 1)], makeup_workdays=[date(2026, 10, 10)])
    old = preset("standard").model_copy(
        update={"calendars": {**preset("standard").calendars, "business": legacy}}
    )
    change = resolve_calendars(preset("standard"), datetime(2026, 12, 1, tzinfo=SH), CalendarEdits())
    new = old.with_calendars(change)
    assert new.calendars["business"].holidays_from == "CN"
    assert BusinessCalendar(new.calendars["business"]).hours_on(date(2027, 2, 5)) == []
    # A calendar of another name without a region keeps its own days.
    own = preset("standard").model_copy(
        update={"calendars": {**preset("standard").calendars, "warehouse": legacy}}
    )
    assert own.with_calendars(change).calendars["warehouse"] == legacy
