"""The dashboard's figures, straight from the ledger (the page and the CSV share them; ui/reports.py writes the CSV).

Deadline compliance counts only settled clocks: an obligation met in time is on time; met late or still
breached is late; open, paused and waived clocks are not counted. The rating window is a survey, not a
deadline, so it is left out. Per department, a clock belongs to whoever had to act on it: customer-service
clocks (first response, supervisor ack, direct answer, assignment, customer updates, result feedback) to
customer service, department reports to their department, handling clocks (plan, handling start, progress,
resolution) to every department the complaint was assigned to. Per person, to whoever held the complaint
when the clock fell due (a breach) or when it was met in time; nobody held it: the unassigned queue.

Satisfaction counts every rating the customers gave (a complaint rated 2, reopened and rated 5 counts both),
and shows the first-time and the final ratings apart. Complaints without a region are "unknown", never a hot
spot. Customer updates the system sent on schedule because nobody had are "automatic", counted apart from
the staff's and never as a deadline met. Each figure's definition is shown in the dashboard's help (`dashboard.help.*`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import asyncpg
from pydantic import BaseModel, Field, field_validator

from domain.models import Channel, ComplaintType, Department, Tier

HANDLING_CLOCKS = ("preliminary_plan", "handling_start", "progress_report", "resolution")
AGE_BUCKETS = (("lt1h", 1), ("1to4h", 4), ("4to24h", 24), ("1to3d", 72), ("gt3d", None))


class ReportFilter(BaseModel):
    """Query-string filters of the dashboard and its CSV; bad values are a 422 naming the field."""

    date_from: datetime | None = Field(default=None, alias="from")
    date_to: datetime | None = Field(default=None, alias="to")
    tier: Tier | None = None
    complaint_type: ComplaintType | None = Field(default=None, alias="type")
    channel: Channel | None = None
    region: str | None = Field(default=None, max_length=100)
    customer_type: str | None = Field(default=None, max_length=50)
    department: Department | None = None

    model_config = {"populate_by_name": True}
    zone: Any = Field(default=UTC, exclude=True)  # the viewer's zone, set by the page (not a query field)

    @field_validator(
        "tier", "complaint_type", "channel", "region", "customer_type", "department", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        return None if v == "" else v

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _blank_date(cls, v: object) -> object:
        return None if v == "" else v

    def window(self, zone: tzinfo = UTC, now: datetime | None = None) -> tuple[datetime, datetime]:
        """[from, to) in the viewer's zone: a bare date `to` includes that whole day; default: the last 30
        whole days up to and including today, so the range shown, exported and counted is the same."""
        now = now or datetime.now(UTC)
        if self.date_to:
            end = _aware(self.date_to, zone)
            if self.date_to.time() == datetime.min.time():
                end = end + timedelta(days=1)
        else:
            today = now.astimezone(zone).date()
            end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        start = _aware(self.date_from, zone) if self.date_from else end - timedelta(days=30)
        return start, end

    def sql_args(self) -> list[Any]:
        start, end = self.window(self.zone)
        return [
            start,
            end,
            self.tier.value if self.tier else None,
            self.complaint_type.value if self.complaint_type else None,
            self.channel.value if self.channel else None,
            self.region,
            self.customer_type,
            self.department.value if self.department else None,
        ]


def _aware(dt: datetime, zone: tzinfo) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=zone)


def window_dates(window: tuple[datetime, datetime], zone: tzinfo) -> tuple[str, str]:
    """The first and the last day of a [from, to) window, in the viewer's zone: what the date inputs show,
    and what the CSV's file name says."""
    start, end = window
    return (
        start.astimezone(zone).date().isoformat(),
        (end - timedelta(microseconds=1)).astimezone(zone).date().isoformat(),
    )


# $1..$8 as in ReportFilter.sql_args(); `c` is the filtered set of complaints received in the window.
_FILTERED = """
c AS (
    SELECT * FROM complaints
    WHERE received_at >= $1 AND received_at < $2
      AND ($3::text IS NULL OR tier = $3) AND ($4::text IS NULL OR complaint_type = $4)
      AND ($5::text IS NULL OR channel = $5) AND ($6::text IS NULL OR region = $6)
      AND ($7::text IS NULL OR customer_type = $7) AND ($8::text IS NULL OR departments @> ARRAY[$8::text])
)"""

