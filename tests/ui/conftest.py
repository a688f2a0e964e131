"""Fixtures for the web UI tests: the real app served by uvicorn on a free port, signed-in HTTP clients.

The app gets the harness's Temporal client and a freshly migrated PostgreSQL ledger; uvicorn runs as a task
on the test event loop, listening on a socket bound to port 0 (never a fixed port).
"""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from core.settings import Settings
from desk.web import create_web_app


@dataclass
class Web:
    base_url: str
    app: FastAPI
    settings: Settings
    pool: asyncpg.Pool
    client: Client


def ui_settings(ledger_url: str, **overrides) -> Settings:
    values = dict(
        database_url=ledger_url,
        secret_key="test-secret-for-ui",
        demo_users=True,
        dev_mode=True,
        standins=True,
        temporal_ui_url="http://127.0.0.1:8233",
        task_queue="ui-tests",
        standin_robot_limit_per_minute=0,  # this worker sends robot messages inline, no relay to pace them
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


def free_socket() -> socket.socket:
    """A listening-ready socket on 127.0.0.1 with a kernel-chosen port (bound now, so no one else takes it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def serve(app: FastAPI, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Run `app` under uvicorn on 127.0.0.1 with a kernel-chosen port; yields the base URL."""
    sock = sock or free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # raises the start-up error
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def start_web(client: Client, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Web]:
    app = create_web_app(settings, client=client, pool=pool)
    async for base in serve(app):
        yield Web(base_url=base, app=app, settings=settings, pool=pool, client=client)


@pytest_asyncio.fixture
async def web(ts_env, ledger_pool, ledger_url) -> AsyncIterator[Web]:
    """The web app against the time-skipping server (no worker): pages, auth, CSRF, role checks."""
    async for w in start_web(ts_env.client, ledger_pool, ui_settings(ledger_url)):
        yield w


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


@asynccontextmanager
async def signed_in(base_url: str, username: str, password: str = "demo") -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with a session, signed in through the real form (CSRF included)."""
    async with httpx.AsyncClient(base_url=base_url, follow_redirects=False, timeout=30) as http:
        page = await http.get("/login")
        r = await http.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "next": "/staff",
                "csrf_token": csrf_from(page.text),
            },
        )
        assert r.status_code == 303, r.text
        yield http


@dataclass
class Stack(Web):
    smtp_port: int = 0


@pytest_asyncio.fixture
async def stack(dev_env, ledger_pool, ledger_url) -> AsyncIterator[Stack]:
    """The whole product on loopback: the Temporal dev server, a real worker (the real workflows and
    activities), the web app (UI, intake forms, the local notification stand-ins, the carrier simulator)
    and the SMTP sink, all on kernel-chosen ports, against a fresh migrated ledger."""
    async for s in run_stack(dev_env.client, ledger_pool, ledger_url):
        yield s


@pytest_asyncio.fixture
async def ts_stack(ts_env, ledger_pool, ledger_url) -> AsyncIterator[Stack]:
    """The same on the time-skipping server: `ts_env.sleep(...)` brings deadlines on."""
    async for s in run_stack(ts_env.client, ledger_pool, ledger_url):
        yield s


async def run_stack(client: Client, ledger_pool: asyncpg.Pool, ledger_url: str) -> AsyncIterator[Stack]:
    from temporalio.worker import Worker

    from activities.registry import build_activities
    from standins.sink import start_smtp_sink
    from workflows.registry import WORKFLOWS

    smtp = await start_smtp_sink("127.0.0.1", 0, ledger_pool)
    smtp_port = smtp.sockets[0].getsockname()[1]
    sock = free_socket()
    port = sock.getsockname()[1]
    settings = ui_settings(
        ledger_url,
        web_host="127.0.0.1",
        web_port=port,
        public_base_url=f"http://127.0.0.1:{port}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        task_queue=f"ui-{uuid.uuid4().hex[:8]}",
    )
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(settings, ledger_pool),
    )
    app = create_web_app(settings, client=client, pool=ledger_pool)
    try:
        async with worker:
            async for base in serve(app, sock):
                yield Stack(
                    base_url=base,
                    app=app,
                    settings=settings,
                    pool=ledger_pool,
                    client=client,
                    smtp_port=smtp_port,
                )
    finally:
        smtp.close()
        await smtp.wait_closed()
