"""The attacker's suite: the real web app (uvicorn on a free port, real PostgreSQL, Temporal's
time-skipping server), attacked over real HTTP.

One app per test module (starting a server and a database per test would cost more than the attacks);
each test starts with no sessions and no sign-in failures, so a lockout never leaks into the next test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from core.temporal import DATA_CONVERTER
from ledger.schema import migrate
from tests.conftest import _binary, register_search_attributes
from tests.ui.conftest import Web, start_web, ui_settings


@pytest_asyncio.fixture(scope="module")
async def site(pg_server) -> AsyncIterator[Web]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=_binary("temporal-test-server")
    )
    await register_search_attributes(env)
    name = "sec_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(pg_server.get_uri())
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.get_uri(name)
    await migrate(url)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=10)
    try:
        async for w in start_web(env.client, pool, ui_settings(url)):
            yield w
    finally:
        await pool.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        await env.shutdown()


@pytest_asyncio.fixture
async def web(site: Web) -> Web:
    await site.pool.execute("DELETE FROM login_throttle; DELETE FROM staff_sessions")
    return site
