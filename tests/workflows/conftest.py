"""Fixtures for complaint workflow tests: a worker with recording stand-ins on the time-skipping server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.workflows.harness import Desk, desk_on


@pytest_asyncio.fixture
async def desk(ts_env) -> AsyncIterator[Desk]:
    async with desk_on(ts_env) as d:
        yield d
