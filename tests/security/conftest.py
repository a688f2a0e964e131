"""The attacker's suite: the real web app (uvicorn on a free port, real PostgreSQL, Temporal's
time-skipping server), attacked over real HTTP. Fixtures come from tests/ui/conftest.py."""

from __future__ import annotations

from tests.ui.conftest import web  # noqa: F401  (the fixture)
