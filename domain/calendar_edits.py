"""Admins' corrections to the holiday data, and which calendars a complaint starts with.

A `DayEdit` makes one day a holiday, a make-up working day, or an ordinary day again (taking back a day
the library has by rule), for one calendar by name or for every calendar drawing on a region ("CN").
`YearConfirmed` says a year's announced schedule has been entered, so its warning stops. Edits come from
the calendar file (YAML, `DESK_CALENDAR_FILE`), the admin page (PostgreSQL) and iCal feeds.

`resolve_calendars` turns a policy's calendars plus the edits into explicit days for the years around a
complaint: intake hands those to the workflow, so a running complaint keeps the days it was given until a
calendar change is sent to it (see `calendar_change`), whatever library version a worker has.
Pure: parsing bytes and data in, data out.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

import icalendar
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.calendar import CalendarSpec, build_calendar
from domain.clocks import Obligation, recalendar
from domain.models import ComplaintType, ObligationName, ObligationStatus, Tier
from domain.policy import PRESETS, Policy, preset

DayKind = Literal["holiday", "workday", "ordinary"]
YEARS_BEFORE, YEARS_AFTER = 1, 2  # the years a complaint carries explicitly around its intake year


class DayEdit(BaseModel):
    model_config = ConfigDict(frozen=True)

    calendar: str = "CN"  # a calendar name ("warehouse") or a holiday region ("CN": every calendar using it)
    day: date
    kind: DayKind
    note: str = Field(default="", max_length=200)
    source: str = "file"  # file, admin:<username>, ics:<file name>

    @field_validator("calendar")
    @classmethod
    def _named(cls, v: str) -> str:
        v = v.strip()
        if not v or len(v) > 50:
            raise ValueError("calendar must name a calendar or a region, 1–50 characters")
        return v


class YearConfirmed(BaseModel):
    model_config = ConfigDict(frozen=True)

    calendar: str = "CN"
    year: int = Field(ge=2004, le=2100)
    note: str = Field(default="", max_length=200)


class CalendarEdits(BaseModel):
    days: list[DayEdit] = Field(default_factory=list)
    confirmed: list[YearConfirmed] = Field(default_factory=list)

    def plus(self, other: CalendarEdits) -> CalendarEdits:
        """Both, `other` winning for the same calendar and day."""
        keep = {(e.calendar, e.day): e for e in [*self.days, *other.days]}
        return CalendarEdits(
            days=sorted(keep.values(), key=lambda e: (e.day, e.calendar)),
            confirmed=list({(c.calendar, c.year): c for c in [*self.confirmed, *other.confirmed]}.values()),
        )


def _applies(target: str, name: str, spec: CalendarSpec) -> bool:
    return target == name or (spec.holidays_from is not None and target == spec.holidays_from)


def resolve_spec(name: str, spec: CalendarSpec, years: range, edits: CalendarEdits) -> CalendarSpec:
    """`spec` with every day of `years` (and of the years edits touch) listed: the library's days, the
    spec's own entries, then the edits; `unconfirmed_years` names the years still known by rule only."""
    if spec.kind != "business":
        return spec
    mine = [e for e in edits.days if _applies(e.calendar, name, spec)]
    wanted = sorted({*years, *(e.day.year for e in mine)} - set(spec.resolved_years))
    if spec.holidays_from is None and not mine:
        return spec
    holidays, makeup = set(spec.holidays), set(spec.makeup_workdays)
    for year in wanted:
        h, m = spec.days_of(year)
        holidays |= h
        makeup |= m
    for e in mine:
        holidays.discard(e.day)
        makeup.discard(e.day)
        if e.kind == "holiday":
            holidays.add(e.day)
        elif e.kind == "workday":
            makeup.add(e.day)
    resolved = sorted({*spec.resolved_years, *wanted}) if spec.holidays_from else []
    confirmed_by_admin = {c.year for c in edits.confirmed if _applies(c.calendar, name, spec)}
    unconfirmed = sorted(y for y in resolved if not spec.is_confirmed(y) and y not in confirmed_by_admin)
    return spec.model_copy(
        update={
            "holidays": sorted(holidays),
            "makeup_workdays": sorted(makeup),
            "resolved_years": resolved,
            "unconfirmed_years": unconfirmed,
        }
    )


def years_around(t: datetime) -> range:
    return range(t.year - YEARS_BEFORE, t.year + YEARS_AFTER + 1)


def resolve_calendars(policy: Policy, around: datetime, edits: CalendarEdits) -> dict[str, CalendarSpec]:
    """Every business calendar of `policy` resolved for the years around `around`, edits applied."""
    years = years_around(around)
    return {
        name: resolve_spec(name, spec, years, edits)
        for name, spec in policy.calendars.items()
        if spec.kind == "business"
    }


# -- which open complaints' deadlines a change moves -----------------------------------------------------------
class OpenClock(BaseModel):
    """A running obligation of an open complaint, as the ledger last saw it."""

    complaint_id: str
    workflow_id: str
    policy: str
    tier: Tier
    complaint_type: ComplaintType
    region: str | None
    name: ObligationName
    occurrence: int
    status: ObligationStatus
    started_at: datetime
    due_at: datetime
    warn_at: datetime | None


class MovedDeadline(BaseModel):
    complaint_id: str
    obligation: ObligationName
    calendar: str
    due_at: datetime
    new_due_at: datetime


