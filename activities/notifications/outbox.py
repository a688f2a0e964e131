"""The notification outbox: exactly-once delivery as the recipient sees it.

One row per delivery (notification × channel × recipient), keyed by `<notification key>/<channel>/<recipient>`.
The protocol, per delivery (all deliveries of one notification on one connection, reserved, locked and claimed together):

1. Reserve: insert the row (`queued`) before anything is sent; an existing row is left alone.
2. Claim: take a session-level advisory lock on the key. It is held only by a live connection, so a worker
   that dies mid-send releases it at once, while a slow attempt that is still running keeps a retry away.
3. Settled (`sent` or `rejected`) by an earlier attempt → nothing is sent again.
4. Otherwise mark `sending` (committed, attempts + 1), send with the delivery key, then record the outcome.

A row found in `sending` or `failed` means an earlier attempt may or may not have reached the provider: it is
sent again *with the same key*, which providers with an idempotency key (and mailboxes, by Message-ID)
collapse into the one message already delivered. Channels without such a key (Twilio, WeCom and DingTalk
robots) can repeat a message in that one window — a crash or timeout after the provider accepted it and
before the outcome was recorded; everywhere else they send once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import asyncpg
import structlog

from activities.notifications.channels import PermanentRejection, TransientFailure
from activities.notifications.routing import Delivery
from domain.messages import Notification

log = structlog.get_logger()


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # an attempt is sending, or died while sending (outcome unknown)
    SENT = "sent"
    FAILED = "failed"  # the last attempt failed transiently; a retry will send again
    REJECTED = "rejected"  # refused for good


@dataclass(frozen=True)
class DeliveryOutcome:
    status: DeliveryStatus
    settled_before: bool  # an earlier attempt settled it; nothing was sent now
    error: str | None = None


# A delivery's lock (session-level, so it outlives the statements between claim and settle), tried for the
# keys in parameter {keys}: one row per key, `locked` saying whether this connection now holds it.
_TRY_LOCKS = (
    "SELECT k, pg_try_advisory_lock(hashtextextended(k, 7233)) AS locked FROM unnest({keys}::text[]) AS k"
)
_TRY_LOCK = _TRY_LOCKS.format(keys="$1")
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(k, 7233)) FROM unnest($1::text[]) AS k"

# Reserve every delivery of one notification and try the locks of those sent here ($11), in one statement: the
# lock guards what is read after it, not the insert. The others wait, reserved, for the robot relay.
_RESERVE_AND_LOCK = """
WITH reserve AS (
    INSERT INTO notifications (idempotency_key, notification_key, complaint_id, template, audience, locale,
                               channel, recipient, subject, body)
    SELECT k, $2, $3, $4, $5, $6, c, r, $7, b
      FROM unnest($1::text[], $8::text[], $9::text[], $10::text[]) AS t(k, c, r, b)
    ON CONFLICT (idempotency_key) DO NOTHING
)
""" + _TRY_LOCKS.format(keys="$11")

# Read the rows and mark the unsettled ones `sending`, in one statement taken after the locks (so it reads
# what the last attempt committed); settled rows are left as they are.
_CLAIM = """
WITH before AS (
    SELECT idempotency_key, status, error FROM notifications WHERE idempotency_key = ANY($1::text[]) FOR UPDATE
), claimed AS (
    UPDATE notifications n SET status = 'sending', attempts = n.attempts + 1, updated_at = now()
      FROM before b
     WHERE n.idempotency_key = b.idempotency_key AND b.status NOT IN ('sent', 'rejected')
)
SELECT idempotency_key, status, error FROM before
"""

# The outcome of deliveries ($1: their keys): one here, every row a robot message carried in the relay.
SETTLE = """
UPDATE notifications
   SET status = $2, error = $3, provider_message_id = COALESCE($4, provider_message_id),
       updated_at = now(), sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
 WHERE idempotency_key = ANY($1::text[])
