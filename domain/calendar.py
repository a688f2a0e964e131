"""Business time: when obligation clocks run (docs/rules.md "What the rulebooks leave open").

`BusinessCalendar` knows weekly working hours, public holidays and make-up working days (调休上班) in one
time zone; `AroundTheClock` has the same interface for clocks that never stop (urgent tier, rating window).
Pure and deterministic (zoneinfo + the tzdata package, no clock reads), so it runs inside the workflow
sandbox. Holidays are data: a spec lists its days explicitly for `resolved_years` (resolved from the
`holidays` library plus admins' edits outside the workflow, so a running complaint replays on the days it
was given whatever library the worker has); for any other year a spec with `holidays_from` asks the
library (domain/public_holidays.py) — never a year treated as if it had no holidays. All inputs and outputs are timezone-aware datetimes; the zone only decides where a day begins.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.public_holidays import REGIONS, official_year

DEFAULT_TIMEZONE = "Asia/Shanghai"
ZERO = timedelta(0)
# How far ahead add()/next_business_moment() look for working time before giving up: a calendar whose
# hours were all removed must fail loudly, not loop forever.
SEARCH_DAYS = 3 * 366


class Hours(BaseModel):
    """One stretch of working time within a day, e.g. 09:00–18:00."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Hours:
        if self.end <= self.start:
            raise ValueError(f"working hours must end after they start ({self.start}–{self.end})")
        return self


OFFICE_HOURS = (Hours(start=time(9), end=time(18)),)
# The fields of a CalendarSpec that say which days are off (what a calendar change carries).
DAY_FIELDS = ("holidays", "makeup_workdays", "resolved_years", "unconfirmed_years")
# Announced schedules move days off to bridge a weekend and add make-up days within about a week of the
# statutory days (2026: 春节 by rule Feb 16–19, announced Feb 15–23 with Feb 14 and Feb 28 worked).
SCHEDULE_MARGIN = timedelta(days=7)


