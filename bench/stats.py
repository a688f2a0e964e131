"""Percentile summaries, the one way every benchmark reports a distribution."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values: an observed value, never an interpolation."""
    if not values:
        return math.nan
    s = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(s)))
    return s[min(rank, len(s)) - 1]


def summary(values: Sequence[float]) -> dict[str, float | int]:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"n": 0}
    return {
        "n": len(vals),
        "min": min(vals),
        "p50": percentile(vals, 50),
        "p90": percentile(vals, 90),
        "p99": percentile(vals, 99),
        "max": max(vals),
        "mean": sum(vals) / len(vals),
    }


def ratio(ours: float | None, floor: float | None) -> float | None:
    if ours is None or floor is None or floor == 0 or math.isnan(ours) or math.isnan(floor):
        return None
    return ours / floor
