"""Business time: when obligation clocks run (docs/rules.md "What the rulebooks leave open").

`BusinessCalendar` knows weekly working hours, statutory holidays and make-up working days (调休上班) in one
time zone; `AroundTheClock` has the same interface for clocks that never stop (urgent tier, rating window).
Pure and deterministic (zoneinfo + the tzdata package, no clock reads), so it runs inside the workflow
sandbox. All inputs and outputs are timezone-aware datetimes; the zone only decides where a day begins.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_TIMEZONE = "Asia/Shanghai"
ZERO = timedelta(0)
# How far ahead add()/next_business_moment() look for working time before giving up: a calendar whose
# hours were all removed must fail loudly, not loop forever.
SEARCH_DAYS = 3 * 366


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# The official PRC schedule for 2026 (国务院办公厅关于2026年部分节假日安排的通知, 2025-11-04).
# Later years are added as data: in a policy file's calendar (`holidays`, `makeup_workdays`), or here
# once the State Council publishes them (usually in November of the year before).
CN_HOLIDAYS_2026: tuple[date, ...] = tuple(
    _days(date(2026, 1, 1), date(2026, 1, 3))  # 元旦
    + _days(date(2026, 2, 15), date(2026, 2, 23))  # 春节
    + _days(date(2026, 4, 4), date(2026, 4, 6))  # 清明节
    + _days(date(2026, 5, 1), date(2026, 5, 5))  # 劳动节
    + _days(date(2026, 6, 19), date(2026, 6, 21))  # 端午节
    + _days(date(2026, 9, 25), date(2026, 9, 27))  # 中秋节
    + _days(date(2026, 10, 1), date(2026, 10, 7))  # 国庆节
)
CN_MAKEUP_WORKDAYS_2026: tuple[date, ...] = (
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
)


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


class CalendarSpec(BaseModel):
    """A calendar as data (policy files carry these). ISO weekdays: 1 = Monday … 7 = Sunday."""

    kind: Literal["business", "24x7"] = "business"
    timezone: str = DEFAULT_TIMEZONE
    weekly_hours: dict[int, list[Hours]] = Field(
        default_factory=lambda: {d: list(OFFICE_HOURS) for d in range(1, 6)}
    )
    holidays: list[date] = Field(default_factory=list)
    makeup_workdays: list[date] = Field(default_factory=list)
    makeup_hours: list[Hours] = Field(default_factory=lambda: list(OFFICE_HOURS))  # hours on a make-up day

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

    @model_validator(mode="after")
    def _has_working_time(self) -> CalendarSpec:
        if self.kind == "business" and not any(self.weekly_hours.values()):
            raise ValueError("a business calendar needs working hours on at least one weekday")
        return self


def china_business_calendar_spec() -> CalendarSpec:
    """The default: Mon–Fri 09:00–18:00 Asia/Shanghai with the statutory holidays and make-up days."""
    return CalendarSpec(holidays=list(CN_HOLIDAYS_2026), makeup_workdays=list(CN_MAKEUP_WORKDAYS_2026))


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
        self._holidays = frozenset(self.spec.holidays)
        self._makeup = frozenset(self.spec.makeup_workdays)
        self._cache: dict[date, list[tuple[datetime, datetime]]] = {}

    def hours_on(self, day: date) -> list[Hours]:
        if day in self._makeup:
            return list(self.spec.makeup_hours)
        if day in self._holidays:
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