# `automatic`: a periodic report or customer update the system sent on schedule because nobody had (the
# workflow's event of that kind and occurrence, by the system): not a deadline a person met, counted apart.
_SETTLED = """
o AS (
    SELECT o.*, c.departments AS complaint_departments,
           EXISTS (SELECT 1 FROM timeline_events e
                   WHERE e.complaint_id = o.complaint_id AND e.kind = o.name AND e.actor_role = 'system'
                     AND e.data->>'occurrence' = o.occurrence::text) AS automatic
    FROM obligations o JOIN c USING (complaint_id)
    WHERE o.name <> 'rating' AND o.status IN ('met', 'met_late', 'breached')
)"""

_COMPLIANCE_COLUMNS = """
    count(*) FILTER (WHERE status = 'met' AND NOT automatic) AS on_time,
    count(*) FILTER (WHERE NOT automatic) AS settled,
    count(*) FILTER (WHERE status = 'breached') AS still_breached,
    count(*) FILTER (WHERE automatic) AS automatic"""


@dataclass
class Row:
    key: str
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values.get(name)


@dataclass
class Report:
    filters: ReportFilter
    window: tuple[datetime, datetime]
    summary: dict[str, Any]
    compliance: dict[str, list[Row]]  # tier / obligation / department / person
    breakdowns: dict[str, list[Row]]  # type / channel / region / category
    stages: list[Row]  # stage → seconds
    ageing: list[Row]  # bucket → counts per tier
    names: dict[str, str] = field(default_factory=dict)  # staff id → display name


UNKNOWN = ""  # the group of rows without a value (no region; no holder: the unassigned queue)


def _rows(records: list[asyncpg.Record]) -> list[Row]:
    return [Row(key=str(r["key"]) if r["key"] is not None else UNKNOWN, values=dict(r)) for r in records]


async def summary(pool: asyncpg.Pool, f: ReportFilter) -> dict[str, Any]:
    row = await pool.fetchrow(
        f"""WITH {_FILTERED}
        SELECT count(*) AS total,
               count(*) FILTER (WHERE state NOT IN ('merged', 'cancelled')) AS counted,
               count(*) FILTER (WHERE resolved_at IS NOT NULL OR state IN ('answered', 'resolved',
                                'awaiting_rating', 'closed') AND state NOT IN ('merged', 'cancelled')) AS resolved,
               count(*) FILTER (WHERE is_open) AS open,
               avg(extract(epoch FROM first_response_at - received_at)) AS avg_first_response_s,
               avg(extract(epoch FROM resolved_at - received_at)) AS avg_resolution_s,
               (SELECT avg(r.score)::float FROM ratings r JOIN c c2 USING (complaint_id)) AS avg_satisfaction,
               (SELECT count(*) FROM ratings r JOIN c c2 USING (complaint_id)) AS ratings,
               (SELECT avg(score)::float FROM (SELECT DISTINCT ON (r.complaint_id) r.score FROM ratings r
                    JOIN c c2 USING (complaint_id) ORDER BY r.complaint_id, r.at) f) AS avg_first_rating,
               (SELECT avg(score)::float FROM (SELECT DISTINCT ON (r.complaint_id) r.score FROM ratings r
                    JOIN c c2 USING (complaint_id) ORDER BY r.complaint_id, r.at DESC) f) AS avg_final_rating,
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ratings r WHERE r.complaint_id = c.complaint_id))
                   AS rated,
               (SELECT count(*) FROM timeline_events e JOIN c c2 USING (complaint_id)
                    WHERE e.kind = 'progress' AND e.data->>'to_customer' = 'true') AS staff_updates,
               (SELECT count(*) FROM timeline_events e JOIN c c2 USING (complaint_id)
                    WHERE e.kind = 'customer_update' AND e.actor_role = 'system') AS automatic_updates,
               (SELECT count(*) FROM timeline_events e JOIN c c2 USING (complaint_id)
                    WHERE e.kind = 'customer_update' AND e.actor_role = 'system'
                      AND e.data->>'no_progress' = 'true') AS no_progress_updates,
               count(*) FILTER (WHERE reopen_count > 0) AS reopened,
               sum(breach_count) AS breaches
        FROM c""",
        *f.sql_args(),
    )
    out = dict(row)
    out["resolution_rate"] = (out["resolved"] / out["counted"]) if out["counted"] else None
    out["reopen_rate"] = (out["reopened"] / out["rated"]) if out["rated"] else None
    return out