class CalendarSpec(BaseModel):
    """A calendar as data (policy files carry these). ISO weekdays: 1 = Monday … 7 = Sunday."""

    model_config = ConfigDict(frozen=True)  # shared by every complaint on this calendar

    kind: Literal["business", "24x7"] = "business"
    timezone: str = DEFAULT_TIMEZONE
    weekly_hours: dict[int, list[Hours]] = Field(
        default_factory=lambda: {d: list(OFFICE_HOURS) for d in range(1, 6)}
    )
    holidays: list[date] = Field(default_factory=list)
    makeup_workdays: list[date] = Field(default_factory=list)
    makeup_hours: list[Hours] = Field(default_factory=lambda: list(OFFICE_HOURS))  # hours on a make-up day
    holidays_from: str | None = None  # a region of the `holidays` library ("CN", "HK"); None: only the lists
    resolved_years: list[int] = Field(default_factory=list)  # years whose days the lists carry in full
    unconfirmed_years: list[int] = Field(default_factory=list)  # of those: statutory days by rule only

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except Exception as e:  # ZoneInfoNotFoundError, ValueError for malformed keys
            raise ValueError(f"unknown time zone {v!r}") from e
        return v

    @field_validator("weekly_hours")
    @classmethod
    def _weekdays(cls, v: dict[int, list[Hours]]) -> dict[int, list[Hours]]:
        bad = [d for d in v if d not in range(1, 8)]
        if bad:
            raise ValueError(f"weekdays are 1 (Monday) to 7 (Sunday), got {bad}")
        return v

    @field_validator("holidays_from")
    @classmethod
    def _known_region(cls, v: str | None) -> str | None:
        if v is not None and v not in REGIONS:
            raise ValueError(f"unknown holiday region {v!r}; known: {', '.join(REGIONS)}")
        return v

    @model_validator(mode="after")
    def _has_working_time(self) -> CalendarSpec:
        if self.kind == "business" and not any(self.weekly_hours.values()):
            raise ValueError("a business calendar needs working hours on at least one weekday")
        return self

    def days_of(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """(holidays, make-up working days) of `year`: the lists for a resolved year, else the library's
        days with the lists' entries for that year winning (a company holiday, a corrected day)."""
        listed_h = frozenset(d for d in self.holidays if d.year == year)
        listed_m = frozenset(d for d in self.makeup_workdays if d.year == year)
        if self.holidays_from is None or year in self.resolved_years:
            return listed_h, listed_m
        lib = official_year(self.holidays_from, year)
        return (
            (frozenset(lib.holidays) - listed_m) | listed_h,
            (frozenset(lib.makeup_workdays) - listed_h) | listed_m,
        )

    def is_confirmed(self, year: int) -> bool:
        """False when `year`'s holidays are the statutory ones by rule, its official schedule not yet known."""
        if year in self.resolved_years:
            return year not in self.unconfirmed_years
        return self.holidays_from is None or official_year(self.holidays_from, year).confirmed


def china_business_calendar_spec() -> CalendarSpec:
    """The default: Mon–Fri 09:00–18:00 Asia/Shanghai with mainland China's public holidays and make-up
    days from the `holidays` library."""
    return CalendarSpec(holidays_from="CN")


def hong_kong_business_calendar_spec() -> CalendarSpec:
    """A Hong Kong branch: Mon–Fri 09:00–18:00 Asia/Hong_Kong with Hong Kong's general holidays."""
    return CalendarSpec(holidays_from="HK", timezone="Asia/Hong_Kong")


def warehouse_calendar_spec() -> CalendarSpec:
    """A warehouse: Mon–Sat 08:00–18:00 Asia/Shanghai, mainland China's public holidays and make-up days."""
    hours = [Hours(start=time(8), end=time(18))]
    return CalendarSpec(
        holidays_from="CN", weekly_hours={d: list(hours) for d in range(1, 7)}, makeup_hours=list(hours)
    )


def around_the_clock_spec() -> CalendarSpec:
    return CalendarSpec(kind="24x7")


class Calendar(Protocol):
    def add(self, start: datetime, duration: timedelta) -> datetime: ...
    def between(self, a: datetime, b: datetime) -> timedelta: ...
    def next_business_moment(self, t: datetime) -> datetime: ...
    def is_business_time(self, t: datetime) -> bool: ...


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError(f"calendar math needs timezone-aware datetimes, got {t!r}")
    return t


class AroundTheClock:
    """Every moment is working time (urgent clocks, the rating window)."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return _aware(start) + max(duration, ZERO)

    def between(self, a: datetime, b: datetime) -> timedelta:
        return max(_aware(b) - _aware(a), ZERO)

    def next_business_moment(self, t: datetime) -> datetime:
        return _aware(t)

    def is_business_time(self, t: datetime) -> bool:
        return True


class BusinessCalendar:
    """Working hours per weekday, minus holidays, plus make-up working days, in one time zone."""

    def __init__(self, spec: CalendarSpec | None = None) -> None:
        self.spec = spec or china_business_calendar_spec()
        self.zone = ZoneInfo(self.spec.timezone)
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        self._cache: dict[date, list[tuple[datetime, datetime]]] = {}

    def hours_on(self, day: date) -> list[Hours]:
        days = self._years.get(day.year)
        if days is None:
            days = self._years[day.year] = self.spec.days_of(day.year)
        holidays, makeup = days
        if day in makeup:
            return list(self.spec.makeup_hours)
        if day in holidays:
            return []
        return list(self.spec.weekly_hours.get(day.isoweekday(), []))

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working stretches as aware datetimes, in order."""
        cached = self._cache.get(day)
        if cached is None:
            cached = sorted(
                (datetime.combine(day, h.start, self.zone), datetime.combine(day, h.end, self.zone))
                for h in self.hours_on(day)
            )
            self._cache[day] = cached
        return cached

    def _local_day(self, t: datetime) -> date:
        return _aware(t).astimezone(self.zone).date()

    def is_business_time(self, t: datetime) -> bool:
        return any(s <= t < e for s, e in self._intervals(self._local_day(t)))

    def next_business_moment(self, t: datetime) -> datetime:
        """`t` itself during working hours, else the start of the next working stretch."""
        day = self._local_day(t)
        for _ in range(SEARCH_DAYS):
            for s, e in self._intervals(day):
                if e > t:
                    return max(s, t).astimezone(t.tzinfo)
            day += timedelta(days=1)
        raise ValueError(f"no working time within {SEARCH_DAYS} days after {t.isoformat()}")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest moment by which `duration` of working time has passed since `start`."""
        if duration <= ZERO:
            return _aware(start)
        remaining = duration
        day = self._local_day(start)
        for _ in range(SEARCH_DAYS):
            for s, e in self._intervals(day):
                if e <= start:
                    continue
                s = max(s, start)
                if remaining <= e - s:
                    return (s + remaining).astimezone(start.tzinfo)  # in the caller's zone
                remaining -= e - s
            day += timedelta(days=1)
        raise ValueError(f"no {duration} of working time within {SEARCH_DAYS} days after {start.isoformat()}")

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Working time elapsed from `a` to `b` (zero when `b` is not after `a`)."""
        if _aware(b) <= _aware(a):
            return ZERO
        total = ZERO
        day, last = self._local_day(a), self._local_day(b)
        while day <= last:
            for s, e in self._intervals(day):
                lo, hi = max(s, a), min(e, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total


def in_zone(t: datetime, zone: str = DEFAULT_TIMEZONE) -> datetime:
    """`t` as wall-clock time in `zone` (for words people read: summaries, details)."""
    return _aware(t).astimezone(ZoneInfo(zone))


def build_calendar(spec: CalendarSpec) -> Calendar:
    return AroundTheClock() if spec.kind == "24x7" else BusinessCalendar(spec)


# -- years whose official schedule is not known yet ------------------------------------------------------------
class ScheduleGap(BaseModel):
    """One region's year whose days off are the statutory ones by rule: deadlines near them may move."""

    model_config = ConfigDict(frozen=True)

    region: str
    year: int
    days: tuple[date, ...]  # the holidays by rule (the announced schedule will move some, add make-up days)
    calendars: tuple[str, ...]

    def spans(self) -> list[tuple[date, date]]:
        out: list[tuple[date, date]] = []
        for d in self.days:
            if out and (d - out[-1][1]).days == 1:
                out[-1] = (out[-1][0], d)
            else:
                out.append((d, d))
        return out

    def days_text(self, sep: str = ", ", to: str = " – ") -> str:
        return sep.join(
            a.isoformat() if a == b else f"{a.isoformat()}{to}{b.strftime('%m-%d')}" for a, b in self.spans()
        )

    def message(self, locale: str = "en") -> str:
        """The warning people read (logs, health check, dashboard, simulate)."""
        if locale.startswith("zh"):
            return f"{self.year} 节假日安排尚未确认 — {self.days_text('、', ' 至 ')} 的期限可能有误"
        return (
            f"{self.year} holiday schedule not yet confirmed — deadlines on {self.days_text()} may be wrong"
        )

    def near(self, start: datetime, end: datetime, zone: str = DEFAULT_TIMEZONE) -> ScheduleGap:
        """Only the days within `SCHEDULE_MARGIN` of the span start–end (what a run or a complaint meets)."""
        first = _aware(start).astimezone(ZoneInfo(zone)).date() - SCHEDULE_MARGIN
        last = _aware(end).astimezone(ZoneInfo(zone)).date() + SCHEDULE_MARGIN
        return self.model_copy(update={"days": tuple(d for d in self.days if first <= d <= last)})

    def touches(self, start: datetime, end: datetime, zone: str = DEFAULT_TIMEZONE) -> bool:
        """True when the span start–end comes within `SCHEDULE_MARGIN` of one of the days."""
        return bool(self.near(start, end, zone).days)


def unconfirmed_schedules(calendars: dict[str, CalendarSpec], years: range | list[int]) -> list[ScheduleGap]:
    """THE place that says which years' holidays are not confirmed, for these calendars and years (every
    warning — worker and web app start, health check, dashboard, simulate — comes from here)."""
    found: dict[tuple[str, int], tuple[set[date], list[str]]] = {}
    for name, spec in calendars.items():
        if spec.kind != "business" or spec.holidays_from is None:
            continue
        for year in years:
            if spec.is_confirmed(year):
                continue
            holidays, _ = spec.days_of(year)
            days, names = found.setdefault((spec.holidays_from, year), (set(), []))
            days |= holidays
            names.append(name)
    return [
        ScheduleGap(region=region, year=year, days=tuple(sorted(days)), calendars=tuple(names))
        for (region, year), (days, names) in sorted(found.items())
    ]


SIGNAL_CALENDARS_CHANGED = "calendars_changed"


class CalendarChange(BaseModel):
    """Sent to open complaints when their calendars' days change (admin edits, an iCal import, a newer
    holiday library): running clocks re-plan on the new days (`clocks.recalendar`)."""

    calendars: dict[str, CalendarSpec]
    reason: str = Field(default="", max_length=200)
