"""The web app as `desk web` serves it: ui.app's, plus the dev stand-ins when `DESK_STANDINS=true`.

The stand-ins (SMS, push, robots, carrier simulator, sink viewer) are mounted here, in the command layer, so
the product's own web app never imports them (README "Layout"); `desk up` and the tests switch them on.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from core.settings import Settings, standin_token
from standins import http as standins_http
from ui import auth
from ui.app import create_app


def create_web_app(settings: Settings, **kwargs: Any) -> FastAPI:
    app = create_app(settings, **kwargs)
    if settings.standins:
        app.include_router(
            standins_http.build_router(
                token=standin_token(settings),
                viewer=auth.require_staff,
                robot_limit_per_minute=settings.standin_robot_limit_per_minute,
            )
        )
    return app
