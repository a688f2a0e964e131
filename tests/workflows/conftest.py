"""Fixtures for complaint workflow tests: a worker with recording stand-ins on the time-skipping server.

This package gets a time-skipping server of its own: on a shared one, a workflow another package left
without a worker holds the server's clock for everybody after it, and these tests move time a lot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from desk.temporal import DATA_CONVERTER
from tests.conftest import _binary, register_search_attributes
from tests.workflows.harness import Desk, desk_on


@pytest_asyncio.fixture(scope="package")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=_binary("temporal-test-server")
    )
    await register_search_attributes(env)
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture
async def desk(ts_env) -> AsyncIterator[Desk]:
    async with desk_on(ts_env) as d:
        yield d
