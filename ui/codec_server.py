"""Codec server: lets the Temporal Web UI show decrypted payloads to engineers, and to nobody else.

Temporal's remote codec protocol: the Web UI (in the engineer's browser) POSTs
`{"payloads": [{"metadata": {k: base64}, "data": base64}, ...]}` to `<endpoint>/decode` (and `/encode`) and
shows what comes back. Endpoint: `http://<host>/codec`, set on the dev server with
`temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8000/codec`, in a self-hosted UI with
TEMPORAL_CODEC_ENDPOINT, in Temporal Cloud per namespace (or per user in the UI's codec settings).

Who may: a request with `Authorization: Bearer <DESK_CODEC_AUTH_TOKEN>`, or (mounted in the web app) the
browser's staff session cookie of an engineer or admin — the Web UI sends it when "include cross-origin
credentials" is on. Anything else: 401 without credentials, 403 for a signed-in staff member of another role.
Every use is logged with who asked, so reading customer data leaves a trace.

Runs inside the web app (`ui/app.py` includes `codec_router`) and on its own (`desk codec-server`, bearer
token only: `serve(settings)`).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from temporalio.api.common.v1 import Payloads

from core.codec import CodecKeyError, EncryptionCodec
from core.settings import Settings
from domain.models import Role

log = structlog.get_logger("codec")

CODEC_ROLES: frozenset[Role] = frozenset({Role.ENGINEER, Role.ADMIN})
_ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"

# Reads the request's staff session: (user id, role), or None when nobody is signed in.
SessionReader = Callable[[Request], Awaitable[tuple[str, Role] | None]]


def allowed_origins(settings: Settings) -> frozenset[str]:
    """The Web UI's origin (from DESK_TEMPORAL_UI_URL) plus DESK_CODEC_CORS_ORIGINS."""
    origins = {o.strip().rstrip("/") for o in settings.codec_cors_origins.split(",") if o.strip()}
    ui = urlsplit(settings.temporal_ui_url)
    if ui.scheme and ui.netloc:
        origins.add(f"{ui.scheme}://{ui.netloc}")
    return frozenset(origins)


def codec_router(
    settings: Settings, *, codec: EncryptionCodec | None = None, session: SessionReader | None = None
) -> APIRouter:
    codec = codec or EncryptionCodec.from_spec(settings.codec_keys.get_secret_value())
    token = settings.codec_auth_token.get_secret_value()
    origins = allowed_origins(settings)
    router = APIRouter(prefix="/codec", include_in_schema=False)

    def cors(request: Request, response: Response) -> None:
        # Credentialed cross-origin calls need the exact origin echoed, never "*".
        origin = request.headers.get("origin")
        if origin and origin.rstrip("/") in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Vary"] = "Origin"

    async def who(request: Request) -> str:
        """The caller's name for the audit log, or an HTTPException (401 / 403). A bearer token that is not
        ours (e.g. the Web UI passing its own access token) does not spoil a valid staff session."""
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if token and scheme.lower() == "bearer" and hmac.compare_digest(presented.strip(), token):
            return "bearer-token"
        signed_in = await session(request) if session else None
        if signed_in is None:
            detail = "invalid codec credentials" if scheme else "codec server: credentials required"
            raise HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
        user, role = signed_in
        if role not in CODEC_ROLES:
            raise HTTPException(403, f"codec server: role {role.value} may not read customer data")
        return user

    async def transform(request: Request, op: str) -> Response:
        try:
            caller = await who(request)
        except HTTPException as e:
            response = JSONResponse({"detail": e.detail}, status_code=e.status_code, headers=e.headers)
            cors(request, response)
            log.warning("codec refused", op=op, status=e.status_code, origin=request.headers.get("origin"))
            return response
        try:
            body = await request.json()
            payloads = ParseDict(body, Payloads())
        except (ValueError, ParseError) as e:
            response = JSONResponse(
                {"detail": f'body must be {{"payloads": [...]}} in protobuf JSON: {e}'}, status_code=400
            )
            cors(request, response)
            return response
        try:
            if op == "decode":
                out = await codec.decode(payloads.payloads)
            else:
                out = await codec.encode(payloads.payloads)
        except CodecKeyError as e:
            response = JSONResponse({"detail": str(e)}, status_code=400)
            cors(request, response)
            return response
        log.info(
            "codec used",
            op=op,
            caller=caller,
            namespace=request.headers.get("x-namespace"),
            payloads=len(out),
        )
        response = JSONResponse(MessageToDict(Payloads(payloads=out)) or {"payloads": []})
        cors(request, response)
        return response

    async def preflight(request: Request) -> Response:
        response = Response(status_code=204)
        cors(request, response)
        if "Access-Control-Allow-Origin" in response.headers:
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = _ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    @router.post("/decode")
    async def decode(request: Request) -> Response:
        return await transform(request, "decode")

    @router.post("/encode")
    async def encode(request: Request) -> Response:
        return await transform(request, "encode")

    router.add_api_route("/decode", preflight, methods=["OPTIONS"])
    router.add_api_route("/encode", preflight, methods=["OPTIONS"])
    return router


def create_codec_app(settings: Settings, *, codec: EncryptionCodec | None = None) -> FastAPI:
    """The stand-alone codec server (bearer token only: it has no staff sessions)."""
    if not settings.codec_auth_token.get_secret_value():
        raise ValueError("DESK_CODEC_AUTH_TOKEN must be set for the stand-alone codec server")
    app = FastAPI(title="Complaint desk codec server", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(codec_router(settings, codec=codec))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(settings: Settings) -> int:
    """`desk codec-server`: run until interrupted."""
    import uvicorn

    if not settings.codec_keys.get_secret_value().strip():
        log.error("codec server cannot start", reason="DESK_CODEC_KEYS is not set")
        return 2
    try:
        app = create_codec_app(settings)
    except (ValueError, CodecKeyError) as e:
        log.error("codec server cannot start", reason=str(e))
        return 2
    log.info("codec server", endpoint=f"http://{settings.codec_host}:{settings.codec_port}/codec")
    uvicorn.run(app, host=settings.codec_host, port=settings.codec_port, log_config=None)
    return 0
