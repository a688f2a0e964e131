"""`./desk.sh`: two installs started at once on one fresh checkout take turns (a lock), and both end with a
working `.venv` — without the lock they raced in `uv sync` and broke it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
_LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", ".tools", ".data", "__pycache__", ".pytest_cache", ".ruff_cache", ".desk.lock"
)


def _uv() -> str:
    found = shutil.which("uv") or (str(REPO / ".tools/bin/uv") if (REPO / ".tools/bin/uv").exists() else None)
    if found is None:
        pytest.skip("no uv here to install with")
    return found


def test_two_installs_at_once_take_turns_and_both_succeed(tmp_path: Path):
    checkout = tmp_path / "desk"
    shutil.copytree(REPO, checkout, ignore=_LEFT_OUT)
    env = {**os.environ, "UV": _uv()}  # the machine's index and certificates, our uv
    runs = [
        subprocess.Popen(
            ["./desk.sh", "install"], cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]  # fmt: skip
    results = [(*p.communicate(timeout=600), p.returncode) for p in runs]
    results = [(code, out, err) for out, err, code in results]
    for code, _, err in results:
        assert code == 0, err
        assert "installed: .venv/bin/desk is ready" in err
    # They took turns: the sync takes seconds, so one of them found the lock held and said so.
    assert sum("another ./desk.sh is installing; waiting" in err for _, _, err in results) == 1
    done = subprocess.run(
        [str(checkout / ".venv/bin/python"), "-c", "import temporalio, fastapi, asyncpg, desk.cli"],
        cwd=checkout, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
