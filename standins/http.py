"""HTTP side of the local stand-ins, as one FastAPI `router` the web app mounts:

- `/sink/...`: the receiving end of the SMS (generic JSON and Twilio), push, WeCom and DingTalk robot
  protocols, storing what arrives (see `standins/sink.py`), and `GET /sink/messages` to read it back;
- `/carrier-sim/waybills/{waybill}`: the carrier simulator (`standins/carrier.py`).

The web app mounts them only with `DESK_STANDINS=true` (desk up, tests), through `build_router`: then only
the product's own worker may post (it presents `standin_token(settings)`), and the viewer needs a staff
sign-in and never shows a status-page token.

Each endpoint answers the way the real provider does, errors included, so the channel code is exercised as
it would be in production. `serve(app)` runs any app on a free loopback port (tests, `desk up`).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from core.settings import Settings, local_base_url
from standins.carrier import generate_trail, scenario_for
from standins.sink import SinkMessage, list_sink_messages, phone_problem, store_message
from ui.messages import redact_status_links


def banner_lines(settings: Settings) -> list[tuple[str, str]]:
    """For `desk up`'s banner: where a new user sees what would have been sent, and a trail to try."""
    base = local_base_url(settings)
    return [
        ("Notification sink", f"{base}/sink/messages"),
        ("Carrier simulator", f"{base}/carrier-sim/waybills/SF1234567891"),
    ]


def _pool(request: Request) -> asyncpg.Pool:
    ctx = getattr(request.app.state, "ctx", None)
    pool = getattr(ctx, "pool", None) or getattr(request.app.state, "pool", None)
    if pool is None:
        raise HTTPException(503, "the notification sink has no database")
    return pool


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None


# --- SMS: a generic JSON provider ----------------------------------------------------------------------------


class SmsRequest(BaseModel):
    to: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=2000)
    sender: str = Field(default="", max_length=64)
    reference: str | None = Field(default=None, max_length=200)


async def receive_sms(
    sms: SmsRequest,
    request: Request,
    idempotency_key: str | None = Header(default=None, max_length=500),
    x_complaint_id: str | None = Header(default=None, max_length=200),
) -> JSONResponse:
    problem = phone_problem(sms.to)
    if problem:
        return JSONResponse({"error": "invalid_number", "field": "to", "message": problem}, status_code=400)
    message_id, duplicate = await store_message(
        _pool(request),
        channel="sms",
        dedupe_key=idempotency_key,
        complaint_id=x_complaint_id or sms.reference,
        recipient=sms.to,
        body=sms.text,
        payload=sms.model_dump(),
    )
    headers = {"Idempotent-Replayed": "true"} if duplicate else {}
    return JSONResponse({"id": f"sms-{message_id}", "status": "accepted"}, headers=headers)


# --- SMS: Twilio's Messages API --------------------------------------------------------------------------------


def _twilio_error(status: int, code: int, message: str) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)


async def receive_twilio(
    account_sid: str, request: Request, x_complaint_id: str | None = Header(default=None, max_length=200)
) -> JSONResponse:
    auth = request.headers.get("authorization", "")
    try:
        user = (
            base64.b64decode(auth.removeprefix("Basic ")).decode().split(":", 1)[0]
            if auth.startswith("Basic ")
            else ""
        )
    except ValueError:
        user = ""
    if user != account_sid:
        return _twilio_error(401, 20003, "Authenticate")
    form = await request.form()
    to, sender, body = (str(form.get(k) or "") for k in ("To", "From", "Body"))
    if not to:
        return _twilio_error(400, 21604, "A 'To' phone number is required.")
    if not body:
        return _twilio_error(400, 21602, "Message body is required.")
    if phone_problem(to):
        return _twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    message_id, _ = await store_message(
        _pool(request),
        channel="sms-twilio",
        complaint_id=x_complaint_id,
        recipient=to,
        body=body,
        payload={"To": to, "From": sender, "Body": body},
    )
    sid = "SM" + hashlib.md5(f"{account_sid}/{message_id}".encode()).hexdigest()
    now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return JSONResponse(
        {
            "sid": sid,
            "account_sid": account_sid,
            "to": to,
            "from": sender,
            "body": body,
            "status": "queued",
            "date_created": now,
            "num_segments": "1",
            "direction": "outbound-api",
        },
        status_code=201,
    )


# --- App push webhook ------------------------------------------------------------------------------------------


