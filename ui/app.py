"""The web app: intake API (`starters.api`), staff UI, customer status page, dashboard.

`create_app(settings)` connects to Temporal and PostgreSQL in its lifespan; tests pass `client` and `pool`
to reuse the harness's servers. Routers are owned by their modules; this file only wires them.
Safe by default: it refuses dev defaults outside dev (core/safety.py), checks every request's input first
(ui/input_guard.py), sets security headers on every response, mounts the stand-ins only with
`DESK_STANDINS=true` and /metrics only with `DESK_METRICS_TOKEN`.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from core import metrics
from core.db import create_pool
from core.safety import check_safe
from core.settings import Settings, get_settings
from core.temporal import connect
from ledger.schema import migrate
from starters import api as intake_api
from starters.calendars import log_gaps, shared_book
from starters.confirmation import EarlyConfirmation
from ui import auth, calendar_admin, canned_replies, dashboard, forms, search, staff, status, whatif_page
from ui.codec_server import codec_router
from ui.errors import install_html_errors
from ui.input_guard import check_input, document_input_rules
from ui.security_headers import SecurityHeaders
from ui.templating import STATIC_DIR


@dataclass
class AppContext:
    settings: Settings
    temporal: Client
    pool: asyncpg.Pool
    confirm: EarlyConfirmation | None = None  # intake's early confirmation (starters/confirmation.py)


def create_app(
    settings: Settings | None = None, *, client: Client | None = None, pool: asyncpg.Pool | None = None
) -> FastAPI:
    settings = settings or get_settings()
    check_safe(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own_pool = pool is None
        the_pool = pool
        if the_pool is None:
            await migrate(settings.database_url)
            the_pool = await create_pool(settings.database_url)
        the_client = client or await connect(settings)
        confirm = EarlyConfirmation.build(settings, the_pool)
        app.state.ctx = AppContext(settings=settings, temporal=the_client, pool=the_pool, confirm=confirm)
        if settings.demo_users:
            await auth.seed_demo_users(the_pool)
        await log_gaps(shared_book(settings, the_pool), "web")  # never silently on an unconfirmed year
        try:
            yield
        finally:
            if confirm is not None:
                await confirm.aclose()
            if own_pool:
                await the_pool.close()

    app = FastAPI(
        title="Complaint desk", version="1.0.0", lifespan=lifespan, dependencies=[Depends(check_input)]
    )
    app.add_middleware(SecurityHeaders, public_https=settings.public_base_url.startswith("https://"))
    plain_openapi = app.openapi
    app.openapi = lambda: document_input_rules(plain_openapi())  # type: ignore[method-assign]

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    _mount_web_ui(app)
    app.include_router(intake_api.router)  # the intake API
    app.include_router(forms.router)  # the public complaint form and the staff intake form
    # The dev stand-ins are mounted by desk/web.py when DESK_STANDINS=true: this app never imports them.
    if settings.metrics_token.get_secret_value():
        app.include_router(metrics.web_router(settings.metrics_token.get_secret_value()))
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
    for router in (auth.router, staff.router, status.router, dashboard.router, search.router, calendar_admin.router, canned_replies.router):
        app.include_router(router)
    app.include_router(whatif_page.router)  # the dashboard's what-if page (issue 17)
    install_html_errors(app)
