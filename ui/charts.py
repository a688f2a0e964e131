"""Small server-rendered SVG charts for the dashboard: no JavaScript library, no CDN.

Each function returns a Markup SVG string with a <title> per mark (hover shows the exact figure) and
`role="img"` plus an aria-label, so the chart is readable without colour too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

GREEN, AMBER, RED, BLUE, GREY = "#2e7d32", "#e08600", "#c62828", "#1e6bb8", "#9aa5b1"
PALETTE = ("#1e6bb8", "#e08600", "#c62828", "#2e7d32", "#6a4c93", "#00838f", "#8d6e63", "#5f6b7a")


@dataclass
class Bar:
    label: str
    value: float  # what the bar's length shows
    text: str  # what is written at the end of the bar
    hint: str = ""  # extra words in the hover title (e.g. "12 of 15 on time")
    color: str | None = None


def compliance_color(ratio: float) -> str:
    return GREEN if ratio >= 0.9 else AMBER if ratio >= 0.75 else RED


def hbar(bars: Sequence[Bar], *, title: str, max_value: float | None = None, width: int = 460) -> Markup:
    """Horizontal bars, one row per label."""
    row_h, label_w, pad = 26, 150, 6
    height = max(1, len(bars)) * row_h + pad * 2
    top = max_value if max_value is not None else max((b.value for b in bars), default=0) or 1
    bar_w = width - label_w - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" font-size="12" font-family="inherit">'
    ]
    for i, b in enumerate(bars):
        y = pad + i * row_h
        length = 0 if top <= 0 else max(0.0, min(1.0, b.value / top)) * bar_w
        color = b.color or BLUE
        hint = f"{b.label}: {b.text}" + (f" ({b.hint})" if b.hint else "")
        parts.append(
            f"<g><title>{escape(hint)}</title>"
            f'<text x="{label_w - 6}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" fill="#1d2430">'
            f"{escape(_clip(b.label, 22))}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="{row_h - 8}" fill="#eef1f5" rx="3"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="{row_h - 8}" fill="{color}" rx="3"/>'
            f'<text x="{label_w + length + 5:.1f}" y="{y + row_h / 2 + 4:.1f}" fill="#1d2430">{escape(b.text)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked(
    rows: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    *,
    title: str,
    width: int = 460,
    unit: str = "",
    colors: dict[str, str] | None = None,
) -> Markup:
    """One horizontal bar per row split into coloured segments (open complaints per age and tier …).
    Bars are to scale with each other (the longest row fills the width); segments show their count."""
    row_h, label_w, pad, legend_h = 26, 150, 6, 22
    series: list[str] = []
    for _, segs in rows:
        for name, _v in segs:
            if name not in series:
                series.append(name)
    colors = {name: (colors or {}).get(name) or PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    height = legend_h + max(1, len(rows)) * row_h + pad * 2
    bar_w = width - label_w - 40
    biggest = max((sum(v for _, v in segs) for _, segs in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" font-size="12" font-family="inherit">'
    ]
    x = 4
    for name in series:
        parts.append(
            f'<rect x="{x}" y="4" width="12" height="12" fill="{colors[name]}"/>'
            f'<text x="{x + 16}" y="14" fill="#1d2430">{escape(_clip(name, 18))}</text>'
        )
        x += 24 + 7 * min(len(name), 18)
    for i, (label, segs) in enumerate(rows):
        y = legend_h + pad + i * row_h
        total = sum(v for _, v in segs)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" fill="#1d2430">'
            f"{escape(_clip(label, 22))}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="{row_h - 8}" fill="#eef1f5" rx="3"/>'
        )
        cursor = float(label_w)
        for name, v in segs:
            w = v / biggest * bar_w
            if w <= 0:
                continue
            parts.append(
                f'<rect x="{cursor:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{colors[name]}">'
                f"<title>{escape(label)} · {escape(name)}: {v:g}{escape(unit)}</title></rect>"
            )
            if w > 16:
                parts.append(
                    f'<text x="{cursor + 4:.1f}" y="{y + row_h / 2 + 4:.1f}" fill="#fff">{v:g}</text>'
                )
            cursor += w
        parts.append(
            f'<text x="{cursor + 5:.1f}" y="{y + row_h / 2 + 4:.1f}" fill="#1d2430">{total:g}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
