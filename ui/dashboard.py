"""The supervisor dashboard: deadline compliance, response and resolution times, satisfaction, hot spots,
time per stage, open complaints by age — with a time range, filters and CSV export. Figures: ledger/reports.py; the CSV: ui/reports.py.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from core.csv_cells import csv_cell
from domain.models import Channel, ComplaintType, Department, Role, Tier
from ledger import reports
from starters.calendars import shared_book
from ui import charts
from ui import reports as csv_report
from ui.actions import validation_message
from ui.auth import StaffUser, require_role
from ui.charts import Bar
from ui.i18n import label, t
from ui.templating import render, request_locale, viewer_zone

router = APIRouter(include_in_schema=False)

DASHBOARD_ROLES = (Role.SUPERVISOR, Role.SENIOR_SUPERVISOR, Role.DEPARTMENT_HEAD)


def _filters(request: Request) -> reports.ReportFilter:
    query = {k: v for k, v in request.query_params.items() if k != "zone"}
    f = reports.ReportFilter.model_validate(query)
    f.zone = viewer_zone(request)
    return f


def _duration(seconds: float | None, locale: str) -> str:
    if seconds is None:
        return "—"
    s = float(seconds)
    if s < 3600:
        return f"{s / 60:.1f} {'分钟' if locale == 'zh-CN' else 'min'}"
    if s < 86400 * 2:
        return f"{s / 3600:.1f} {'小时' if locale == 'zh-CN' else 'h'}"
    return f"{s / 86400:.1f} {'天' if locale == 'zh-CN' else 'd'}"


def _score(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f} / 5"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


def _compliance_chart(
    rows: list[reports.Row], kind: str | None, locale: str, names: dict[str, str], title: str
):
    bars = []
    for r in rows:
        if r["ratio"] is None:
            continue
        if kind is None:  # per person: display names; no holder when it fell due: the unassigned queue
            name = names.get(r.key, r.key) if r.key else t("dashboard.unassigned_queue", locale)
        else:
            name = label(kind, r.key, locale)
        bars.append(
            Bar(
                label=name,
                value=r["ratio"],
                text=_pct(r["ratio"]),
                hint=f"{r['on_time']}/{r['settled']}",
                color=charts.compliance_color(r["ratio"]),
            )
        )
    return charts.hbar(bars, title=title, max_value=1.0) if bars else None


def _count_chart(rows: list[reports.Row], kind: str | None, locale: str, title: str, *, heat: bool = False):
    """Complaints per group; `heat` colours the biggest groups (hot spots) red, the middling ones amber.
    Complaints without a value (no region) are "unknown", grey, listed last and never a hot spot."""
    known = [r for r in rows if r.key]
    top = max((r["complaints"] for r in known), default=0) or 1
    bars = []
    for r in [*known, *(r for r in rows if not r.key)]:
        share = r["complaints"] / top
        color = (
            (charts.RED if share >= 0.66 else charts.AMBER if share >= 0.33 else charts.BLUE)
            if heat
            else charts.BLUE
        )
        bars.append(
            Bar(
                label=(label(kind, r.key, locale) if kind else r.key)
                if r.key
                else t("dashboard.unknown", locale),
                value=r["complaints"],
                text=str(r["complaints"]),
                hint=t("dashboard.breached_hint", locale, n=r["breached"]),
                color=color if r.key else charts.GREY,
            )
        )
    return charts.hbar(bars, title=title) if bars else None


def _stage_chart(rows: list[reports.Row], locale: str, title: str):
    total = sum(float(r["seconds"]) for r in rows) or 1.0
    bars = [
        Bar(
            label=label("state", r.key, locale),
            value=float(r["seconds"]) / total,
            text=f"{float(r['seconds']) / total:.0%} · {_duration(float(r['seconds']), locale)}",
            color=charts.PALETTE[i % len(charts.PALETTE)],
        )
        for i, r in enumerate(rows)
    ]
    return charts.hbar(bars, title=title, max_value=1.0) if bars else None


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, user: StaffUser = Depends(require_role(*DASHBOARD_ROLES))) -> Response:
    locale = request_locale(request)
    try:
        f = _filters(request)
    except ValidationError as e:
        return render(
            request,
            "error.html",
            {
                "user": user,
                "status_code": 422,
                "message": validation_message(e, locale),
                "back": "/dashboard",
            },
            status_code=422,
        )
    report = await reports.build(request.app.state.ctx.pool, f)
    calendar_gaps = await _calendar_gaps(request, locale)
    s = report.summary
    _ = lambda key, **kw: t(key, locale, **kw)  # noqa: E731
    chart = {
        "tier": _compliance_chart(
            report.compliance["tier"], "tier", locale, {}, _("dashboard.compliance_tier")
        ),
        "obligation": _compliance_chart(
            report.compliance["obligation"], "obligation", locale, {}, _("dashboard.compliance_obligation")
        ),
        "department": _compliance_chart(
            report.compliance["department"], "department", locale, {}, _("dashboard.compliance_department")
        ),
        "person": _compliance_chart(
            report.compliance["person"], None, locale, report.names, _("dashboard.compliance_person")
        ),
        "type": _count_chart(report.breakdowns["type"], "type", locale, _("dashboard.by_type")),
        "channel": _count_chart(report.breakdowns["channel"], "channel", locale, _("dashboard.by_channel")),
        "region": _count_chart(
            report.breakdowns["region"], None, locale, _("dashboard.by_region"), heat=True
        ),
        "category": _count_chart(
            report.breakdowns["category"], "category", locale, _("dashboard.by_category")
        ),
        "stages": _stage_chart(report.stages, locale, _("dashboard.stage_share")),
        "ageing": charts.stacked(
            [
                (
                    t(f"age.{r.key}", locale),
                    [
                        (label("tier", tier, locale), r[tier.value] or 0)
                        for tier in (Tier.URGENT, Tier.IMPORTANT, Tier.GENERAL)
                    ],
                )
                for r in report.ageing
            ],
            title=_("dashboard.ageing"),
            colors={
                label("tier", Tier.URGENT, locale): charts.RED,
                label("tier", Tier.IMPORTANT, locale): charts.AMBER,
                label("tier", Tier.GENERAL, locale): charts.BLUE,
            },
        )
        if any(r["total"] for r in report.ageing)
        else None,
    }
    kpis = [
        ("dashboard.total", str(s["total"])),
        ("dashboard.first_response", _duration(s["avg_first_response_s"], locale)),
        ("dashboard.resolution_time", _duration(s["avg_resolution_s"], locale)),
        ("dashboard.resolution_rate", _pct(s["resolution_rate"])),
        ("dashboard.satisfaction", _score(s["avg_satisfaction"])),
        ("dashboard.ratings", str(s["ratings"])),
        ("dashboard.first_rating", _score(s["avg_first_rating"])),
        ("dashboard.final_rating", _score(s["avg_final_rating"])),
        ("dashboard.reopen_rate", _pct(s["reopen_rate"])),
        ("dashboard.staff_updates", str(s["staff_updates"])),
        ("dashboard.automatic_updates", str(s["automatic_updates"])),
        ("dashboard.no_progress_updates", str(s["no_progress_updates"])),
    ]
    return render(
        request,
        "dashboard.html",
        {
            "user": user,
            "nav": "dashboard",
            "f": f,
            "kpis": kpis,
            "chart": chart,
            "date_from": reports.window_dates(report.window, f.zone)[0],
            "date_to": reports.window_dates(report.window, f.zone)[1],
            "tiers": list(Tier),
            "types": list(ComplaintType),
            "channels": list(Channel),
            "departments": list(Department),
            "query": request.url.query,
            "calendar_gaps": calendar_gaps,
        },
    )


async def _calendar_gaps(request: Request, locale: str) -> list[str]:
    """Years whose holiday schedule is not confirmed yet (this one and the next): deadlines may be wrong."""
    ctx = request.app.state.ctx
    gaps = await shared_book(ctx.settings, ctx.pool).gaps(datetime.now(UTC).date())
    return [g.message(locale) for g in gaps]


@router.get("/dashboard/complaints.csv")
async def complaints_csv(
    request: Request, user: StaffUser = Depends(require_role(*DASHBOARD_ROLES))
) -> Response:
    """The complaints behind the figures, one per line, with the same range and filters."""
    locale = request_locale(request)
    try:
        f = _filters(request)
    except ValidationError as e:
        return Response(
            validation_message(e, locale), status_code=422, media_type="text/plain; charset=utf-8"
        )
    first_day, last_day = reports.window_dates(f.window(f.zone), f.zone)
    return _csv(
        await reports.records(request.app.state.ctx.pool, f), f"complaints-{first_day}-{last_day}.csv"
    )


def _csv(rows: list[list], name: str) -> Response:
    buf = io.StringIO()
    csv.writer(buf).writerows([csv_cell(c) for c in row] for row in rows)
    # A byte-order mark so spreadsheet programs open the UTF-8 (Chinese region names) correctly.
    return Response(
        "\ufeff" + buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/dashboard.csv")
async def dashboard_csv(
    request: Request, user: StaffUser = Depends(require_role(*DASHBOARD_ROLES))
) -> Response:
    locale = request_locale(request)
    try:
        f = _filters(request)
    except ValidationError as e:
        return Response(
            validation_message(e, locale), status_code=422, media_type="text/plain; charset=utf-8"
        )
    report = await reports.build(request.app.state.ctx.pool, f)
    first_day, last_day = reports.window_dates(report.window, f.zone)
    return _csv(csv_report.csv_rows(report), f"complaints-report-{first_day}-{last_day}.csv")


def banner_lines(settings) -> list[tuple[str, str]]:
    """What `desk up` prints about this module."""
    return [
        ("Dashboard", f"{settings.public_base_url.rstrip('/')}/dashboard   (supervisors, e.g. zhao / demo)")
    ]
