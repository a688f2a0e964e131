"""Fixtures for the intake tests: one real stack for the module session.

- the Temporal dev server (`dev_env`) with a real worker running the real workflows and activities;
- a migrated PostgreSQL database on the harness's embedded server;
- the web app from `ui.app.create_app`, served by uvicorn on a kernel-chosen port;
- an API key for a test intake system and a webhook source.
Tests use their own customers and order numbers, so they never join each other's complaints.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.worker import Worker

from activities.registry import build_activities
from core.settings import Settings
from ledger.api_keys import create_api_key, create_webhook_source
from ledger.schema import migrate
from starters.intake import IntakeService
from workflows.registry import WORKFLOWS

TASK_QUEUE = "intake-tests"


@dataclass
class Stack:
    base_url: str
    app: FastAPI
    settings: Settings
    pool: asyncpg.Pool
    client: Client
    api_key: str
    webhook_source: str
    webhook_secret: str

    def http(self, **kw) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=60, **kw)

    def api(self) -> httpx.AsyncClient:
        return self.http(headers={"X-API-Key": self.api_key})

    def service(self) -> IntakeService:
        return IntakeService(self.client, self.settings, pool=self.pool)


def intake_settings(database_url: str, base_url: str, client: Client) -> Settings:
    port = int(base_url.rsplit(":", 1)[1])
    return Settings(
        web_host="127.0.0.1",
        web_port=port,  # the real activities reach the stand-ins through this app, never a fixed port
        _env_file=None,
        database_url=database_url,
        secret_key="test-secret-for-intake",
        demo_users=True,
        dev_mode=True,
        standins=True,
        task_queue=TASK_QUEUE,
        standin_robot_limit_per_minute=0,  # this worker sends robot messages inline, no relay to pace them
        public_base_url=base_url,
        temporal_address=client.service_client.config.target_host,
        temporal_namespace=client.namespace,
        temporal_envconfig=False,
    )


@pytest_asyncio.fixture(scope="session")
async def intake_db(pg_server) -> AsyncIterator[str]:
    name = "intake_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(pg_server.get_uri())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = pg_server.get_uri(name)
    await migrate(url)
    yield url
    admin = await asyncpg.connect(pg_server.get_uri())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _serve(app: FastAPI, sock: socket.socket) -> AsyncIterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@pytest_asyncio.fixture(scope="session")
async def stack(dev_env, intake_db) -> AsyncIterator[Stack]:
    from desk.web import create_web_app

    pool = await asyncpg.create_pool(intake_db, min_size=1, max_size=20)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = intake_settings(intake_db, base_url, dev_env.client)
    sink = await _smtp_sink(pool)
    if sink is not None:  # the real notify activity's e-mails land in the stand-in sink, not on port 8025
        settings = settings.model_copy(update={"smtp_port": sink.sockets[0].getsockname()[1]})

    api_key = await create_api_key(pool, "test-system", rate_per_minute=60_000, burst=10_000)
    secret = await create_webhook_source(pool, "test-shop", channel="ecommerce")
    app = create_web_app(settings, client=dev_env.client, pool=pool)
    async with Worker(
        dev_env.client,
        task_queue=TASK_QUEUE,
        workflows=WORKFLOWS,
        activities=build_activities(settings, pool),
    ):
        async for _ in _serve(app, sock):
            yield Stack(
                base_url=base_url,
                app=app,
                settings=settings,
                pool=pool,
                client=dev_env.client,
                api_key=api_key,
                webhook_source="test-shop",
                webhook_secret=secret,
            )
    sock.close()
    if sink is not None:
        sink.close()
        await sink.wait_closed()
    await pool.close()


async def _smtp_sink(pool: asyncpg.Pool):
    try:
        from standins.sink import start_smtp_sink
    except ModuleNotFoundError:
        return None
    return await start_smtp_sink("127.0.0.1", 0, pool)


def unique_phone() -> str:
    return "+86 139" + str(uuid.uuid4().int % 10**8).zfill(8)


def unique_order() -> str:
    return "SF" + str(uuid.uuid4().int % 10**12).zfill(12)


def complaint_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "app",
        "customer": {"name": "张三", "phone": unique_phone(), "locale": "zh-CN"},
        "order_number": unique_order(),
        "description": "生鲜水果到货时已经腐烂变质，请尽快处理。",
    }
    for k, v in over.items():
        if k.startswith("customer_"):
            body["customer"][k.removeprefix("customer_")] = v
        elif v is None:
            body.pop(k, None)
        else:
            body[k] = v
    return body
