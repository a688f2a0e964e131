"""Group-robot messages go out through one relay per worker process, not from the step that raised them.

Why: a WeCom or DingTalk group robot takes at most 20 messages a minute (beyond that errcode 45009 / 130101,
and DingTalk mutes the robot for ten minutes). A Monday-morning burst raises hundreds of warnings and breaches
in a minute: sent one by one from their steps they would trickle out over hours, each retry adding load. The
relay sends what is waiting for a robot as one message when it is one, and as one digest when it is several,
paced so that no 60 s window holds more than the limit.

Durability is the outbox's: the step reserves the robot's row (`queued`) with its other deliveries and wakes
the relay. The relay claims waiting rows with FOR UPDATE SKIP LOCKED (worker processes share the table),
marks them `sending` (committed) before it sends, and settles them together. A row left by a process that
died — queued, failed, or sending for longer than `STALE` — is taken by the next sweep of any relay. A
robot has no idempotency key: a crash between its answer and the settle sends that message again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

from activities.notifications.channels import (
    Channel,
    OutgoingMessage,
    PermanentRejection,
    TransientFailure,
)
from activities.notifications.outbox import SETTLE
from activities.notifications.templates import render_digest

log = structlog.get_logger()

PROVIDER_LIMIT_PER_MINUTE = 20  # WeCom and DingTalk robots, per robot
STALE = timedelta(minutes=2)  # a row `sending` this long belongs to an attempt that died
SWEEP_S = 15.0  # how often an idle relay looks for rows nobody woke it for
MAX_ROWS = 500  # rows one message settles; a digest lists what fits and counts the rest
MAX_BYTES = 4000  # WeCom refuses markdown over 4,096 bytes; DingTalk's is larger, kept alike to stay readable

_CLAIM = """
WITH picked AS (
    SELECT idempotency_key FROM notifications
     WHERE channel = $1
       AND (status IN ('queued', 'failed') OR (status = 'sending' AND updated_at < now() - $3::interval))
     ORDER BY created_at
     LIMIT $2
       FOR UPDATE SKIP LOCKED
)
UPDATE notifications n
   SET status = 'sending', attempts = n.attempts + 1, updated_at = now()
  FROM picked p
 WHERE n.idempotency_key = p.idempotency_key
RETURNING n.idempotency_key, n.complaint_id, n.locale, n.subject, n.body, n.created_at
"""


# Each robot's budget is a token bucket in `robot_pace`, shared by the relays of every worker process (one
# robot, one limit, however many workers): a quarter of the limit may go at once, so a single alert in a quiet
# hour never waits; the rest refills evenly, so a long storm gets a message every 61/(limit − burst) seconds,
# never a burst and then a silent minute. Burst + a minute's refill is the limit: no 60 s holds more.
# A token is taken only when rows are waiting; the row lock makes concurrent relays take turns.
_TAKE = """
WITH clock AS (SELECT COALESCE($4::timestamptz, clock_timestamp()) AS now),
waiting AS (
    SELECT EXISTS (
        SELECT 1 FROM notifications, clock
         WHERE channel = $1
           AND (status IN ('queued', 'failed') OR (status = 'sending' AND updated_at < clock.now - $5::interval))
    ) AS yes
),
state AS (
    SELECT least($2::float8, p.tokens + greatest(0, extract(epoch FROM clock.now - p.at)) * $3::float8) AS tokens,
           p.paused_until, clock.now
      FROM robot_pace p, clock WHERE p.channel = $1 FOR UPDATE OF p
),
took AS (
    UPDATE robot_pace p SET tokens = s.tokens - 1, at = s.now
      FROM state s, waiting w
     WHERE p.channel = $1 AND w.yes AND s.tokens >= 1 AND s.paused_until <= s.now
    RETURNING 1
)
SELECT w.yes AS waiting, s.tokens, extract(epoch FROM s.paused_until - s.now) AS paused_s,
       EXISTS (SELECT 1 FROM took) AS taken
  FROM state s, waiting w
"""

_ENSURE = """
INSERT INTO robot_pace (channel, tokens, at) VALUES ($1, $2, clock_timestamp()) ON CONFLICT (channel) DO NOTHING
"""

_PAUSE = """
UPDATE robot_pace SET paused_until = greatest(paused_until, clock_timestamp() + make_interval(secs => $2))
 WHERE channel = $1