class PushRequest(BaseModel):
    to: str = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=500)
    body: str = Field(min_length=1, max_length=5000)
    data: dict[str, Any] = Field(default_factory=dict)


async def receive_push(
    push: PushRequest,
    request: Request,
    idempotency_key: str | None = Header(default=None, max_length=500),
    x_complaint_id: str | None = Header(default=None, max_length=200),
) -> JSONResponse:
    message_id, duplicate = await store_message(
        _pool(request),
        channel="push",
        dedupe_key=idempotency_key,
        complaint_id=x_complaint_id or push.data.get("complaint_id"),
        recipient=push.to,
        subject=push.title,
        body=push.body,
        payload=push.model_dump(),
    )
    headers = {"Idempotent-Replayed": "true"} if duplicate else {}
    return JSONResponse({"id": f"push-{message_id}", "status": "accepted"}, headers=headers)


# --- Group robots: WeCom and DingTalk answer HTTP 200 with an errcode --------------------------------------------


def _robot_error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": message})


# What each robot answers past its limit of messages a minute.
_OVER_LIMIT = {
    "wecom": (45009, "api freq out of limit"),
    "dingtalk": (130101, "send too fast, exceed 20 times per minute"),
}


def _robot_limit(channel: str, per_minute: int) -> Callable[[Request], None]:
    """A route dependency counting each robot's messages in a sliding minute, as WeCom and DingTalk do;
    past `per_minute` it marks the request, and the robot answers with its over-the-limit errcode."""
    sent: dict[str, collections.deque[float]] = {}

    def count(request: Request) -> None:
        if per_minute <= 0:
            return
        robot = request.query_params.get("key") or request.query_params.get("access_token") or ""
        window = sent.setdefault(robot, collections.deque())
        now = time.monotonic()
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= per_minute:
            request.state.robot_over_limit = _OVER_LIMIT[channel]
            return
        window.append(now)

    return count


def _over_limit(request: Request) -> JSONResponse | None:
    limited = getattr(request.state, "robot_over_limit", None)
    return _robot_error(*limited) if limited else None


def _robot_content(body: Any, markdown_text_field: str) -> tuple[str, str] | JSONResponse:
    """(title, text) of a text or markdown robot message, or the robot's error answer."""
    if not isinstance(body, dict):
        return _robot_error(40035, "invalid request body, hint: expected a JSON object")
    msgtype = body.get("msgtype")
    part = body.get(msgtype) if isinstance(msgtype, str) else None
    if msgtype not in ("text", "markdown") or not isinstance(part, dict):
        return _robot_error(40008, "invalid message type")
    text = part.get("content" if msgtype == "text" else markdown_text_field)
    if not isinstance(text, str) or not text.strip():
        return _robot_error(44004, "empty content")
    title = str(part.get("title") or text.strip().splitlines()[0].lstrip("# ").strip())
    return title, text


async def receive_wecom(
    request: Request,
    key: str = Query(default="", max_length=200),
    x_complaint_id: str | None = Header(default=None, max_length=200),
) -> JSONResponse:
    if not key:
        return _robot_error(93000, "invalid webhook url, hint: key is missing")
    if limited := _over_limit(request):
        return limited
    body = await _json_body(request)
    content = _robot_content(body, "content")
    if isinstance(content, JSONResponse):
        return content
    title, text = content
    if len(text.encode()) > 4096:
        return _robot_error(40058, "markdown.content exceed max length 4096")
    message_id, _ = await store_message(
        _pool(request),
        channel="wecom",
        complaint_id=x_complaint_id,
        recipient=f"group:{key}",
        subject=title,
        body=text,
        payload=body,
    )
    return JSONResponse({"errcode": 0, "errmsg": "ok"})


async def receive_dingtalk(
    request: Request,
    access_token: str = Query(default="", max_length=200),
    timestamp: str | None = Query(default=None, max_length=20),
    sign: str | None = Query(default=None, max_length=200),
    x_complaint_id: str | None = Header(default=None, max_length=200),
) -> JSONResponse:
    if not access_token:
        return _robot_error(300001, "token is not exist")
    if (timestamp is None) != (sign is None):
        return _robot_error(310000, "sign not match, both timestamp and sign are required")
    if limited := _over_limit(request):
        return limited
    body = await _json_body(request)
    content = _robot_content(body, "text")
    if isinstance(content, JSONResponse):
        return content
    title, text = content
    await store_message(
        _pool(request),
        channel="dingtalk",
        complaint_id=x_complaint_id,
        recipient=f"group:{access_token}",
        subject=title,
        body=text,
        payload={**body, "signed": sign is not None},
    )
    return JSONResponse({"errcode": 0, "errmsg": "ok"})


