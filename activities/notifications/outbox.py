"""The notification outbox: exactly-once delivery as the recipient sees it.

One row per delivery (notification × channel × recipient), keyed by `<notification key>/<channel>/<recipient>`.
The protocol, per delivery:

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


_CLAIM = """
WITH before AS (
    SELECT status, error FROM notifications WHERE idempotency_key = $1 FOR UPDATE
), claimed AS (
    UPDATE notifications SET status = 'sending', attempts = attempts + 1, updated_at = now()
     WHERE idempotency_key = $1 AND (SELECT status FROM before) NOT IN ('sent', 'rejected')
)
SELECT status, error FROM before
"""


def delivery_key(n: Notification, d: Delivery) -> str:
    return f"{n.idempotency_key}/{d.channel}/{d.recipient}"


class Outbox:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def deliver(
        self, n: Notification, d: Delivery, subject: str, body: str, send: Callable[[str], Awaitable[str]]
    ) -> DeliveryOutcome:
        """Run the protocol above; `send(key)` performs the provider call and returns its message id.
        Raises TransientFailure when another live attempt holds this delivery."""
        key = delivery_key(n, d)
        async with self.pool.acquire() as conn:
            # Reserve and claim in one round trip: the lock guards what is read after it, not the insert.
            locked = await conn.fetchval(
                """
                WITH reserve AS (
                    INSERT INTO notifications (idempotency_key, notification_key, complaint_id, template,
                                               audience, locale, channel, recipient, subject, body)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                    ON CONFLICT (idempotency_key) DO NOTHING
                )
                SELECT pg_try_advisory_lock(hashtextextended($1, 7233))
                """,
                key,
                n.idempotency_key,
                n.complaint_id,
                n.template.value,
                n.audience.value,
                n.locale.value,
                d.channel,
                d.recipient,
                subject,
                body,
            )
            if not locked:
                raise TransientFailure(f"delivery {key} is being sent by another attempt")
            try:
                return await self._claim_and_send(conn, key, send)
            finally:
                # Released on any exit; the pool's reset would also release it (pg_advisory_unlock_all).
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 7233))", key)

    async def _claim_and_send(
        self, conn: asyncpg.Connection, key: str, send: Callable[[str], Awaitable[str]]
    ) -> DeliveryOutcome:
        # Read the row and mark it `sending` in one statement (it starts after the lock, so it reads what the
        # last attempt committed); a settled row is left as it is.
        row = await conn.fetchrow(_CLAIM, key)
        status = DeliveryStatus(row["status"])
        if status in (DeliveryStatus.SENT, DeliveryStatus.REJECTED):
            return DeliveryOutcome(status, settled_before=True, error=row["error"])
        if status in (DeliveryStatus.SENDING, DeliveryStatus.FAILED):
            log.info("resending with the same key after an unknown outcome", key=key, previous=status.value)
        try:
            provider_id = await send(key)
        except PermanentRejection as e:
            await self._settle(conn, key, DeliveryStatus.REJECTED, error=str(e))
            return DeliveryOutcome(DeliveryStatus.REJECTED, settled_before=False, error=str(e))
        except TransientFailure as e:
            await self._settle(conn, key, DeliveryStatus.FAILED, error=str(e))
            return DeliveryOutcome(DeliveryStatus.FAILED, settled_before=False, error=str(e))
        except Exception as e:  # a bug, not the provider: record it and let the activity fail loudly
            await self._settle(conn, key, DeliveryStatus.FAILED, error=f"{type(e).__name__}: {e}")
            raise
        # Cancellation (worker shutdown) leaves the row in `sending`: the outcome is truly unknown.
        await self._settle(conn, key, DeliveryStatus.SENT, provider_id=provider_id)
        return DeliveryOutcome(DeliveryStatus.SENT, settled_before=False)

    @staticmethod
    async def _settle(
        conn: asyncpg.Connection,
        key: str,
        status: DeliveryStatus,
        *,
        error: str | None = None,
        provider_id: str | None = None,
    ) -> None:
        await conn.execute(
            """
            UPDATE notifications
               SET status = $2, error = $3, provider_message_id = COALESCE($4, provider_message_id),
                   updated_at = now(), sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
             WHERE idempotency_key = $1
            """,
            key,
            status.value,
            error,
            provider_id,
        )
