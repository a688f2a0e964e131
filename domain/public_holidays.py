"""Public holidays and make-up working days from a maintained library (python `holidays`), per year.

Why `holidays`: it carries the State Council's announced PRC schedules — days off moved to bridge a weekend
and the make-up working days (调休上班) — for every year since 2001 (make-up days since 2004), China's
statutory holidays by rule for later years, and Hong Kong and every other region we may open. A year the
library knows arrives with a dependency upgrade, no code change. (`chinesecalendar` has the same announced
schedules 2004–2026 but nothing after, and no other region: the tests use it as an independent check.)

"Confirmed": mainland China's days off are set each year by an announcement (usually in November or
December of the year before); until the library carries it, its days are the statutory ones by rule and
the real schedule will move some of them. A year counts as announced when the library lists make-up
working days for it (every announced year since 2004 has some). Hong Kong's general holidays follow from
its ordinance by rule, so every year is as good as the library's rules.

Pure and cached per (region, year): called outside workflows to resolve a calendar's explicit days. The
library itself cannot run in the workflow sandbox (it imports lazily and reads the local time at import),
so the years around the newest announced schedule are computed when this module is imported — always
outside the sandbox, the workflow imports domain passed through — and a workflow only reads them, for a
year its calendar did not carry (complaints started by tests or before days were resolved at intake).
"""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays
from pydantic import BaseModel, ConfigDict

# Regions whose schedule must be announced every year (the others are fixed by rule).
ANNOUNCED_SCHEDULES = frozenset({"CN"})
FIRST_YEAR, LAST_YEAR = 2004, 2100  # the years we answer for (make-up days in the library since 2004)
REGIONS = {"CN": "中国大陆 / mainland China", "HK": "香港 / Hong Kong"}
# The library's categories an office observes: mainland public holidays (not the half days some groups
# get); Hong Kong's general holidays (公眾假期, "optional" in the library: Good Friday, Christmas …) on top
# of the statutory ones.
CATEGORIES = {"CN": ("public",), "HK": ("public", "optional")}


class OfficialYear(BaseModel):
    model_config = ConfigDict(frozen=True)

    region: str
    year: int
    holidays: tuple[date, ...]  # days off (weekend days included when the library lists them)
    makeup_workdays: tuple[date, ...]  # weekend days worked instead (调休上班)
    names: dict[date, str]
    confirmed: bool  # the year's official schedule is in the library (not only the rules)


def _newest_announced() -> int:
    # The years the library has an announced schedule for (a class attribute: no computation needed).
    return max(holidays.China().special_public_holidays)


def _known(region: str) -> None:
    if region not in REGIONS:
        raise ValueError(f"unknown holiday region {region!r}; known: {', '.join(REGIONS)}")


@cache
def official_year(region: str, year: int) -> OfficialYear:
    """The library's answer for one region and year (public holidays only, no half days)."""
    _known(region)
    lib = holidays.country_holidays(region, years=year, language="en_US", categories=CATEGORIES[region])
    days = {d: n for d, n in lib.items() if d.year == year}
    makeup = tuple(sorted(d for d in getattr(lib, "weekend_workdays", ()) if d.year == year))
    confirmed = region not in ANNOUNCED_SCHEDULES or bool(makeup)
    return OfficialYear(
        region=region,
        year=year,
        holidays=tuple(sorted(days)),
        makeup_workdays=makeup,
        names=days,
        confirmed=confirmed,
    )


def last_confirmed_year(region: str = "CN") -> int | None:
    """The latest year of the unbroken run of announced schedules from 2004 (None: not even 2004)."""
    if region not in ANNOUNCED_SCHEDULES:
        raise ValueError(f"{region}: its holidays follow from rules, every year is as good as the library")
    year = FIRST_YEAR
    while year < LAST_YEAR and official_year(region, year).confirmed:
        year += 1
    return year - 1 if year > FIRST_YEAR else None


def library_version() -> str:
    return f"holidays {holidays.__version__}"


# Computed here, outside any sandbox (see the module's docstring): a few years either side of the newest
# announced schedule, for both regions.
for _region in REGIONS:
    for _year in range(_newest_announced() - 2, _newest_announced() + 5):
        official_year(_region, _year)
