"""Fixtures for the activities: the stand-ins on loopback (HTTP sink + carrier simulator, SMTP sink) over a
fresh ledger database, and channels pointed at them exactly as `activities.registry` would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest_asyncio

from activities.notifications.channels import Channel
from activities.notifications.notifier import Notifier
from activities.notifications.routing import RoutingConfig
from activities.registry import build_channels
from core.settings import Settings
from standins.http import create_standins_app, serve
from standins.sink import start_smtp_sink


@dataclass
class Standins:
    base_url: str  # the HTTP stand-ins (sink + carrier simulator)
    smtp_port: int
    pool: asyncpg.Pool

    def settings(self, **overrides) -> Settings:
        """Settings whose provider URLs point at these stand-ins (as `desk up` does with the web app's)."""
        values = dict(
            sms_url=f"{self.base_url}/sink/sms",
            push_url=f"{self.base_url}/sink/push",
            wecom_webhook_url=f"{self.base_url}/sink/wecom/cgi-bin/webhook/send?key=test-group",
            dingtalk_webhook_url=f"{self.base_url}/sink/dingtalk/robot/send?access_token=test-group",
            tracking_api_url=f"{self.base_url}/carrier-sim",
            smtp_host="127.0.0.1",
            smtp_port=self.smtp_port,
            public_base_url="https://desk.example.com",
        )
        values.update(overrides)
        return Settings(_env_file=None, **values)

    async def sink(self, complaint_id: str | None = None, channel: str | None = None) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT * FROM sink_messages WHERE ($1::text IS NULL OR complaint_id = $1)"
            " AND ($2::text IS NULL OR channel = $2) ORDER BY id",
            complaint_id,
            channel,
        )

    async def outbox(self, notification_key: str) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT * FROM notifications WHERE notification_key = $1 ORDER BY channel, recipient",
            notification_key,
        )


@pytest_asyncio.fixture
async def standins(ledger_pool: asyncpg.Pool) -> AsyncIterator[Standins]:
    smtp = await start_smtp_sink("127.0.0.1", 0, ledger_pool)
    try:
        async with serve(create_standins_app(ledger_pool)) as base_url:
            yield Standins(base_url, smtp.sockets[0].getsockname()[1], ledger_pool)
    finally:
        smtp.close()
        await smtp.wait_closed()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest_asyncio.fixture
async def channels(standins: Standins, http: httpx.AsyncClient) -> dict[str, Channel]:
    return build_channels(standins.settings(), http)


@pytest_asyncio.fixture
async def notifier(standins: Standins, channels: dict[str, Channel]) -> Notifier:
    return Notifier(standins.pool, channels, RoutingConfig(), public_base_url="https://desk.example.com")
