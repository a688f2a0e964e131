"""A fake outside provider on 127.0.0.1 that speaks the generic JSON SMS / push protocol the worker uses
(`activities/notifications/channels.py`: POST JSON with an `Idempotency-Key` header, 2xx → `{"id": ...}`)
and fails half the time.

Each delivery key's first request fails, in one of three ways chosen by the key; its next one succeeds:
- `503`: refused at once, nothing delivered;
- `hang_accept`: the message is delivered, then the answer comes only after the client has timed out —
  the nasty case, where a resend must not reach the phone twice;
- `hang_drop`: no answer until the client times out, nothing delivered.
Like a real provider it collapses a resend with a known `Idempotency-Key` into the message it already
delivered; a request without the header is always a new message.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from dataclasses import dataclass, field

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

KINDS = ("503", "hang_accept", "hang_drop")


@dataclass
class Delivered:
    channel: str
    to: str
    text: str
    arrivals: int = 1  # requests that carried this message (resends collapsed)


@dataclass
class FlakyProvider:
    hang_seconds: float = 16.0  # longer than the worker's HTTP timeout (15 s)
    requests: int = 0
    failures: Counter = field(default_factory=Counter)
    attempts: Counter = field(default_factory=Counter)  # per key
    delivered: dict[str, Delivered] = field(default_factory=dict)
    unkeyed: list[Delivered] = field(default_factory=list)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @staticmethod
    def kind_for(key: str) -> str:
        return KINDS[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(KINDS)]

    def release(self) -> None:
        """End every hanging request (test teardown)."""
        self._release.set()

    async def _hang(self) -> None:
        try:
            await asyncio.wait_for(self._release.wait(), timeout=self.hang_seconds)
        except TimeoutError:
            pass

    def _deliver(self, channel: str, key: str | None, to: str, text: str) -> str:
        if key is None:
            self.unkeyed.append(Delivered(channel, to, text))
            return f"m-{len(self.unkeyed)}"
        if key in self.delivered:
            self.delivered[key].arrivals += 1
        else:
            self.delivered[key] = Delivered(channel, to, text)
        return "m-" + hashlib.sha256(key.encode()).hexdigest()[:12]

    def app(self) -> FastAPI:
        app = FastAPI()

        async def handle(channel: str, request: Request, idempotency_key: str | None) -> JSONResponse:
            body = await request.json()
            to, text = str(body.get("to", "")), str(body.get("text") or body.get("body") or "")
            self.requests += 1
            if idempotency_key is None:
                return JSONResponse({"id": self._deliver(channel, None, to, text)})
            self.attempts[idempotency_key] += 1
            if self.attempts[idempotency_key] == 1:
                kind = self.kind_for(idempotency_key)
                self.failures[kind] += 1
                if kind == "503":
                    return JSONResponse({"error": "service unavailable"}, status_code=503)
                if kind == "hang_accept":
                    message_id = self._deliver(channel, idempotency_key, to, text)
                    await self._hang()
                    return JSONResponse({"id": message_id})
                await self._hang()
                return JSONResponse({"error": "gateway timeout"}, status_code=504)
            return JSONResponse({"id": self._deliver(channel, idempotency_key, to, text)})

        @app.post("/sms")
        async def sms(request: Request, idempotency_key: str | None = Header(default=None)) -> JSONResponse:
            return await handle("sms", request, idempotency_key)

        @app.post("/push")
        async def push(request: Request, idempotency_key: str | None = Header(default=None)) -> JSONResponse:
            return await handle("push", request, idempotency_key)

        return app
