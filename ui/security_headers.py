"""Security headers on every response of the web app (an ASGI middleware, so errors and static files too).

Pages load only this site's script and styles (inline `style=` attributes are used, inline scripts are not),
may not be framed by anyone (clickjacking), are not type-sniffed, and send no full URL to other sites (the
status page's token is in its URL). Over TLS (directly or behind a trusted proxy) browsers are told to stay
on HTTPS. The API docs pages load Swagger/ReDoc from their CDN, so they get only the framing rule.
A header a route set itself (the status page's `no-referrer`, an attachment's sandbox CSP) is kept.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = "frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, public_https: bool = False) -> None:
        self.app = app
        self.public_https = public_https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"].startswith(DOCS_PATHS)
        tls = scope.get("scheme") == "https" or self.public_https
        wanted = [
            (b"x-frame-options", b"DENY"),
            (b"content-security-policy", (DOCS_CSP if docs else CSP).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        if tls:
            wanted.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in wanted if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
