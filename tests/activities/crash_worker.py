"""A worker process that dies for real (os._exit) in the middle of `notify`, for the duplicate-send tests.

`python -m tests.activities.crash_worker CONFIG_JSON` with CONFIG_JSON = {"target", "namespace", "queue",
"database_url", "settings": {...Settings fields}, "crash": "after_send:<channel>" | "before_completion"}.
- after_send:<channel>: the provider accepted the message on that channel, the outbox has not recorded it;
- before_completion: everything sent and recorded, the result never reaches Temporal.
Exit code 3 means it died where it was told to.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass

import asyncpg
import httpx
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.notifications.channels import Channel, OutgoingMessage
from activities.notifications.notifier import Notifier
from activities.registry import build_channels
from core.settings import Settings
from core.temporal import DATA_CONVERTER
from domain.messages import ACTIVITY_NOTIFY, Notification, NotificationResult

CRASHED = 3


@dataclass
class DieAfterSend:
    inner: Channel

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dedupes(self) -> bool:
        return self.inner.dedupes

    async def send(self, message: OutgoingMessage) -> str:
        await self.inner.send(message)
        os._exit(CRASHED)  # the provider has it; the outbox never hears back


async def main(cfg: dict) -> None:
    client = await Client.connect(cfg["target"], namespace=cfg["namespace"], data_converter=DATA_CONVERTER)
    pool = await asyncpg.create_pool(cfg["database_url"], min_size=1, max_size=2)
    channels = build_channels(Settings(_env_file=None, **cfg["settings"]), httpx.AsyncClient(timeout=10))
    kind, _, target = cfg["crash"].partition(":")
    if kind == "after_send":
        channels[target] = DieAfterSend(channels[target])
    notifier = Notifier(pool, channels, public_base_url=cfg["settings"]["public_base_url"])

    @activity.defn(name=ACTIVITY_NOTIFY)
    async def notify(n: Notification) -> NotificationResult:
        result = await notifier.notify(n)
        if kind == "before_completion":
            os._exit(CRASHED)
        return result

    async with Worker(client, task_queue=cfg["queue"], activities=[notify]):
        print("polling", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
