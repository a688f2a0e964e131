"""CSRF protection for every form (staff pages, sign-in, the customer's rating form).

Double submit, signed: each browser gets a random `desk_csrf` cookie (HttpOnly, SameSite=Lax); every form
carries `csrf_token`, the cookie's value signed with `settings.secret_key`. A POST passes only when the
token's signature is good and it matches this browser's cookie, so another site can neither read nor forge
it. JavaScript callers send the same token in the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

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


def csrf_token(request: Request) -> str:
    """The token to put in a form rendered for this request."""
    return _signer(request).dumps(_browser_secret(request))


def attach_cookie(request: Request, response: Response) -> None:
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(
            COOKIE, request.state.csrf_secret, max_age=MAX_AGE_S, httponly=True, samesite="lax", path="/"
        )


def token_is_valid(request: Request, token: str | None) -> bool:
    cookie = request.cookies.get(COOKIE)
    if not token or not cookie:
        return False
    try:
        signed_value = _signer(request).loads(token, max_age=MAX_AGE_S)
    except BadSignature:
        return False
    return isinstance(signed_value, str) and hmac.compare_digest(signed_value, cookie)


async def verify_csrf(request: Request) -> None:
    """FastAPI dependency for every state-changing route."""
    token = request.headers.get(HEADER)
    if not token:
        form = await request.form()
        value = form.get(FIELD)
        token = value if isinstance(value, str) else None
    if not token_is_valid(request, token):
        locale = request.cookies.get("desk_lang") or "zh-CN"
        raise HTTPException(status_code=403, detail=t("error.csrf", locale))
