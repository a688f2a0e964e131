"""CSRF protection for every form (staff pages, sign-in, the customer's rating form).

Signed tokens bound to the session: every form carries `csrf_token`, a digest of the staff session id (or,
before sign-in and on the customer's status page, of a random `desk_csrf` browser cookie) signed with
`settings.secret_key`. A POST passes only when the signature is good and the token belongs to *this*
session, so a token from another browser or an ended session is refused. The `Origin` (else `Referer`) of
a POST must be this site or `public_base_url`. JavaScript callers send the token in `X-CSRF-Token`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ledger import sessions
from ui.i18n import t

COOKIE = "desk_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
MAX_AGE_S = 24 * 3600


def _signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.ctx.settings.secret_key, salt="desk-csrf")


def _browser_secret(request: Request) -> str:
    """This browser's secret: from its cookie, or a new one that `attach_cookie` will set."""
    existing = getattr(request.state, "csrf_secret", None)
    if existing:
        return existing
    value = request.cookies.get(COOKIE)
    if not value or len(value) > 100:
        value = secrets.token_urlsafe(32)
        request.state.csrf_new = True
    request.state.csrf_secret = value
    return value


def _binding(request: Request) -> str:
    """What a token is bound to: the session when there is one, else this browser's cookie."""
    session = request.cookies.get(sessions.COOKIE)
    bound = f"s:{session}" if session else f"b:{_browser_secret(request)}"
    return hashlib.sha256(bound.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def csrf_token(request: Request) -> str:
    """The token to put in a form rendered for this request."""
    return _signer(request).dumps(_binding(request))


def attach_cookie(request: Request, response: Response) -> None:
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(
            COOKIE,
            request.state.csrf_secret,
            max_age=MAX_AGE_S,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https"
            or request.app.state.ctx.settings.public_base_url.startswith("https://"),
            path="/",
        )


def token_is_valid(request: Request, token: str | None) -> bool:
    if not token or len(token) > 200:
        return False
    if not request.cookies.get(sessions.COOKIE) and not request.cookies.get(COOKIE):
        return False
    try:
        signed_value = _signer(request).loads(token, max_age=MAX_AGE_S)
    except BadSignature:
        return False
    return isinstance(signed_value, str) and hmac.compare_digest(signed_value, _binding(request))


def _origin(url: str) -> str:
    parts = urlsplit(url.strip().lower())
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return "invalid"
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def foreign_origin(request: Request) -> str | None:
    """The other site a state-changing request came from, or None when it is this one (or not said)."""
    origin = request.headers.get("origin")
    # "null": a page with `Referrer-Policy: no-referrer` (the status page, to keep its token) posting its
    # own form, or a sandboxed frame; it names no site, so like a missing header the token decides.
    sent = (origin if origin != "null" else None) or request.headers.get("referer")
    if not sent:
        return None  # not a browser, or one that sends neither: the session-bound token still decides
    own = {_origin(str(request.base_url)), _origin(request.app.state.ctx.settings.public_base_url)}
    return None if _origin(sent) in own else _origin(sent)[:100]


async def verify_csrf(request: Request) -> None:
    """FastAPI dependency for every state-changing route."""
    locale = request.cookies.get("desk_lang") or "zh-CN"
    other = foreign_origin(request)
    if other is not None:
        raise HTTPException(status_code=403, detail=t("error.origin", locale, origin=other))
    token = request.headers.get(HEADER)
    if not token:
        form = await request.form()
        value = form.get(FIELD)
        token = value if isinstance(value, str) else None
    if not token_is_valid(request, token):
        raise HTTPException(status_code=403, detail=t("error.csrf", locale))