"""


# How long a delivery another attempt holds is waited for before it is left to a retry. Intake's early
# confirmation and the workflow's intake step race for the same deliveries; a send takes ~0.1 s, and a
# retry costs the complaint an activity and its history events.
LOCK_WAIT = 1.0
LOCK_POLL = 0.05


def delivery_key(n: Notification, d: Delivery) -> str:
    return f"{n.idempotency_key}/{d.channel}/{d.recipient}"


@dataclass(frozen=True)
class Planned:
    """One delivery of a notification, rendered for its channel."""

    delivery: Delivery
    body: str


class Outbox:
    def __init__(self, pool: asyncpg.Pool, *, lock_wait: float = LOCK_WAIT) -> None:
        self.pool = pool
        self.lock_wait = lock_wait

    async def deliver(
        self,
        n: Notification,
        subject: str,
        planned: list[Planned],
        send: Callable[[Delivery, str], Awaitable[str]],
        relayed: frozenset[str] = frozenset(),
    ) -> list[DeliveryOutcome | TransientFailure]:
        """Run the protocol above for every delivery of one notification on one connection: three round trips
        for all of them, plus one per delivery to record its outcome; `send(delivery, key)` performs one provider
        call and returns its message id. Deliveries on a `relayed` channel are only reserved (`queued`), for
        the robot relay to send. Per delivery, in order: its outcome, or a TransientFailure when another live
        attempt still holds it after `lock_wait`."""
        keys = [delivery_key(n, p.delivery) for p in planned]
        here = [k for k, p in zip(keys, planned, strict=True) if p.delivery.channel not in relayed]
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                _RESERVE_AND_LOCK,
                keys,
                n.idempotency_key,
                n.complaint_id,
                n.template.value,
                n.audience.value,
                n.locale.value,
                subject,
                [p.delivery.channel for p in planned],
                [p.delivery.recipient for p in planned],
                [p.body for p in planned],
                here,
            )
            locked = [r["k"] for r in rows if r["locked"]]
            try:
                if len(locked) < len(here):
                    locked += await self._wait_for_locks(conn, [k for k in here if k not in locked])
                outcomes = await self._claim_and_send(
                    conn, dict(zip(keys, planned, strict=True)), locked, send
                )
            finally:
                # Released on any exit. The pool's reset does not release locks (core/db.py): a connection
                # whose unlock did not go through is closed, which releases them.
                if locked:
                    try:
                        await conn.execute(_UNLOCK, locked)
                    except BaseException:
                        conn.terminate()
                        raise
        queued = DeliveryOutcome(DeliveryStatus.QUEUED, settled_before=False)
        return [
            queued
            if p.delivery.channel in relayed
            else outcomes.get(k) or TransientFailure(f"delivery {k} is being sent by another attempt")
            for k, p in zip(keys, planned, strict=True)
        ]

    async def _wait_for_locks(self, conn: asyncpg.Connection, keys: list[str]) -> list[str]:
        """The locks of these keys that another attempt gave up within `lock_wait` (then taken here)."""
        taken: list[str] = []
        deadline = time.monotonic() + self.lock_wait
        while keys and time.monotonic() < deadline:
            await asyncio.sleep(LOCK_POLL)
            got = [r["k"] for r in await conn.fetch(_TRY_LOCK, keys) if r["locked"]]
            taken += got
            keys = [k for k in keys if k not in got]
        return taken

    async def _claim_and_send(
        self,
        conn: asyncpg.Connection,
        planned: dict[str, Planned],
        locked: list[str],
        send: Callable[[Delivery, str], Awaitable[str]],
    ) -> dict[str, DeliveryOutcome]:
        if not locked:
            return {}
        outcomes: dict[str, DeliveryOutcome] = {}
        to_send: list[str] = []
        rows = {r["idempotency_key"]: r for r in await conn.fetch(_CLAIM, locked)}
        for key in (k for k in planned if k in rows):  # in the notifier's order
            row = rows[key]
            status = DeliveryStatus(row["status"])
            if status in (DeliveryStatus.SENT, DeliveryStatus.REJECTED):
                outcomes[key] = DeliveryOutcome(status, settled_before=True, error=row["error"])
                continue
            if status in (DeliveryStatus.SENDING, DeliveryStatus.FAILED):
                log.info(
                    "resending with the same key after an unknown outcome", key=key, previous=status.value
                )
            to_send.append(key)

        # One after another, each recorded as soon as its provider answered: a crash leaves at most the
        # delivery in flight unrecorded. Cancellation (worker shutdown) leaves it `sending`: truly unknown.
        for key in to_send:
            try:
                provider_id = await send(planned[key].delivery, key)
            except PermanentRejection as e:
                outcomes[key] = DeliveryOutcome(DeliveryStatus.REJECTED, settled_before=False, error=str(e))
            except TransientFailure as e:
                outcomes[key] = DeliveryOutcome(DeliveryStatus.FAILED, settled_before=False, error=str(e))
            except Exception as e:  # a bug, not the provider: record it and let the activity fail loudly
                await self._settle(conn, key, DeliveryStatus.FAILED, error=f"{type(e).__name__}: {e}")
                raise
            else:
                outcomes[key] = DeliveryOutcome(DeliveryStatus.SENT, settled_before=False)
                await self._settle(conn, key, DeliveryStatus.SENT, provider_id=provider_id)
                continue
            await self._settle(conn, key, outcomes[key].status, error=outcomes[key].error)
        return outcomes

    @staticmethod
    async def _settle(
        conn: asyncpg.Connection,
        key: str,
        status: DeliveryStatus,
        *,
        error: str | None = None,
        provider_id: str | None = None,
    ) -> None:
        await conn.execute(SETTLE, [key], status.value, error, provider_id)
