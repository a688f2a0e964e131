"""The `record_step` local activity: one workflow step's effects in one call — its ledger batch, then its
notifications, each tried once and side by side.

Why one call: a deadline's step (a breach, say) used to cost a local activity for the ledger plus one activity
per notification, each with its own history events and a workflow task to take its result. Now it costs one
marker. A notification that does not settle at once (a provider is down or slow to answer, another attempt
holds the delivery) comes back as *deferred*: the workflow hands it to the retrying `notify` activity, whose
backoff must not hold a workflow task. The outbox makes the second try send only what is still missing.
"""

from __future__ import annotations

import asyncio

import structlog
from temporalio import activity

from activities.ledger import LedgerWriter
from activities.notifications.notifier import Notifier
from domain.messages import ACTIVITY_STEP, Notification, StepResult, StepWrite

log = structlog.get_logger()

# How long a step waits for one notification before deferring it. The step holds its workflow task, and the
# timers that task sets count from its end: a provider that hangs must not hold them for its full timeout.
# The attempt is not cut off, only no longer waited for: cut mid-send, a robot (no idempotency key) would get
# the message again from the retry. Still running, it holds the delivery's lock, so the retry waits for it.
INLINE_BUDGET_S = 3.0


class StepRecorder:
    def __init__(
        self, ledger: LedgerWriter, notifier: Notifier, *, budget_s: float = INLINE_BUDGET_S
    ) -> None:
        self.ledger = ledger
        self.notifier = notifier
        self.budget_s = budget_s
        self._unwaited: set[asyncio.Task[object]] = set()  # attempts past the budget, still finishing

    @activity.defn(name=ACTIVITY_STEP)
    async def record_step(self, step: StepWrite) -> StepResult:
        # The ledger first: a failure here fails the attempt (retried), before anything is sent, and the
        # notifications read the complaint's contact facts from it.
        new = await self.ledger.record_ledger(step.ledger) if step.ledger else 0
        settled = await asyncio.gather(*(self._try_once(n) for n in step.notifications))
        result = StepResult(new_events=new)
        for n, ok in zip(step.notifications, settled, strict=True):
            (result.settled if ok else result.deferred).append(n.idempotency_key)
        return result

    async def _try_once(self, n: Notification) -> bool:
        attempt = asyncio.ensure_future(self.notifier.notify(n))
        done, _ = await asyncio.wait({attempt}, timeout=self.budget_s)
        if not done:
            self._unwaited.add(attempt)
            attempt.add_done_callback(self._unwaited.discard)
            log.info(
                "notification slower than the step's budget: the retrying activity takes it",
                key=n.idempotency_key,
            )
            return False
        if attempt.exception() is not None:  # any failure: the retrying activity takes it from here
            log.info(
                "notification deferred to the retrying activity",
                key=n.idempotency_key,
                error=str(attempt.exception())[:300],
            )
            return False
        return True

    async def finish_unwaited(self) -> None:
        """Let the attempts no longer waited for end (tests; a worker that stops simply leaves them)."""
        await asyncio.gather(*self._unwaited, return_exceptions=True)
