"""The dashboard's CSV: the ledger's figures (ledger/reports.py) in long format, safe to open in a spreadsheet."""

from __future__ import annotations

from typing import Any

from ledger.reports import Report, plain_number, window_dates


def csv_rows(report: Report) -> list[list[Any]]:
    """Long format, one figure per line: section, group, metric, value — easy to pivot in a spreadsheet."""
    start, end = report.window
    zone = report.filters.zone
    first_day, last_day = window_dates(report.window, zone)
    out: list[list[Any]] = [["section", "group", "metric", "value"]]
    out.append(["range", "", "from", start.astimezone(zone).isoformat()])
    out.append(["range", "", "to", end.astimezone(zone).isoformat()])  # exclusive: the day after last_day
    out.append(["range", "", "first_day", first_day])
    out.append(["range", "", "last_day", last_day])
    for k, v in report.summary.items():
        out.append(["summary", "", k, plain_number(v)])
    for section, rows in report.compliance.items():
        for r in rows:
            group = r.key or "unassigned_queue"
            for metric in ("on_time", "settled", "still_breached", "automatic", "ratio"):
                out.append([f"compliance_{section}", group, metric, plain_number(r[metric])])
    for section, rows in report.breakdowns.items():
        for r in rows:
            for metric in ("complaints", "breached", "satisfaction", "avg_resolution_s"):
                out.append([f"by_{section}", r.key or "unknown", metric, plain_number(r[metric])])
    for r in report.stages:
        out.append(["stage_seconds", r.key, "seconds", plain_number(r["seconds"])])
    for r in report.ageing:
        for metric in ("urgent", "important", "general", "total"):
            out.append(["open_ageing", r.key, metric, plain_number(r[metric])])
    return out