"""


@dataclass(frozen=True)
class Budget:
    """A robot's limit as a bucket: `burst` at once, then `rate` a second."""

    per_minute: int

    @property
    def burst(self) -> int:
        return max(1, self.per_minute // 4)

    @property
    def rate(self) -> float:
        # What a minute adds stays within the limit (61 s: a margin on the provider's clock).
        return max(self.per_minute - self.burst, 1) / 61.0


@dataclass(frozen=True)
class _Row:
    key: str
    complaint_id: str
    locale: str
    subject: str
    body: str


class RobotRelay:
    """Sends the outbox's robot rows; `attach` gives it the robot channels, `running()` runs it."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        per_minute: int = PROVIDER_LIMIT_PER_MINUTE,
        public_base_url: str = "http://127.0.0.1:8000",
        sweep_s: float = SWEEP_S,
        limited_pause_s: float = 60.0,
    ) -> None:
        self.pool = pool
        self.per_minute = per_minute
        self.public_base_url = public_base_url.rstrip("/")
        self.sweep_s = sweep_s
        self.limited_pause_s = limited_pause_s  # a robot over its limit stays closed this long
        self.robots: dict[str, Channel] = {}
        self.budget = Budget(per_minute)
        self._wake: dict[str, asyncio.Event] = {}
        self._failures: dict[str, int] = {}

    def attach(self, robots: dict[str, Channel]) -> None:
        self.robots = dict(robots)
        self._wake = {name: asyncio.Event() for name in robots}

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self.robots)

    def wake(self, channels: Iterable[str]) -> None:
        for name in channels:
            if name in self._wake:
                self._wake[name].set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(self._run(name), name=f"robot-relay-{name}") for name in self.robots]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, name: str) -> None:
        wake = self._wake[name]
        wake.set()  # a first sweep at start: rows a previous process left
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.sweep_s)
            wake.clear()
            try:
                while await self.send_waiting(name):
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the database is away: the next wake or sweep tries again
                log.warning("robot relay could not claim", channel=name, error=f"{type(e).__name__}: {e}")

    async def take_turn(self, name: str, now: datetime | None = None) -> float | None:
        """Take one of the robot's sends if rows wait for it: 0 when taken, None when nothing waits, else the
        seconds until one may be taken. `now`: the database's clock unless given (tests)."""
        if self.per_minute <= 0:
            return 0.0
        row = await self.pool.fetchrow(_TAKE, name, float(self.budget.burst), self.budget.rate, now, STALE)
        if row is None:  # the robot's first turn anywhere
            await self.pool.execute(_ENSURE, name, float(self.budget.burst))
            return await self.take_turn(name, now)
        if not row["waiting"]:
            return None
        if row["taken"]:
            return 0.0
        refill = max(0.0, (1 - row["tokens"]) / self.budget.rate)
        return max(refill, float(row["paused_s"] or 0), 0.05)

    async def send_waiting(self, name: str) -> int:
        """Wait for the robot's turn, claim what is waiting and send it as one message; the rows sent."""
        while (wait := await self.take_turn(name)) != 0:
            if wait is None:
                return 0
            await asyncio.sleep(wait)  # what arrives meanwhile joins this message
        # No connection is held while the robot answers: claimed rows are `sending`, committed.
        rows = [
            _Row(r["idempotency_key"], r["complaint_id"], r["locale"], r["subject"], r["body"])
            for r in await self.pool.fetch(_CLAIM, name, MAX_ROWS, STALE)
        ]
        if not rows:
            return 0
        status, error, provider_id = await self._send(name, rows)
        await self.pool.execute(SETTLE, [r.key for r in rows], status, error, provider_id)
        return len(rows)

    async def _send(self, name: str, rows: list[_Row]) -> tuple[str, str | None, str | None]:
        robot = self.robots[name]
        message = self._message(rows)
        try:
            provider_id = await robot.send(message)
        except PermanentRejection as e:
            log.error("robot refused the message for good", channel=name, rows=len(rows), error=str(e))
            return "rejected", str(e), None
        except TransientFailure as e:
            failures = self._failures[name] = self._failures.get(name, 0) + 1
            limited = any(code in str(e) for code in ("45009", "130101"))
            pause = self.limited_pause_s if limited else min(60.0, 2.0**failures)
            await self._pause(name, pause)
            log.warning(
                "robot message failed, will retry",
                channel=name,
                rows=len(rows),
                retry_in_s=pause,
                error=str(e),
            )
            return "failed", str(e), None
        except Exception as e:  # a bug: keep the rows for a retry and say so loudly
            await self._pause(name, 30.0)
            log.exception("robot relay send failed", channel=name, rows=len(rows))
            return "failed", f"{type(e).__name__}: {e}", None
        self._failures.pop(name, None)
        if len(rows) > 1:
            log.info("robot digest sent", channel=name, rows=len(rows))
        return "sent", None, provider_id or None

    async def _pause(self, name: str, seconds: float) -> None:
        """Every relay leaves the robot alone this long (it said it is over its limit, or is failing)."""
        if self.per_minute > 0:
            await self.pool.execute(_PAUSE, name, seconds)
        else:
            await asyncio.sleep(seconds)

    def _message(self, rows: list[_Row]) -> OutgoingMessage:
        if len(rows) == 1:
            row = rows[0]
            return OutgoingMessage(
                delivery_key=row.key,
                complaint_id=row.complaint_id,
                recipient="group",
                subject=row.subject,
                text=row.body,
                markdown=row.body,
            )
        subject, markdown = render_digest(
            rows[0].locale,
            [(r.subject, f"{self.public_base_url}/staff/complaints/{r.complaint_id}") for r in rows],
            limit=self.per_minute or PROVIDER_LIMIT_PER_MINUTE,
            desk_url=f"{self.public_base_url}/staff",
            max_bytes=MAX_BYTES,
        )
        return OutgoingMessage(
            delivery_key=f"digest/{rows[0].key}",
            complaint_id="",
            recipient="group",
            subject=subject,
            text=markdown,
            markdown=markdown,
        )
