"""The layers import downward only: the import-linter contracts in pyproject.toml hold."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from desk.layers import mermaid

ROOT = Path(__file__).resolve().parent.parent


def test_layers_import_downward_only():
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_readme_draws_the_current_import_graph():
    readme = (ROOT / "README.md").read_text()
    drawn = readme.split("<!-- layers:start -->\n", 1)[1].split("\n<!-- layers:end -->", 1)[0]
    assert drawn == mermaid(), "README's import graph is stale: paste `python -m desk.layers` between the markers"


_SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b", re.S)


def test_ui_and_intake_hold_no_sql():
    """All SQL lives in the ledger package; the web app and the intake channels call its functions."""
    found = [
        str(p.relative_to(ROOT))
        for folder in ("ui", "starters")
        for p in (ROOT / folder).rglob("*.py")
        if _SQL.search(p.read_text(encoding="utf-8"))
    ]
    assert not found, f"SQL outside ledger/: {found}"
