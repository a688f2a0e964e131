"""SLA policies as data: which obligation clocks a complaint gets, how long they run, on which calendar.

A `Policy` is a list of `ObligationRule`s plus the knobs of docs/rules.md (calendars per tier, warning ratio,
peak season, rating window, department report window). Presets: `standard` (both rulebooks merged, the
stricter number winning — the table "The default policy" in docs/rules.md), `after-sales` (rulebook A alone),
`logistics` (rulebook B alone) and `bench` (standard shrunk minutes→seconds, around the clock). Policy
files (JSON or YAML) have the same shape; durations may be written `90s`, `20m`, `2h`, `1d2h` or ISO 8601.
Pure: no I/O except `load_policy` reading a file, which workflows never call.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

from domain.calendar import (
    DAY_FIELDS,
    DEFAULT_TIMEZONE,
    Calendar,
    CalendarSpec,
    around_the_clock_spec,
    build_calendar,
    china_business_calendar_spec,
    hong_kong_business_calendar_spec,
    warehouse_calendar_spec,
)
from domain.models import Category, ComplaintType, Department, ObligationName, Role, Tier

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)d)?\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$"
)


def parse_duration(value: Any) -> Any:
    """`90s`, `20m`, `3h`, `1d2h`, `1h30m` → timedelta; anything else is left to pydantic (ISO 8601
    `PT5M`, seconds as a number, a timedelta)."""
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m and any(m.groups()):
            d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
            return timedelta(days=d, hours=h, minutes=mi, seconds=s)
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Anchor(StrEnum):
    """Events a clock can start from (and that meet or stop clocks)."""

    INTAKE = "intake"
    ACKNOWLEDGED = "acknowledged"
    SUPERVISOR_ACKNOWLEDGED = "supervisor_acknowledged"
    ANSWERED = "answered"
    ASSIGNMENT = "assignment"
    PLAN_PROPOSED = "plan_proposed"
    HANDLING_STARTED = "handling_started"
    WORK_DONE = "work_done"
    RESOLVED = "resolved"
    DEPARTMENT_ASSIGNED = "department_assigned"


ALL_TIERS = [Tier.GENERAL, Tier.IMPORTANT, Tier.URGENT]
BUSINESS = "business"
AROUND_THE_CLOCK = "24x7"
HONG_KONG = "hong_kong"
WAREHOUSE = "warehouse"


class ObligationRule(BaseModel):
    """One row of a rulebook: `name` must happen within `window` of `anchor`, for these tiers/types."""

    model_config = ConfigDict(frozen=True)  # shared by every complaint on this policy

    name: ObligationName
    tiers: list[Tier]
    complaint_types: list[ComplaintType] | None = None  # None: every type
    window: Duration
    anchor: Anchor = Anchor.INTAKE
    calendar: str | None = None  # None: the tier's calendar
    periodic: bool = False  # re-arms after each occurrence (reports, customer updates)
    until: Anchor = Anchor.RESOLVED  # periodic only: the event that stops it
    pauses_when_waiting: bool = False  # waiting on the customer stops this clock (A §4.4)
    warns: bool = True
    warn_ratio: float | None = Field(default=None, gt=0, lt=1)  # None: the policy's
    source: str = ""  # where the rule comes from, e.g. "A §3.2"

    @model_validator(mode="after")
    def _positive(self) -> ObligationRule:
        if self.window <= timedelta(0):
            raise ValueError(f"{self.name}: window must be positive")
        return self

    def applies(self, tier: Tier, complaint_type: ComplaintType) -> bool:
        return tier in self.tiers and (self.complaint_types is None or complaint_type in self.complaint_types)


class PeakPeriod(BaseModel):
    model_config = ConfigDict(frozen=True)  # shared by every complaint on this policy

    start: date
    end: date  # inclusive


class PeakSeason(BaseModel):
    """B §1.2: deadlines shortened during promotions. The factor multiplies every window opened while on."""

    model_config = ConfigDict(frozen=True)  # shared by every complaint on this policy

    factor: float = Field(default=0.75, gt=0, le=1)
    periods: list[PeakPeriod] = Field(default_factory=list)
    timezone: str = DEFAULT_TIMEZONE


class CalendarChoice(BaseModel):
    """Complaints of these regions (the customer's region) or business lines count the clocks that would
    run on `replaces` on `calendar` instead: a Hong Kong branch, a warehouse working Saturdays."""

    model_config = ConfigDict(frozen=True)  # shared by every complaint on this policy

    regions: list[str] = Field(default_factory=list)  # matched ignoring case and surrounding blanks
    business_lines: list[str] = Field(default_factory=list)
    replaces: str = BUSINESS
    calendar: str

    def matches(self, region: str | None, business_line: str | None) -> bool:
        def norm(v: str | None) -> str:
            return (v or "").strip().casefold()

        return bool(
            (region and norm(region) in {norm(r) for r in self.regions})
            or (business_line and norm(business_line) in {norm(b) for b in self.business_lines})
        )


def _default_calendar_choices() -> list[CalendarChoice]:
    return [
        CalendarChoice(regions=["香港", "Hong Kong", "HK"], calendar=HONG_KONG),
        CalendarChoice(business_lines=["warehouse", "仓储"], calendar=WAREHOUSE),
    ]


class Policy(BaseModel):
    # Complaints share one instance of equal policies (domain/sharing.py): none may change it in place.
    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    rules: list[ObligationRule]
    tier_calendars: dict[Tier, str] = Field(
        default_factory=lambda: {
            Tier.GENERAL: BUSINESS,
            Tier.IMPORTANT: BUSINESS,
            Tier.URGENT: AROUND_THE_CLOCK,
        }
    )
    calendars: dict[str, CalendarSpec] = Field(
        default_factory=lambda: {
            BUSINESS: china_business_calendar_spec(),
            AROUND_THE_CLOCK: around_the_clock_spec(),
            HONG_KONG: hong_kong_business_calendar_spec(),
            WAREHOUSE: warehouse_calendar_spec(),
        }
    )
    # Which calendar a complaint's region or business line uses instead (first match per replaced
    # calendar). None: Hong Kong and warehouse, where the policy defines those calendars (older stored
    # policies define neither).
    calendar_choices: list[CalendarChoice] | None = None
    warn_ratio: float = Field(default=0.75, gt=0, lt=1)
    peak: PeakSeason = Field(default_factory=PeakSeason)
    rating_window: Duration = timedelta(hours=72)
    rating_calendar: str = AROUND_THE_CLOCK
    satisfied_score: int = Field(default=4, ge=1, le=5)
    department_report_window: Duration = timedelta(hours=4)
    # B §1.3: these categories open a joint investigation with these departments on assignment.
    joint_investigation: dict[Category, list[Department]] = Field(
        default_factory=lambda: {
            Category.LOST: [Department.WAREHOUSE, Department.TRANSPORT, Department.DELIVERY]
        }
    )
    # Who is alerted the moment a complaint arrives, per tier (A §3.2, B "green channel").
    alert_at_intake: dict[Tier, list[Role]] = Field(
        default_factory=lambda: {
            Tier.GENERAL: [Role.SPECIALIST],
            Tier.IMPORTANT: [Role.SPECIALIST, Role.SUPERVISOR],
            Tier.URGENT: [Role.SPECIALIST, Role.SUPERVISOR, Role.DEPARTMENT_HEAD],
        }
    )

    _built: dict[str, Calendar] = PrivateAttr(default_factory=dict)  # calendars built on first use

    def __eq__(self, other: object) -> bool:  # the calendar cache is not part of the policy
        return isinstance(other, Policy) and self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        missing = [t.value for t in Tier if t not in self.tier_calendars]
        if missing:
            raise ValueError(f"tier_calendars: no calendar for {', '.join(missing)}")
        named = (
            {r.calendar for r in self.rules if r.calendar}
            | set(self.tier_calendars.values())
            | {self.rating_calendar}
            | {c.calendar for c in self.calendar_choices or []}
        )
        unknown = sorted(named - set(self.calendars))
        if unknown:
            raise ValueError(
                f"calendars not defined: {', '.join(unknown)} (defined: {', '.join(self.calendars)})"
            )
        seen: set[tuple[str, str, str]] = set()
        for r in self.rules:
            for tier in r.tiers:
                for ct in r.complaint_types or list(ComplaintType):
                    key = (r.name.value, tier.value, ct.value)
                    if key in seen:
                        raise ValueError(f"two rules for {r.name.value} apply to {tier.value} {ct.value}")
                    seen.add(key)
        return self

    # -- looking things up -------------------------------------------------------------------------------
    def rules_for(self, tier: Tier, complaint_type: ComplaintType) -> list[ObligationRule]:
        return [r for r in self.rules if r.applies(tier, complaint_type)]

    def rule(self, name: ObligationName, tier: Tier, complaint_type: ComplaintType) -> ObligationRule | None:
        if name == ObligationName.RATING:
            return self.rating_rule()
        if name == ObligationName.DEPARTMENT_REPORT:
            return self.department_report_rule()
        return next((r for r in self.rules_for(tier, complaint_type) if r.name == name), None)

    def rating_rule(self) -> ObligationRule:
        return ObligationRule(
            name=ObligationName.RATING,
            tiers=ALL_TIERS,
            window=self.rating_window,
            anchor=Anchor.RESOLVED,
            calendar=self.rating_calendar,
            warns=False,
            source="A §3.3, B §2.4",
        )

    def department_report_rule(self) -> ObligationRule:
        return ObligationRule(
            name=ObligationName.DEPARTMENT_REPORT,
            tiers=ALL_TIERS,
            window=self.department_report_window,
            anchor=Anchor.DEPARTMENT_ASSIGNED,
            source="B §1.3",
        )

    def calendar_name(self, rule: ObligationRule | None, tier: Tier) -> str:
        return (rule.calendar if rule and rule.calendar else None) or self.tier_calendars[tier]

    def calendar(self, name: str) -> Calendar:
        built = self._built.get(name)
        if built is None:
            built = self._built[name] = build_calendar(self.calendars[name])
        return built

    def with_peak(self, periods: list[PeakPeriod], factor: float | None = None) -> Policy:
        """This policy with these peak periods (and factor): a new policy, since presets are shared."""
        peak = self.peak.model_copy(update={"periods": periods, "factor": factor or self.peak.factor})
        return self.model_copy(update={"peak": peak})

    def for_complaint(self, region: str | None, business_line: str | None) -> Policy:
        """This policy as one complaint uses it: calendars chosen by its region and business line."""
        swap: dict[str, str] = {}
        choices = self.calendar_choices
        if choices is None:
            choices = [c for c in _default_calendar_choices() if c.calendar in self.calendars]
        for choice in choices:
            if choice.replaces not in swap and choice.matches(region, business_line):
                swap[choice.replaces] = choice.calendar
        if not swap:
            return self
        rules = [
            r.model_copy(update={"calendar": swap.get(r.calendar, r.calendar)}) if r.calendar else r
            for r in self.rules
        ]
        return self._copy(
            rules=rules,
            tier_calendars={t: swap.get(c, c) for t, c in self.tier_calendars.items()},
            rating_calendar=swap.get(self.rating_calendar, self.rating_calendar),
        )

    def calendars_in_use(self) -> set[str]:
        """The calendars some clock of this policy runs on (after `for_complaint`: that complaint's)."""
        return (
            set(self.tier_calendars.values())
            | {r.calendar for r in self.rules if r.calendar}
            | {self.rating_calendar}
        )

    def with_calendars(self, specs: dict[str, CalendarSpec]) -> Policy:
        """The days of these calendars (holidays, make-up days, the years they cover) in place of those of
        the same-named calendars drawing on the same holiday region; hours and time zone stay this
        policy's own. Returns this policy itself when nothing changes."""
        calendars = dict(self.calendars)
        for name, new in specs.items():
            own = calendars.get(name)
            if own is None or own.kind != "business":
                continue
            # The default calendar as stored before its days came from the library (the 2026 days typed
            # in, no region) takes the region's days: complaints carried over by continue-as-new then.
            legacy = name == BUSINESS and own.holidays_from is None and not own.resolved_years
            if own.holidays_from != new.holidays_from and not legacy:
                continue
            days = {f: getattr(new, f) for f in (*DAY_FIELDS, "holidays_from")}
            if any(getattr(own, f) != v for f, v in days.items()):
                calendars[name] = own.model_copy(update=days)
        return self._copy(calendars=calendars) if calendars != self.calendars else self

    def _copy(self, **update: Any) -> Policy:
        copy = self.model_copy(update=update)
        copy._built = {}  # built calendars belong to the old data
        return copy

    def warn_ratio_for(self, rule: ObligationRule) -> float | None:
        if not rule.warns:
            return None
        return rule.warn_ratio if rule.warn_ratio is not None else self.warn_ratio

    def peak_factor_at(self, t: datetime) -> float:
        """The window multiplier for a clock starting at `t`: the peak factor inside a peak period, else 1."""
        day = t.astimezone(ZoneInfo(self.peak.timezone)).date()
        on = any(p.start <= day <= p.end for p in self.peak.periods)
        return self.peak.factor if on else 1.0


# -- presets -------------------------------------------------------------------------------------------------
M, H = timedelta(minutes=1), timedelta(hours=1)
GENERAL, IMPORTANT, URGENT = [Tier.GENERAL], [Tier.IMPORTANT], [Tier.URGENT]


def _r(name: ObligationName, tiers: list[Tier], window: timedelta, source: str, **kw: Any) -> ObligationRule:
    return ObligationRule(name=name, tiers=tiers, window=window, source=source, **kw)


N = ObligationName


def standard() -> Policy:
    """docs/rules.md "The default policy (standard)": both rulebooks merged, the stricter number winning."""
    return Policy(
        name="standard",
        description="Both rulebooks merged, the stricter deadline winning (docs/rules.md, The default policy).",
        rules=[
            _r(N.FIRST_RESPONSE, ALL_TIERS, 5 * M, "A §3.1"),
            _r(N.DIRECT_ANSWER, GENERAL, 10 * M, "A §3.2", complaint_types=[ComplaintType.CONSULTATION]),
            _r(N.ASSIGNMENT, GENERAL, 30 * M, "A §3.2"),
            _r(N.PRELIMINARY_PLAN, GENERAL, 2 * H, "A §3.2", anchor=Anchor.ASSIGNMENT),
            _r(N.RESOLUTION, GENERAL, 24 * H, "A §3.2 (B: 48 h)", pauses_when_waiting=True),
            _r(N.SUPERVISOR_ACK, IMPORTANT, 15 * M, "A §3.2"),
            _r(N.HANDLING_START, IMPORTANT, 4 * H, "A §3.2"),
            _r(
                N.PROGRESS_REPORT,
                IMPORTANT,
                2 * H,
                "A §3.2",
                anchor=Anchor.HANDLING_STARTED,
                periodic=True,
                until=Anchor.WORK_DONE,
                pauses_when_waiting=True,
                warns=False,
            ),
            _r(
                N.RESULT_FEEDBACK,
                IMPORTANT,
                24 * H,
                "A §3.2",
                anchor=Anchor.WORK_DONE,
                pauses_when_waiting=True,
            ),
            _r(N.RESOLUTION, IMPORTANT, 24 * H, "B §1.2", pauses_when_waiting=True),
            _r(N.SUPERVISOR_ACK, URGENT, 15 * M, "A §3.2"),
            _r(N.PRELIMINARY_PLAN, URGENT, 2 * H, "B §1.2"),
            _r(
                N.CUSTOMER_UPDATE,
                URGENT,
                30 * M,
                "A §3.2",
                periodic=True,
                pauses_when_waiting=True,
                warns=False,
            ),
            _r(N.RESOLUTION, URGENT, 4 * H, "A §3.2", pauses_when_waiting=True),
        ],
    )


def after_sales() -> Policy:
    """Rulebook A alone (a trading company's after-sales response-time rules)."""
    return Policy(
        name="after-sales",
        description="Rulebook A alone: after-sales response-time control rules.",
        rules=[
            _r(N.FIRST_RESPONSE, ALL_TIERS, 5 * M, "A §3.1"),
            _r(N.DIRECT_ANSWER, GENERAL, 10 * M, "A §3.2", complaint_types=[ComplaintType.CONSULTATION]),
            _r(N.ASSIGNMENT, GENERAL, 30 * M, "A §3.2"),
            _r(N.PRELIMINARY_PLAN, GENERAL, 2 * H, "A §3.2", anchor=Anchor.ASSIGNMENT),
            # "相关部门应在2小时内给出初步解决方案,并在24小时内完成问题处理": both counted from the assignment.
            _r(N.RESOLUTION, GENERAL, 24 * H, "A §3.2", anchor=Anchor.ASSIGNMENT, pauses_when_waiting=True),
            _r(N.SUPERVISOR_ACK, IMPORTANT, 15 * M, "A §3.2"),
            _r(N.HANDLING_START, IMPORTANT, 4 * H, "A §3.2"),
            _r(
                N.PROGRESS_REPORT,
                IMPORTANT,
                2 * H,
                "A §3.2",
                anchor=Anchor.HANDLING_STARTED,
                periodic=True,
                until=Anchor.WORK_DONE,
                pauses_when_waiting=True,
                warns=False,
            ),
            _r(
                N.RESULT_FEEDBACK,
                IMPORTANT,
                24 * H,
                "A §3.2",
                anchor=Anchor.WORK_DONE,
                pauses_when_waiting=True,
            ),
            _r(N.SUPERVISOR_ACK, URGENT, 15 * M, "A §3.2"),
            _r(
                N.CUSTOMER_UPDATE,
                URGENT,
                30 * M,
                "A §3.2",
                periodic=True,
                pauses_when_waiting=True,
                warns=False,
            ),
            _r(N.RESOLUTION, URGENT, 4 * H, "A §3.2", pauses_when_waiting=True),
        ],
    )


def logistics() -> Policy:
    """Rulebook B alone (a logistics company's rapid-response mechanism)."""
    return Policy(
        name="logistics",
        description="Rulebook B alone: logistics complaint rapid response.",
        rules=[
            # "紧急类需在1小时内启动响应" is the urgent first response; "一般类在48小时内回复" the general resolution.
            _r(N.FIRST_RESPONSE, URGENT, 1 * H, "B §1.2"),
            _r(N.PRELIMINARY_PLAN, URGENT, 2 * H, "B §1.2"),
            _r(N.RESOLUTION, IMPORTANT, 24 * H, "B §1.2", pauses_when_waiting=True),
            _r(N.RESOLUTION, GENERAL, 48 * H, "B §1.2", pauses_when_waiting=True),
        ],
        alert_at_intake={
            Tier.GENERAL: [Role.SPECIALIST],
            Tier.IMPORTANT: [Role.SPECIALIST],  # cross-department queue
            Tier.URGENT: [Role.SPECIALIST, Role.SUPERVISOR, Role.DEPARTMENT_HEAD],  # green channel
        },
    )


def scaled(policy: Policy, factor: float) -> Policy:
    """Every window multiplied by `factor` (1/60: minutes become seconds) on around-the-clock calendars:
    for benchmarks and demos, where a lifecycle must finish in seconds whatever the hour."""
    if factor <= 0:
        raise ValueError("factor must be positive")
    data = policy.model_copy(deep=True)
    return Policy(
        name=f"{policy.name}-x{factor:g}",
        description=f"{policy.name} with every window ×{factor:g}, around the clock",
        rules=[r.model_copy(update={"window": r.window * factor, "calendar": None}) for r in data.rules],
        tier_calendars={t: AROUND_THE_CLOCK for t in Tier},
        calendars={AROUND_THE_CLOCK: around_the_clock_spec()},
        warn_ratio=data.warn_ratio,
        peak=data.peak,
        rating_window=data.rating_window * factor,
        rating_calendar=AROUND_THE_CLOCK,
        satisfied_score=data.satisfied_score,
        department_report_window=data.department_report_window * factor,
        joint_investigation=data.joint_investigation,
        alert_at_intake=data.alert_at_intake,
    )


def bench() -> Policy:
    return scaled(standard(), 1 / 60).model_copy(update={"name": "bench"})


PRESETS = {"standard": standard, "after-sales": after_sales, "logistics": logistics, "bench": bench}
_PRESET_CACHE: dict[str, Policy] = {}


def preset(name: str) -> Policy:
    """A preset by name, built once per process and shared: a `Policy` is frozen, and what changes one makes
    a new one (`for_complaint`, `with_calendars`, `model_copy`). A deep copy per call was a twentieth of the
    web process's CPU at intake."""
    if name not in PRESETS:
        raise KeyError(f"unknown policy {name!r}; presets: {', '.join(PRESETS)}")
    cached = _PRESET_CACHE.get(name)
    if cached is None:
        cached = _PRESET_CACHE[name] = PRESETS[name]()
    return cached


def load_policy(name_or_path: str | Path) -> Policy:
    """A preset name, or a JSON / YAML policy file."""
    if isinstance(name_or_path, str) and name_or_path in PRESETS:
        return preset(name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        raise ValueError(f"{name_or_path!s} is neither a preset ({', '.join(PRESETS)}) nor a policy file")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    elif path.suffix.lower() == ".json":
        data = json.loads(text)
    else:
        raise ValueError(f"{path}: policy files are .json, .yaml or .yml")
    if isinstance(data, dict) and "extends" in data:
        # A file may start from a preset and override parts of it: {extends: standard, warn_ratio: 0.8}
        base = load_policy(str(data.pop("extends"))).model_dump()
        base.update(data)
        data = base
    return Policy.model_validate(data)
