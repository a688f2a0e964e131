"""The codec server: refuses without credentials, decodes for an engineer, speaks the Web UI's protocol."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from google.protobuf.json_format import MessageToDict, ParseDict
from pydantic import SecretStr
from temporalio.api.common.v1 import Payloads

from core.codec import ENCODING, EncryptionCodec, generate_key
from core.settings import Settings
from core.temporal import DATA_CONVERTER
from domain.models import Role
from tests.ops.conftest import free_port
from ui.codec_server import codec_router, create_codec_app

KEYS = generate_key("k1")
TOKEN = "engineer-token-0123456789"
UI = "http://127.0.0.1:8233"
SECRET = "王小明 +86 138 0013 8000"


def settings(**kw) -> Settings:
    return Settings(codec_keys=SecretStr(KEYS), codec_auth_token=SecretStr(TOKEN), temporal_ui_url=UI, **kw)


async def sealed_body() -> dict:
    payloads = DATA_CONVERTER.payload_converter.to_payloads([{"customer": SECRET}])
    sealed = await EncryptionCodec.from_spec(KEYS).encode(payloads)
    return MessageToDict(Payloads(payloads=sealed))


def opened(body: dict) -> list:
    payloads = ParseDict(body, Payloads()).payloads
    return DATA_CONVERTER.payload_converter.from_payloads(list(payloads))


def app_with_sessions(sessions: dict[str, tuple[str, Role]]) -> FastAPI:
    """A web app whose staff session is a cookie naming a user (the real one is ui.auth's signed cookie)."""

    async def session(request: Request):
        return sessions.get(request.cookies.get("sid", ""))

    app = FastAPI()
    app.include_router(codec_router(settings(), session=session))
    return app


@pytest.fixture
def http():
    sessions = {
        "s-eng": ("chen", Role.ENGINEER),
        "s-adm": ("admin", Role.ADMIN),
        "s-spec": ("zhang", Role.SPECIALIST),
    }
    transport = httpx.ASGITransport(app=app_with_sessions(sessions))
    return httpx.AsyncClient(transport=transport, base_url="http://desk.test")


async def test_refuses_without_credentials(http):
    async with http:
        r = await http.post("/codec/decode", json=await sealed_body(), headers={"Origin": UI})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert SECRET not in r.text
    # The browser can read the refusal (CORS headers on errors too), so the UI shows why.
    assert r.headers["Access-Control-Allow-Origin"] == UI


async def test_refuses_a_wrong_token_and_a_staff_member_without_the_role(http):
    body = await sealed_body()
    async with http:
        wrong = await http.post("/codec/decode", json=body, headers={"Authorization": "Bearer guess"})
        specialist = await http.post("/codec/decode", json=body, headers={"Cookie": "sid=s-spec"})
        encode = await http.post("/codec/encode", json=body)
    assert wrong.status_code == 401
    assert specialist.status_code == 403 and "specialist" in specialist.json()["detail"]
    assert encode.status_code == 401
    for r in (wrong, specialist, encode):
        assert SECRET not in r.text


async def test_decodes_for_the_bearer_token_and_for_an_engineer_or_admin_session(http):
    body = await sealed_body()
    async with http:
        by_token = await http.post("/codec/decode", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        by_engineer = await http.post("/codec/decode", json=body, headers={"Cookie": "sid=s-eng"})
        by_admin = await http.post("/codec/decode", json=body, headers={"Cookie": "sid=s-adm"})
        # The Web UI may pass its own access token along: the engineer's session still counts.
        ui_token_and_session = await http.post(
            "/codec/decode",
            json=body,
            headers={"Cookie": "sid=s-eng", "Authorization": "Bearer ui-oidc-token"},
        )
    for r in (by_token, by_engineer, by_admin, ui_token_and_session):
        assert r.status_code == 200, r.text
        assert opened(r.json()) == [{"customer": SECRET}]


async def test_encode_then_decode_round_trip_over_http(http):
    clear = MessageToDict(Payloads(payloads=DATA_CONVERTER.payload_converter.to_payloads(["note: 冷链"])))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with http:
        encoded = (await http.post("/codec/encode", json=clear, headers=auth)).json()
        decoded = (await http.post("/codec/decode", json=encoded, headers=auth)).json()
    (p,) = encoded["payloads"]
    assert base64.b64decode(p["metadata"]["encoding"]) == ENCODING
    assert opened(decoded) == ["note: 冷链"]


async def test_bad_body_is_a_400_naming_the_shape(http):
    async with http:
        r = await http.post(
            "/codec/decode", json={"payload": []}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        unknown_key = await http.post(
            "/codec/decode",
            json={
                "payloads": [
                    {
                        "metadata": {
                            "encoding": base64.b64encode(ENCODING).decode(),
                            "encryption-key-id": base64.b64encode(b"k0").decode(),
                        },
                        "data": base64.b64encode(b"x" * 40).decode(),
                    }
                ]
            },
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert r.status_code == 400 and "payloads" in r.json()["detail"]
    assert unknown_key.status_code == 400 and "'k0'" in unknown_key.json()["detail"]


async def test_cors_preflight_allows_only_the_web_ui_origin(http):
    headers = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with http:
        ok = await http.options("/codec/decode", headers={**headers, "Origin": UI})
        other = await http.options("/codec/decode", headers={**headers, "Origin": "http://evil.example"})
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == UI
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    assert "X-Namespace" in ok.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_stand_alone_server_over_real_http():
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_codec_app(settings()), host="127.0.0.1", port=port, log_config=None)
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            refused = await client.post("/codec/decode", json=await sealed_body())
            decoded = await client.post(
                "/codec/decode",
                json=await sealed_body(),
                headers={"Authorization": f"Bearer {TOKEN}", "X-Namespace": "default"},
            )
    finally:
        server.should_exit = True
        await task
    assert refused.status_code == 401
    assert decoded.status_code == 200 and opened(decoded.json()) == [{"customer": SECRET}]


def test_stand_alone_server_needs_a_token():
    with pytest.raises(ValueError, match="DESK_CODEC_AUTH_TOKEN"):
        create_codec_app(Settings(codec_keys=SecretStr(KEYS)))


async def test_mounted_in_the_web_app_it_follows_the_real_staff_sessions(ts_env, ledger_pool, ledger_url):
    """The web app with encryption on: /codec answers by the signed-in staff member's role; /metrics is there
    for the bearer token."""
    from tests.ui.conftest import signed_in, start_web, ui_settings

    settings = ui_settings(
        ledger_url, codec_keys=SecretStr(KEYS), temporal_ui_url=UI, metrics_token=SecretStr("scrape")
    )
    body = await sealed_body()
    async for web in start_web(ts_env.client, ledger_pool, settings):
        async with httpx.AsyncClient(base_url=web.base_url) as anonymous:
            refused = await anonymous.post("/codec/decode", json=body, headers={"Origin": UI})
            scrape = await anonymous.get("/metrics", headers={"Authorization": "Bearer scrape"})
        async with signed_in(web.base_url, "zhang") as specialist:
            forbidden = await specialist.post("/codec/decode", json=body)
        async with signed_in(web.base_url, "chen") as engineer:
            decoded = await engineer.post("/codec/decode", json=body, headers={"Origin": UI})
    assert refused.status_code == 401 and SECRET not in refused.text
    assert refused.headers["Access-Control-Allow-Origin"] == UI
    assert forbidden.status_code == 403 and SECRET not in forbidden.text
    assert decoded.status_code == 200 and opened(decoded.json()) == [{"customer": SECRET}]
    assert decoded.headers["Access-Control-Allow-Credentials"] == "true"
    assert scrape.status_code == 200 and "desk_intake_latency_seconds" in scrape.text