# --- Reading the sink back -------------------------------------------------------------------------------------


async def sink_messages(
    request: Request,
    complaint_id: str | None = Query(default=None, max_length=200),
    channel: str | None = Query(default=None, max_length=50),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[SinkMessage]:
    found = await list_sink_messages(_pool(request), complaint_id, channel=channel, limit=limit)
    return [SinkMessage.model_validate_json(redact_status_links(m.model_dump_json())) for m in found]


# --- Carrier simulator -----------------------------------------------------------------------------------------


async def waybill_trail(waybill: str, now: datetime | None = Query(default=None)) -> JSONResponse:
    """`now` (ISO time) shows the trail as it stood then; default: the current time."""
    if scenario_for(waybill) == "outage":
        return JSONResponse(
            {"error": "service_unavailable", "message": "carrier system maintenance"}, status_code=503
        )
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    trail = generate_trail(waybill, moment)
    if trail is None:
        return JSONResponse({"error": "waybill_not_found", "waybill": waybill}, status_code=404)
    return JSONResponse(trail)


def _sent_credential(request: Request) -> str:
    """The credential a provider client sends: bearer key, Twilio basic-auth token, or robot URL key."""
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ")
    if auth.startswith("Basic "):
        try:
            return base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")[2]
        except ValueError:
            return ""
    return request.query_params.get("key") or request.query_params.get("access_token") or ""


def _token_required(token: str) -> Callable[[Request], None]:
    expected = token.encode()

    def check(request: Request) -> None:
        if not hmac.compare_digest(_sent_credential(request).encode("utf-8", "replace"), expected):
            raise HTTPException(401, "the stand-ins take messages from this product's worker only")

    return check


def build_router(
    *, token: str | None = None, viewer: Callable | None = None, robot_limit_per_minute: int = 0
) -> APIRouter:
    """The stand-ins' routes. `token`: what a sender must present (see `standin_token`); `viewer`: a
    dependency guarding the sink viewer (the web app passes its staff sign-in). None: open, for tests.
    `robot_limit_per_minute`: the robots' limit (the real ones: 20); 0: none."""
    senders = [Depends(_token_required(token))] if token else []
    readers = [Depends(viewer)] if viewer else []
    sink = APIRouter(prefix="/sink", include_in_schema=False)
    for path, endpoint, robot in (
        ("/sms", receive_sms, None),
        ("/twilio/2010-04-01/Accounts/{account_sid}/Messages.json", receive_twilio, None),
        ("/push", receive_push, None),
        ("/wecom/cgi-bin/webhook/send", receive_wecom, "wecom"),
        ("/dingtalk/robot/send", receive_dingtalk, "dingtalk"),
    ):
        limit = [Depends(_robot_limit(robot, robot_limit_per_minute))] if robot else []
        sink.add_api_route(path, endpoint, methods=["POST"], dependencies=senders + limit)
    sink.add_api_route("/messages", sink_messages, methods=["GET"], dependencies=readers)
    carrier = APIRouter(prefix="/carrier-sim", include_in_schema=False)
    carrier.add_api_route("/waybills/{waybill}", waybill_trail, methods=["GET"])
    router = APIRouter()
    router.include_router(sink)
    router.include_router(carrier)
    return router


router = build_router()  # open: the stand-ins on their own (tests, benchmarks), never in the web app


# --- Running standalone ----------------------------------------------------------------------------------------


def create_standins_app(pool: asyncpg.Pool, *, robot_limit_per_minute: int = 0) -> FastAPI:
    """The stand-ins alone (tests, or a worker machine without the web app)."""
    app = FastAPI(title="Complaint desk stand-ins")
    app.state.pool = pool
    app.include_router(
        build_router(robot_limit_per_minute=robot_limit_per_minute) if robot_limit_per_minute else router
    )
    return app


class _Server(uvicorn.Server):
    def capture_signals(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # leave Ctrl-C to the host process


@contextlib.asynccontextmanager
async def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve `app` in the running loop on host:port (0: a free port); yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # surfaces the start-up error
                raise RuntimeError("server stopped during start-up")
            await asyncio.sleep(0.01)
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task
        sock.close()
