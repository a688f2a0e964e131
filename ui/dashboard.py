"""The supervisor dashboard: deadline compliance, response and resolution times, satisfaction, hot spots,
time per stage, open complaints by age — with a time range, filters and CSV export. Figures: ui/reports.py.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from domain.models import Channel, ComplaintType, Department, Role, Tier
from starters.calendars import shared_book
from ui import charts, reports
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


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


def _compliance_chart(
    rows: list[reports.Row], kind: str | None, locale: str, names: dict[str, str], title: str
):
    bars = []
    for r in rows:
        if r["ratio"] is None:
            continue
        name = names.get(r.key, r.key) if kind is None else label(kind, r.key, locale)
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
    """Complaints per group; `heat` colours the biggest groups (hot spots) red, the middling ones amber."""
    top = max((r["complaints"] for r in rows), default=0) or 1
    bars = []
    for r in rows:
        share = r["complaints"] / top
        color = (
            (charts.RED if share >= 0.66 else charts.AMBER if share >= 0.33 else charts.BLUE)
            if heat
            else charts.BLUE
        )
        bars.append(
            Bar(
                label=(label(kind, r.key, locale) if kind and r.key not in ("", "—") else (r.key or "—")),
                value=r["complaints"],
                text=str(r["complaints"]),
                hint=f"{r['breached']} breached",
                color=color,
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
    start, end = report.window
    kpis = [
        ("dashboard.total", str(s["total"])),
        ("dashboard.first_response", _duration(s["avg_first_response_s"], locale)),
        ("dashboard.resolution_time", _duration(s["avg_resolution_s"], locale)),
        ("dashboard.resolution_rate", _pct(s["resolution_rate"])),
        (
            "dashboard.satisfaction",
            "—" if s["avg_satisfaction"] is None else f"{s['avg_satisfaction']:.2f} / 5",
        ),
        ("dashboard.reopen_rate", _pct(s["reopen_rate"])),
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
            "date_from": start.astimezone(f.zone).date().isoformat(),
            "date_to": (end - timedelta(seconds=1)).astimezone(f.zone).date().isoformat(),
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
    start, end = f.window(f.zone)
    return _csv(
        await reports.records(request.app.state.ctx.pool, f), f"complaints-{start.date()}-{end.date()}.csv"
    )


def _csv(rows: list[list], name: str) -> Response:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
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
    start, end = report.window
    return _csv(reports.csv_rows(report), f"complaints-report-{start.date()}-{end.date()}.csv")


def banner_lines(settings) -> list[tuple[str, str]]:
    """What `desk up` prints about this module."""
    return [
        ("Dashboard", f"{settings.public_base_url.rstrip('/')}/dashboard   (supervisors, e.g. zhao / demo)")
    ]