async def compliance(pool: asyncpg.Pool, f: ReportFilter) -> dict[str, list[Row]]:
    args = f.sql_args()
    queries = {
        "tier": f"WITH {_FILTERED}, {_SETTLED} SELECT tier AS key, {_COMPLIANCE_COLUMNS} FROM o GROUP BY 1 ORDER BY 1",
        "obligation": f"WITH {_FILTERED}, {_SETTLED} SELECT name AS key, {_COMPLIANCE_COLUMNS} FROM o"
        " GROUP BY 1 ORDER BY 1",
        "department": f"""WITH {_FILTERED}, {_SETTLED}
            SELECT d AS key, {_COMPLIANCE_COLUMNS}
            FROM o, LATERAL unnest(CASE
                WHEN o.name = 'department_report' AND o.department <> '' THEN ARRAY[o.department]
                WHEN o.name = ANY($9::text[]) AND cardinality(o.complaint_departments) > 0
                    THEN o.complaint_departments
                ELSE ARRAY['customer_service'] END) AS d
            GROUP BY 1 ORDER BY 1""",
        "person": f"WITH {_FILTERED}, {_SETTLED} SELECT holder_id AS key, {_COMPLIANCE_COLUMNS} FROM o"
        " GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 30",
    }
    out: dict[str, list[Row]] = {}
    for name, sql in queries.items():
        extra = [list(HANDLING_CLOCKS)] if name == "department" else []
        out[name] = _rows(await pool.fetch(sql, *args, *extra))
        for r in out[name]:
            r.values["ratio"] = (r["on_time"] / r["settled"]) if r["settled"] else None
    return out


async def breakdowns(pool: asyncpg.Pool, f: ReportFilter) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for name, column in (
        ("type", "complaint_type"),
        ("channel", "channel"),
        ("region", "NULLIF(btrim(region), '')"),  # NULL: unknown
        ("category", "category"),
        ("customer_type", "customer_type"),
    ):
        records = await pool.fetch(
            f"""WITH {_FILTERED}
            SELECT {column} AS key, count(*) AS complaints, count(*) FILTER (WHERE breach_count > 0) AS breached,
                   avg(satisfaction)::float AS satisfaction,
                   avg(extract(epoch FROM resolved_at - received_at)) AS avg_resolution_s
            FROM c GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 25""",
            *f.sql_args(),
        )
        out[name] = _rows(records)
    return out


async def stage_share(pool: asyncpg.Pool, f: ReportFilter) -> list[Row]:
    """Seconds spent per state, from the complaints' state changes in the timeline (the time up to now for
    the state an open complaint is in). A state change is any event whose data names the new state."""
    records = await pool.fetch(
        f"""WITH {_FILTERED},
        changes AS (
            SELECT e.complaint_id, e.at, e.data->>'state' AS state
            FROM timeline_events e JOIN c USING (complaint_id)
            WHERE e.data ? 'state'
            UNION ALL
            SELECT complaint_id, received_at, 'received' FROM c
        ),
        spans AS (
            SELECT complaint_id, state, at,
                   lead(at) OVER (PARTITION BY complaint_id ORDER BY at, state = 'received' DESC) AS until
            FROM changes
        )
        SELECT s.state AS key,
               sum(extract(epoch FROM COALESCE(s.until, CASE WHEN c.is_open THEN now() ELSE s.at END) - s.at))
                   AS seconds
        FROM spans s JOIN c USING (complaint_id)
        WHERE s.state NOT IN ('closed', 'merged', 'cancelled')
        GROUP BY 1 HAVING sum(extract(epoch FROM COALESCE(s.until, now()) - s.at)) > 0 ORDER BY 2 DESC""",
        *f.sql_args(),
    )
    return _rows(records)


