"""What if: a period's recorded complaints replayed under a proposed policy beside another (issue 17).

Every complaint goes through `domain.replay.replay` — the obligation book, the same rules code as the running
complaints — once per side; this module only chooses the actions' moments (as recorded, sooner, or with more
people on shift), counts what came out, and checks the replay against the record (calibration).
Pure: the ledger reads (ledger/whatif.py) and the report's HTML/CSV (ui/whatif_report.py) are elsewhere.

Staffing model (docs/what-if.md): each staff action waited, since the complaint's previous event, for a
person of its shift (00–08, 08–16, 16–24 local time). `faster=f` makes every such wait (1 − f) as long;
`extra_staff=n` makes it c / (c + n) as long, c being how many distinct people acted in that shift in the
record (the queue drains in proportion to the people serving it). Customers' own waits (their rating, their
reply) keep their recorded length; the order of a complaint's events never changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.calendar import DEFAULT_TIMEZONE
from domain.models import ObligationName, ObligationStatus
from domain.policy import PRESETS, Policy, preset
from domain.replay import Action, Intake, Outcome, Replayed, replay

S = ObligationStatus
LOCAL = ZoneInfo(DEFAULT_TIMEZONE)
SHIFT_HOURS = 8
TOLERANCE = timedelta(seconds=1)  # calibration: the recorded moment within a second
SETTLED_ON_TIME = {S.MET.value}
COUNTED = {S.MET.value, S.MET_LATE.value, S.BREACHED.value}  # what compliance is counted over


@dataclass(frozen=True)
class RecordedOutcome:
    status: str
    met_at: datetime | None
    breached_at: datetime | None


@dataclass(frozen=True)
class Recorded:
    """One complaint of the period as the ledger holds it."""

    intake: Intake
    policy: str  # the policy it ran on
    department: str  # for the report: its (first) department, "" when none
    actions: list[Action]
    outcomes: dict[tuple[str, int, str], RecordedOutcome] = field(default_factory=dict)


@dataclass(frozen=True)
class Staffing:
    faster: float = 0.0  # 0.2: every staff wait 20 % shorter
    extra_staff: int = 0  # people added to every shift

    @property
    def none(self) -> bool:
        return self.faster == 0 and self.extra_staff == 0

    def words(self) -> str:
        parts = [f"{self.faster:.0%} faster"] if self.faster else []
        parts += [f"+{self.extra_staff} staff per shift"] if self.extra_staff else []
        return ", ".join(parts) or "as recorded"


Key = tuple[str, str, str, int]  # obligation, tier, department, local hour of day


@dataclass
class Side:
    """One policy (and staffing) over the period."""

    label: str
    policy: str
    staffing: Staffing
    breaches: Counter[Key] = field(default_factory=Counter)
    warnings: Counter[Key] = field(default_factory=Counter)
    on_time: Counter[str] = field(default_factory=Counter)  # per tier
    counted: Counter[str] = field(default_factory=Counter)
    automatic: Counter[str] = field(
        default_factory=Counter
    )  # progress_report / customer_update sent by the system

    @property
    def breach_total(self) -> int:
        return sum(self.breaches.values())

    @property
    def warning_total(self) -> int:
        return sum(self.warnings.values())

    def compliance(self, tier: str) -> float | None:
        n = self.counted[tier]
        return self.on_time[tier] / n if n else None


@dataclass(frozen=True)
class Mismatch:
    complaint_id: str
    obligation: str
    occurrence: int
    department: str
    recorded: str  # "breached @ 2026-11-03T10:00:00+00:00"
    replayed: str


@dataclass
class Calibration:
    total: int = 0
    reproduced: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    not_replayable: list[str] = field(default_factory=list)  # complaints on a policy no longer known

    @property
    def share(self) -> float | None:
        return self.reproduced / self.total if self.total else None


@dataclass
class WhatIf:
    start: date
    end: date
    complaints: int
    sides: list[Side]
    calibration: Calibration
    busiest_day: date | None = None
    staff_series: list[tuple[int, int]] = field(default_factory=list)  # (people added, breaches that day)


# -- staffing ------------------------------------------------------------------------------------------------------
def shift_of(at: datetime) -> tuple[date, int]:
    local = at.astimezone(LOCAL)
    return local.date(), local.hour // SHIFT_HOURS


def people_per_shift(records: Iterable[Recorded]) -> dict[tuple[date, int], int]:
    """How many distinct people acted in each shift of the record."""
    seen: dict[tuple[date, int], set[str]] = {}
    for r in records:
        for a in r.actions:
            if a.by_staff:
                seen.setdefault(shift_of(a.at), set()).add(a.actor.id)
    return {k: len(v) for k, v in seen.items()}


def staffed(r: Recorded, staffing: Staffing, people: dict[tuple[date, int], int]) -> list[Action]:
    """The complaint's actions at the moments the staffing model gives them (docs/what-if.md)."""
    if staffing.none:
        return r.actions
    out: list[Action] = []
    prev_recorded = prev_new = r.intake.received_at
    for a in sorted(r.actions, key=lambda a: a.at):
        gap = a.at - prev_recorded
        if a.by_staff:
            c = max(people.get(shift_of(a.at), 1), 1)
            gap = gap * (1 - staffing.faster) * c / (c + staffing.extra_staff)
        prev_recorded, prev_new = a.at, prev_new + gap
        out.append(replace(a, at=prev_new.replace(microsecond=0)))
    return out


# -- counting --------------------------------------------------------------------------------------------------------
def _hour(at: datetime) -> int:
    return at.astimezone(LOCAL).hour


