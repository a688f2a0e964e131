"""The customer's confirmation, sent by intake the moment Temporal has the complaint.

The workflow's intake step sends the confirmation too, and remains what guarantees it: both build it with
`domain.case_view.confirmation` (same text, same idempotency key), and the notification outbox sends a
delivery once, so whichever comes second finds it sent. Intake sending first only means the customer no
longer waits for the worker: under a Monday-morning burst the worker may be a minute behind new
complaints, and while a worker is down it takes none at all.

Best effort by design: at most `limit` sends in flight (past that, the worker's step sends it), nothing
retried here, every failure logged and left to the workflow, never to the intake system's answer.
Off with `DESK_INTAKE_SENDS_CONFIRMATION=false`, for a deployment that keeps the customer channels'
credentials out of the web process.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import structlog

from activities.notifications.notifier import Notifier
from activities.registry import build_notifier, new_http_client
from core.settings import Settings
from domain.case import CaseState
from domain.case_view import confirmation
from domain.messages import Notification
from domain.models import ComplaintInput

log = structlog.get_logger("intake")

IN_FLIGHT = 64  # sends at once; a burst past this leaves the rest to the worker's intake step


class EarlyConfirmation:
    def __init__(self, notifier: Notifier, *, limit: int = IN_FLIGHT, http: httpx.AsyncClient | None = None):
        self._notifier = notifier
        self._limit = limit
        self._http = http
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def build(cls, settings: Settings, pool: asyncpg.Pool) -> EarlyConfirmation | None:
        if not settings.intake_sends_confirmation:
            return None
        http = new_http_client()
        return cls(build_notifier(settings, pool, http), http=http)

    def send(self, case: CaseState, ci: ComplaintInput) -> None:
        """Start sending the confirmation of a complaint Temporal has just recorded; returns at once."""
        if len(self._tasks) >= self._limit:
            log.debug("confirmation left to the worker", complaint_id=ci.complaint_id, in_flight=self._limit)
            return
        task = asyncio.create_task(self._send(confirmation(case, ci)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, note: Notification) -> None:
        try:
            await self._notifier.notify(note)
        except Exception as e:  # NotificationDeferred, a database hiccup: the workflow's step sends it
            log.info("confirmation left to the worker", key=note.idempotency_key, error=str(e)[:300])

    async def aclose(self, timeout: float = 5.0) -> None:
        """Let sends in flight finish (briefly), then close the HTTP client."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
