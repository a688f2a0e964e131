"""CSV files the product writes for people to open in a spreadsheet: no cell may run as a formula."""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(v: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (`=HYPERLINK(…)`, `+`, `-`, `@`, tab, CR) is
    written with a leading apostrophe, shown as text (OWASP CSV injection); numbers stay numbers."""
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v