def count(side: Side, r: Recorded, rep: Replayed) -> None:
    tier = rep.tier.value
    for name, at in rep.breaches:
        side.breaches[(name.value, tier, r.department, _hour(at))] += 1
    for name, at in rep.warnings:
        side.warnings[(name.value, tier, r.department, _hour(at))] += 1
    for o in rep.outcomes:
        if o.periodic or o.status not in COUNTED:
            continue
        side.counted[tier] += 1
        side.on_time[tier] += o.status in SETTLED_ON_TIME
    for name, n in rep.automatic.items():
        side.automatic[name.value] += n


def _said(status: str, met: datetime | None, breached: datetime | None) -> str:
    moments = [f"met {met.isoformat()}"] if met else []
    moments += [f"breached {breached.isoformat()}"] if breached else []
    return " ".join([status, *moments])


def _close(a: datetime | None, b: datetime | None) -> bool:
    return (a is None) == (b is None) and (a is None or b is None or abs(a - b) <= TOLERANCE)


def calibrate(cal: Calibration, r: Recorded, rep: Replayed) -> None:
    """Every recorded obligation must come out of the replay as it was recorded, at the same moments."""
    got: dict[tuple[str, int, str], Outcome] = {o.key: o for o in rep.outcomes}
    for key, want in r.outcomes.items():
        cal.total += 1
        o = got.get(key)
        if (
            o is not None
            and o.status == want.status
            and _close(o.met_at, want.met_at)
            and _close(o.breached_at, want.breached_at)
        ):
            cal.reproduced += 1
            continue
        cal.mismatches.append(
            Mismatch(
                r.intake.complaint_id,
                key[0],
                key[1],
                key[2],
                _said(want.status, want.met_at, want.breached_at),
                _said(o.status, o.met_at, o.breached_at) if o else "not opened",
            )
        )


# -- the whole what-if -------------------------------------------------------------------------------------------------
def what_if(
    records: list[Recorded],
    proposed: Policy,
    against: Callable[[str], Policy | None],
    *,
    start: date,
    end: date,
    as_of: datetime,
    against_label: str = "in force",
    staffing: Staffing = Staffing(),
    in_force: Callable[[str], Policy | None] | None = None,
    staff_steps: int = 5,
    progress: Callable[[int], None] | None = None,
) -> WhatIf:
    """Replay `records` under `against` (by each complaint's recorded policy name: the policy in force, or one
    named for all) and under `proposed` — and with `staffing`, when given. `in_force` (default: `against`)
    is what calibration replays; when it is `against`, its replay is reused. `progress(n)` after n complaints."""
    in_force = in_force or against
    reuse = in_force is against
    a_side = Side(against_label, against_label, Staffing())
    p_side = Side("proposed", proposed.name, Staffing())
    sides = [a_side, p_side]
    s_side = None
    if not staffing.none:
        s_side = Side(f"proposed, {staffing.words()}", proposed.name, staffing)
        sides.append(s_side)
    people = people_per_shift(records) if not staffing.none or staff_steps else {}
    cal = Calibration()
    per_day: Counter[date] = Counter()
    for i, r in enumerate(records, 1):
        per_day[r.intake.received_at.astimezone(LOCAL).date()] += 1
        base = against(r.policy)
        if base is None:
            cal.not_replayable.append(r.intake.complaint_id)
        else:
            rep = replay(r.intake, r.actions, base, as_of)
            count(a_side, r, rep)
            if reuse:
                calibrate(cal, r, rep)
        if not reuse:
            force = in_force(r.policy)
            if force is None:
                cal.not_replayable.append(r.intake.complaint_id)
            else:
                calibrate(cal, r, replay(r.intake, r.actions, force, as_of))
        count(p_side, r, replay(r.intake, r.actions, proposed, as_of))
        if s_side is not None:
            count(s_side, r, replay(r.intake, staffed(r, staffing, people), proposed, as_of))
        if progress is not None:
            progress(i)
    out = WhatIf(start, end, len(records), sides, cal)
    if per_day and staff_steps:
        out.busiest_day = max(per_day, key=lambda d: (per_day[d], d))
        day = [r for r in records if r.intake.received_at.astimezone(LOCAL).date() == out.busiest_day]
        top = max(staff_steps, staffing.extra_staff)
        for n in range(top + 1):
            side = Side("", proposed.name, Staffing(faster=staffing.faster, extra_staff=n))
            for r in day:
                count(side, r, replay(r.intake, staffed(r, side.staffing, people), proposed, as_of))
            out.staff_series.append((n, side.breach_total))
    return out


def tiers(report: WhatIf) -> list[str]:
    return sorted(
        {t for s in report.sides for t in s.counted} | {k[1] for s in report.sides for k in s.breaches}
    )


def obligation_names() -> list[str]:
    return [n.value for n in ObligationName]


_PRESETS: dict[str, Policy] = {}


def in_force(name: str) -> Policy | None:
    """The preset a complaint ran on, by its recorded name (None: not a preset any more). One copy per
    name: the replay never changes a policy, and its calendars are then built once."""
    if name not in PRESETS:
        return None
    if name not in _PRESETS:
        _PRESETS[name] = preset(name)
    return _PRESETS[name]


def against_policy(name: str | None) -> tuple[Callable[[str], Policy | None], str]:
    """The side to compare with: a preset named for every complaint, or (None) each one's policy in force."""
    if not name:
        return in_force, "in force"
    policy = preset(name)  # KeyError: an unknown preset
    return (lambda _recorded: policy), name


def percent(text: str) -> float:
    """'20%' or '20' → 0.2; between 0 and 95 %."""
    value = float(text.strip().rstrip("%")) / 100
    if not 0 <= value <= 0.95:
        raise ValueError("between 0% and 95%")
    return value