def moved_deadlines(
    clocks: list[OpenClock], before: CalendarEdits, after: CalendarEdits, now: datetime
) -> list[MovedDeadline]:
    """The deadlines of these clocks that move when the edits go from `before` to `after`, computed the way
    the complaint will re-plan (`clocks.recalendar`) on its preset's calendars."""
    years = years_around(now)
    specs: dict[tuple[str, str, str | None], tuple[CalendarSpec, CalendarSpec]] = {}
    out: list[MovedDeadline] = []
    for c in clocks:
        policy = preset(c.policy if c.policy in PRESETS else "standard").for_complaint(c.region, None)
        rule = policy.rule(c.name, c.tier, c.complaint_type)
        name = policy.calendar_name(rule, c.tier)
        key = (c.policy, name, c.region)
        if key not in specs:
            spec = policy.calendars[name]
            specs[key] = (resolve_spec(name, spec, years, before), resolve_spec(name, spec, years, after))
        old, new = specs[key]
        if old == new:
            continue
        ob = Obligation(
            key=c.name.value,
            name=c.name,
            status=c.status,
            calendar=name,
            window=c.due_at - c.started_at,
            started_at=c.started_at,
            due_at=c.due_at,
            warn_at=c.warn_at,
            occurrence=c.occurrence,
        )
        moved = recalendar(ob, build_calendar(old), build_calendar(new), now)
        if moved.due_at != c.due_at:
            out.append(
                MovedDeadline(
                    complaint_id=c.complaint_id,
                    obligation=c.name,
                    calendar=name,
                    due_at=c.due_at,
                    new_due_at=moved.due_at,
                )
            )
    return out


# -- the calendar file ----------------------------------------------------------------------------------------
class CalendarFileError(ValueError):
    pass


def parse_calendar_file(text: str, *, source: str = "file") -> CalendarEdits:
    """The YAML calendar file:

    ```yaml
    holidays:          # days off: {calendar (default CN), day, note}
      - {day: 2027-02-11, note: 春节 (announced)}
      - {calendar: warehouse, day: 2027-06-01, note: 盘点}
    workdays:          # make-up working days (调休上班)
      - {day: 2027-02-20, note: 春节调休}
    ordinary:          # take back a day the library has by rule
      - {day: 2027-02-10}
    confirmed:         # the year's announced schedule is complete: stop warning
      - {year: 2027, note: 国办发明电〔2026〕…}
    ```
    """
    try:
        # Every scalar as text, so a bad date is reported by the field that holds it.
        data = yaml.load(text, Loader=yaml.BaseLoader) or {}
    except yaml.YAMLError as e:
        raise CalendarFileError(f"not YAML: {e}") from e
    if not isinstance(data, dict):
        raise CalendarFileError("a calendar file is a mapping with holidays, workdays, ordinary, confirmed")
    unknown = sorted(set(data) - {"holidays", "workdays", "ordinary", "confirmed"})
    if unknown:
        raise CalendarFileError(f"unknown keys {unknown}; known: holidays, workdays, ordinary, confirmed")
    days: list[DayEdit] = []
    try:
        for key, kind in (("holidays", "holiday"), ("workdays", "workday"), ("ordinary", "ordinary")):
            for i, item in enumerate(data.get(key) or []):
                if not isinstance(item, dict):
                    raise CalendarFileError(f"{key}[{i}]: expected a mapping with day (and calendar, note)")
                try:
                    days.append(DayEdit.model_validate({**item, "kind": kind, "source": source}))
                except ValidationError as e:
                    raise CalendarFileError(f"{key}[{i}]: {_first_error(e)}") from e
        confirmed = []
        for i, item in enumerate(data.get("confirmed") or []):
            try:
                confirmed.append(YearConfirmed.model_validate(item))
            except ValidationError as e:
                raise CalendarFileError(f"confirmed[{i}]: {_first_error(e)}") from e
    except TypeError as e:
        raise CalendarFileError(str(e)) from e
    return CalendarEdits().plus(CalendarEdits(days=days, confirmed=confirmed))


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


# -- iCal feeds -----------------------------------------------------------------------------------------------
def parse_ics(
    data: bytes, *, calendar: str = "CN", source: str = "ics", kind: DayKind = "holiday"
) -> list[DayEdit]:
    """Every all-day event of an iCal feed (Zammad-style holiday feeds) as one edit per day it covers.
    Events marked 补班 / 上班 / "working day" in their summary are make-up working days."""
    try:
        cal = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as e:
        raise CalendarFileError(f"not an iCalendar file: {e}") from e
    out: dict[date, DayEdit] = {}
    for ev in cal.walk("VEVENT"):
        start = ev.decoded("DTSTART", None)
        if start is None:
            continue
        start_day = start.date() if isinstance(start, datetime) else start
        end = ev.decoded("DTEND", None)
        end_day = (end.date() if isinstance(end, datetime) else end) if end is not None else None
        last = (end_day - timedelta(days=1)) if end_day and end_day > start_day else start_day
        summary = str(ev.get("SUMMARY", ""))[:200]
        this_kind: DayKind = "workday" if _is_workday(summary) else kind
        day = start_day
        while day <= last and (day - start_day).days < 60:
            out[day] = DayEdit(calendar=calendar, day=day, kind=this_kind, note=summary, source=source)
            day += timedelta(days=1)
    if not out:
        raise CalendarFileError("the iCalendar file has no events with a start day")
    return [out[d] for d in sorted(out)]


def _is_workday(summary: str) -> bool:
    s = summary.casefold()
    return any(w in s for w in ("补班", "上班", "调休上班", "working day", "workday"))
