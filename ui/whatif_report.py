"""The what-if report (domain/whatif.py) as CSV and as HTML with server-drawn SVG bars (ui/charts.py): written
by `desk what-if` to files and shown by the dashboard's what-if page — one renderer for both.

CSV: one row per measure × obligation × tier × department × hour of day, a column per side and the
difference (proposed − the first side); compliance per tier, the reports and customer updates the system
would have sent, and breaches against added staff on the busiest day as rows of the same table.
"""

from __future__ import annotations

import csv
import io

from markupsafe import Markup, escape

from domain.whatif import Side, WhatIf, tiers
from ui import charts
from ui.i18n import label, t

CSV_HEAD = ["measure", "obligation", "tier", "department", "hour", "extra_staff"]


def csv_text(r: WhatIf) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    labels = [s.label for s in r.sides]
    w.writerow([*CSV_HEAD, *labels, "difference"])
    first, proposed = r.sides[0], r.sides[1]

    def row(measure: str, ob: str, tier: str, dept: str, hour: object, values: list, diff: object) -> None:
        w.writerow([measure, ob, tier, dept, hour, "", *values, diff])

    for measure in ("breaches", "warnings"):
        keys = sorted({k for s in r.sides for k in getattr(s, measure)})
        for k in keys:
            vals = [getattr(s, measure)[k] for s in r.sides]
            row(
                measure,
                k[0],
                k[1],
                k[2],
                k[3],
                vals,
                getattr(proposed, measure)[k] - getattr(first, measure)[k],
            )
    for tier in tiers(r):
        vals = [_ratio(s.compliance(tier)) for s in r.sides]
        a, b = first.compliance(tier), proposed.compliance(tier)
        row("compliance", "", tier, "", "", vals, _ratio(b - a) if a is not None and b is not None else "")
    for name in ("progress_report", "customer_update"):
        vals = [s.automatic[name] for s in r.sides]
        row(f"{name}_sent", name, "", "", "", vals, proposed.automatic[name] - first.automatic[name])
    for n, breaches in r.staff_series:
        w.writerow(["busiest_day_breaches", "", "", "", "", n, *([""] * (len(labels) - 1)), breaches, ""])
    w.writerow(["calibration_share", "", "", "", "", "", _ratio(r.calibration.share), *([""] * len(labels))])
    return out.getvalue()


def _ratio(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _side_bars(r: WhatIf, value, text=None) -> list[charts.Bar]:
    return [
        charts.Bar(s.label, value(s), text(s) if text else f"{value(s):g}", color=charts.PALETTE[i])
        for i, s in enumerate(r.sides)
    ]


def _by(side: Side, index: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, v in side.breaches.items():
        out[str(k[index])] = out.get(str(k[index]), 0) + v
    return out


def _chart(svg: Markup) -> Markup:
    return Markup('<div class="chart" style="max-width:640px">') + svg + Markup("</div>")


def body(r: WhatIf, locale: str) -> Markup:
    """The report's content: calibration, totals, breaches per obligation / tier / department / hour,
    compliance per tier, reports sent, staffing; every chart also as a table row in the CSV."""
    cal = r.calibration
    tr = lambda key, **kw: escape(t(f"whatif.{key}", locale, **kw))  # noqa: E731
    parts = [
        f'<section class="whatif-calibration" data-share="{_ratio(cal.share)}">',
        f"<h2>{tr('calibration')}</h2>",
        f"<p>{tr('calibration_text', reproduced=cal.reproduced, total=cal.total, share=_pct(cal.share))}</p>",
    ]
    if cal.mismatches or cal.not_replayable:
        parts.append(f"<p>{tr('not_reproduced')}</p><ul class='mismatches'>")
        for m in cal.mismatches[:100]:
            parts.append(
                f"<li>{escape(m.complaint_id)} {escape(m.obligation)} #{m.occurrence} {escape(m.department)}: "
                f"{escape(m.recorded)} → {escape(m.replayed)}</li>"
            )
        for cid in cal.not_replayable[:100]:
            parts.append(f"<li>{escape(cid)}: {tr('unknown_policy')}</li>")
        parts.append("</ul>")
    parts.append("</section>")

    parts.append(f"<h2>{tr('totals')}</h2><table class='whatif-totals'><thead><tr><th></th>")
    parts += [f"<th>{escape(s.label)}</th>" for s in r.sides]
    parts.append("</tr></thead><tbody>")
    rows = [
        ("breaches", lambda s: str(s.breach_total)),
        ("warnings", lambda s: str(s.warning_total)),
        ("progress_reports", lambda s: str(s.automatic["progress_report"])),
        ("customer_updates", lambda s: str(s.automatic["customer_update"])),
    ]
    rows += [
        (None, lambda s, tier=tier: _pct(s.compliance(tier)), tier)
        for tier in tiers(r)  # type: ignore[misc]
    ]
    for item in rows:
        key, fn = item[0], item[1]
        head = tr(key) if key else escape(t("whatif.compliance", locale, tier=label("tier", item[2], locale)))
        cells = "".join(f"<td>{escape(fn(s))}</td>" for s in r.sides)
        parts.append(f"<tr data-row='{escape(key or item[2])}'><th>{head}</th>{cells}</tr>")
    parts.append("</tbody></table>")

    parts.append(f"<h2>{tr('breaches_total')}</h2>")
    parts.append(
        _chart(charts.hbar(_side_bars(r, lambda s: s.breach_total), title=t("whatif.breaches_total", locale)))
    )
    groupings = (
        (0, "by_obligation", "obligation"),
        (1, "by_tier", "tier"),
        (2, "by_department", "department"),
        (3, "by_hour", None),
    )
    for index, key, kind in groupings:
        groups = sorted({g for s in r.sides for g in _by(s, index)}, key=lambda g: (len(g), g))
        bars = [
            charts.Bar(
                f"{(label(kind, g, locale) if kind else f'{int(g):02d}:00') if g else '—'} · {s.label}",
                _by(s, index).get(g, 0),
                str(_by(s, index).get(g, 0)),
                color=charts.PALETTE[i],
            )
            for g in groups
            for i, s in enumerate(r.sides)
        ]
        parts.append(f"<h3>{tr(key)}</h3>")
        parts.append(
            _chart(charts.hbar(bars, title=t(f"whatif.{key}", locale)))
            if bars
            else Markup(f"<p>{tr('none')}</p>")
        )

    if r.staff_series:
        parts.append(f"<h2>{tr('staffing', day=str(r.busiest_day))}</h2>")
        bars = [
            charts.Bar(f"+{n}", b, str(b), color=charts.RED if b else charts.GREEN) for n, b in r.staff_series
        ]
        parts.append(_chart(charts.hbar(bars, title=t("whatif.staffing", locale, day=str(r.busiest_day)))))
        enough = next((n for n, b in r.staff_series if b == 0), None)
        parts.append(
            f"<p class='enough'>{tr('enough', n=enough) if enough is not None else tr('not_enough', n=r.staff_series[-1][0])}</p>"
        )
    return Markup("".join(str(p) for p in parts))


def page(r: WhatIf, locale: str) -> str:
    """A standalone HTML file (the CLI's report)."""
    title = t("whatif.title", locale)
    head = t("whatif.period", locale, start=str(r.start), end=str(r.end), n=r.complaints)
    return (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        "<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#1d2430}"
        "table{border-collapse:collapse}td,th{border:1px solid #d5dbe3;padding:4px 10px;text-align:right}"
        "th:first-child{text-align:left}svg{max-width:100%}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(head)}</p>{body(r, locale)}</body></html>"
    )
