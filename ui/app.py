"""The web app: intake API (`starters.api`), staff UI, customer status page, dashboard.

`create_app(settings)` connects to Temporal and PostgreSQL in its lifespan; tests pass `client` and `pool`
to reuse the harness's servers. Routers are owned by their modules; this file only wires them.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from core import metrics
from core.db import create_pool
from core.settings import Settings, get_settings
from core.temporal import connect
from ledger.schema import migrate
from standins import http as standins_http
from starters import api as intake_api
from ui import auth, dashboard, forms, staff, status
from ui.codec_server import codec_router
from ui.errors import install_html_errors
from ui.templating import STATIC_DIR


@dataclass
class AppContext:
    settings: Settings
    temporal: Client
    pool: asyncpg.Pool


def create_app(
    settings: Settings | None = None, *, client: Client | None = None, pool: asyncpg.Pool | None = None
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own_pool = pool is None
        the_pool = pool
        if the_pool is None:
            await migrate(settings.database_url)
            the_pool = await create_pool(settings.database_url)
        the_client = client or await connect(settings)
        app.state.ctx = AppContext(settings=settings, temporal=the_client, pool=the_pool)
        if settings.demo_users:
            await auth.seed_demo_users(the_pool)
        try:
            yield
        finally:
            if own_pool:
                await the_pool.close()

    app = FastAPI(title="Complaint desk", version="1.0.0", lifespan=lifespan)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    _mount_web_ui(app)
    # The intake API and forms, the stand-ins (SMS, push, carrier, sink viewer) and /metrics.
    for router in (intake_api.router, forms.router, standins_http.router, metrics.router):
        app.include_router(router)
    _mount_codec_server(app, settings)
    return app


def _mount_codec_server(app: FastAPI, settings: Settings) -> None:
    """/codec/decode for the Temporal Web UI, only when payloads are encrypted (ui/codec_server.py):
    engineers and admins signed in here, or the bearer token, see customer data decrypted."""
    if not settings.codec_keys.get_secret_value().strip():
        return
    app.include_router(codec_router(settings, session=auth.session_identity))


def _mount_web_ui(app: FastAPI) -> None:
    """The staff UI, status page and dashboard: their routers, static files and HTML error pages."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (auth.router, staff.router, status.router, dashboard.router):
        app.include_router(router)
    install_html_errors(app)
