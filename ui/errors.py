"""HTML error pages for the web UI's paths (sign-in redirects, 403 role refusals, 404s).

The intake API keeps its JSON error shape; only browser paths of the UI get a page a person can read.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

UI_PREFIXES = ("/staff", "/dashboard", "/login", "/logout", "/status")


def is_html_path(path: str) -> bool:
    """A page of the web UI (its errors are pages too); the intake forms and APIs answer in JSON."""
    return path.startswith(UI_PREFIXES) and not path.startswith("/staff/intake")


def install_html_errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _html_errors(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        if exc.status_code in (301, 302, 303, 307) and exc.headers and "Location" in exc.headers:
            return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)  # sign in first
        if not is_html_path(path):
            return await http_exception_handler(request, exc)
        from ui.auth import current_user
        from ui.templating import render

        user = None
        try:
            user = await current_user(request)
        except Exception:  # the error page must render even when the database is the problem
            user = None
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return render(
            request,
            "error.html",
            {"user": user, "status_code": exc.status_code, "message": message},
            status_code=exc.status_code,
        )
