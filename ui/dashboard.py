"""The supervisor dashboard: deadline compliance, response and resolution times, satisfaction, hot spots,
time per stage, open complaints by age — with a time range, filters and CSV export. Figures: ui/reports.py.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from domain.models import Channel, ComplaintType, Department, Role, Tier
from ui import charts, reports
from ui.actions import validation_message
from ui.auth import StaffUser, require_role
from ui.charts import Bar
from ui.i18n import label, t
from ui.templating import render, request_locale

router = APIRouter(include_in_schema=False)

DASHBOARD_ROLES = (Role.SUPERVISOR, Role.SENIOR_SUPERVISOR, Role.DEPARTMENT_HEAD)


def _filters(request: Request) -> reports.ReportFilter:
    return reports.ReportFilter.model_validate(dict(request.query_params))


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


def _compliance_chart(rows: list[reports.Row], kind: str | None, locale: str, names: dict[str, str], title: str):
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


def _count_chart(rows: list[reports.Row], kind: str | None, locale: str, title: str):
    bars = [
        Bar(
            label=(label(kind, r.key, locale) if kind and r.key not in ("", "—") else (r.key or "—")),
            value=r["complaints"],
            text=str(r["complaints"]),
            hint=f"breached {r['breached']}",
            color=charts.RED if r["complaints"] and r["breached"] / r["complaints"] >= 0.25 else charts.BLUE,
        )
        for r in rows
    ]
    return charts.hbar(bars, title=title) if bars else None


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, user: StaffUser = Depends(require_role(*DASHBOARD_ROLES))) -> Response:
    locale = request_locale(request)
    try:
        f = _filters(request)
    except ValidationError as e:
        return render(
            request,
            "error.html",
            {"user": user, "status_code": 422, "message": validation_message(e, locale), "back": "/dashboard"},
            status_code=422,
        )
    report = await reports.build(request.app.state.ctx.pool, f)
    s = report.summary
    _ = lambda key, **kw: t(key, locale, **kw)  # noqa: E731
    chart = {
        "tier": _compliance_chart(report.compliance["tier"], "tier", locale, {}, _("dashboard.compliance_tier")),
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
        "region": _count_chart(report.breakdowns["region"], None, locale, _("dashboard.by_region")),
        "category": _count_chart(report.breakdowns["category"], "category", locale, _("dashboard.by_category")),
        "stages": charts.stacked(
            [(_("dashboard.stage_share"), [(label("state", r.key, locale), round(float(r["seconds"]) / 3600, 2)) for r in report.stages])],
            title=_("dashboard.stage_share"),
            unit=" h",
        )
        if report.stages
        else None,
        "ageing": charts.stacked(
            [
                (
                    t(f"age.{r.key}", locale),
                    [(label("tier", tier, locale), r[tier.value] or 0) for tier in (Tier.URGENT, Tier.IMPORTANT, Tier.GENERAL)],
                )
                for r in report.ageing
            ],
            title=_("dashboard.ageing"),
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
        ("dashboard.satisfaction", "—" if s["avg_satisfaction"] is None else f"{s['avg_satisfaction']:.2f} / 5"),
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
            "date_from": start.date().isoformat(),
            "date_to": (end - timedelta(seconds=1)).date().isoformat(),
            "tiers": list(Tier),
            "types": list(ComplaintType),
            "channels": list(Channel),
            "departments": list(Department),
            "query": request.url.query,
        },
    )


@router.get("/dashboard.csv")
async def dashboard_csv(request: Request, user: StaffUser = Depends(require_role(*DASHBOARD_ROLES))) -> Response:
    locale = request_locale(request)
    try:
        f = _filters(request)
    except ValidationError as e:
        return Response(validation_message(e, locale), status_code=422, media_type="text/plain; charset=utf-8")
    report = await reports.build(request.app.state.ctx.pool, f)
    buf = io.StringIO()
    csv.writer(buf).writerows(reports.csv_rows(report))
    start, end = report.window
    name = f"complaints-report-{start.date().isoformat()}-{end.date().isoformat()}.csv"
    # A byte-order mark so spreadsheet programs open the UTF-8 (Chinese region names) correctly.
    return Response(
        "\ufeff" + buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