async def ageing(pool: asyncpg.Pool, f: ReportFilter) -> list[Row]:
    """Open complaints by age right now (the time range does not apply: age is measured from now)."""
    args = f.sql_args()
    args[0], args[1] = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
    records = await pool.fetch(
        f"""WITH {_FILTERED}
        SELECT CASE WHEN age < interval '1 hour' THEN 'lt1h' WHEN age < interval '4 hours' THEN '1to4h'
                    WHEN age < interval '24 hours' THEN '4to24h' WHEN age < interval '72 hours' THEN '1to3d'
                    ELSE 'gt3d' END AS key,
               count(*) FILTER (WHERE tier = 'urgent') AS urgent,
               count(*) FILTER (WHERE tier = 'important') AS important,
               count(*) FILTER (WHERE tier = 'general') AS general,
               count(*) AS total
        FROM (SELECT tier, now() - received_at AS age FROM c WHERE is_open) x GROUP BY 1""",
        *args,
    )
    by_key = {r.key: r for r in _rows(records)}
    return [
        by_key.get(k) or Row(key=k, values={"urgent": 0, "important": 0, "general": 0, "total": 0})
        for k, _ in AGE_BUCKETS
    ]


async def staff_names(pool: asyncpg.Pool) -> dict[str, str]:
    try:
        return {
            r["username"]: r["display_name"]
            for r in await pool.fetch("SELECT username, display_name FROM staff_users")
        }
    except asyncpg.UndefinedTableError:
        return {}


async def build(pool: asyncpg.Pool, f: ReportFilter) -> Report:
    return Report(
        filters=f,
        window=f.window(f.zone),
        summary=await summary(pool, f),
        compliance=await compliance(pool, f),
        breakdowns=await breakdowns(pool, f),
        stages=await stage_share(pool, f),
        ageing=await ageing(pool, f),
        names=await staff_names(pool),
    )


RECORD_COLUMNS = (
    "complaint_id",
    "received_at",
    "state",
    "tier",
    "complaint_type",
    "category",
    "channel",
    "customer_type",
    "region",
    "departments",
    "holder_id",
    "first_response_min",
    "resolution_h",
    "breach_count",
    "reopen_count",
    "satisfaction",
    "closed_at",
)


async def records(pool: asyncpg.Pool, f: ReportFilter, limit: int = 50_000) -> list[list[Any]]:
    """One line per complaint in the range (A §3.4 records by time, customer type, issue type), times in the
    viewer's zone; no customer name or contact (A §4.2)."""
    rows = await pool.fetch(
        f"""WITH {_FILTERED}
        SELECT complaint_id, received_at, state, tier, complaint_type, category, channel, customer_type, region,
               array_to_string(departments, ' ') AS departments, holder_id,
               round((extract(epoch FROM first_response_at - received_at) / 60)::numeric, 1) AS first_response_min,
               round((extract(epoch FROM resolved_at - received_at) / 3600)::numeric, 2) AS resolution_h,
               breach_count, reopen_count, satisfaction, closed_at
        FROM c ORDER BY received_at LIMIT {int(limit)}""",
        *f.sql_args(),
    )
    out: list[list[Any]] = [list(RECORD_COLUMNS)]
    for r in rows:
        out.append(
            [
                r[c].astimezone(f.zone).isoformat(timespec="minutes")
                if isinstance(r[c], datetime)
                else plain_number(r[c])
                for c in RECORD_COLUMNS
            ]
        )
    return out


def plain_number(v: Any) -> Any:
    """A figure as a spreadsheet cell: empty for none, floats and decimals rounded to 4 places."""
    if v is None:
        return ""
    if isinstance(v, float):
        return round(v, 4)
    if hasattr(v, "is_finite"):  # Decimal from numeric aggregates
        return round(float(v), 4)
    return v
