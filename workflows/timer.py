"""The one movable timer of a complaint (after samples-python `updatable_timer`): the loop sleeps until the
earliest warning or due moment of all running obligations; a step that moves that moment moves the timer,
and the loop wakes to re-arm. Never one timer per obligation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

MIN_TIMER = timedelta(milliseconds=1)  # closer than this to a due moment is "due now"


class MovableTimer:
    def __init__(self) -> None:
        self.at: datetime | None = None  # the moment it is armed for
        self._moved = False

    def move(self, at: datetime | None, *, force: bool = False) -> None:
        """The earliest moment is now `at` (None: nothing to wait for); `force` wakes the loop anyway."""
        if at != self.at or force:
            self._moved = True

    async def sleep(
        self, at: datetime | None, now: datetime, *, summary: str | None, interrupt: Callable[[], bool]
    ) -> None:
        """Until `at`, a move, or `interrupt()`; at once when `at` is within a timer's resolution."""
        self.at, self._moved = at, False
        left = (at - now) if at else None
        if left is not None and left <= MIN_TIMER:
            return
        try:
            await workflow.wait_condition(
                lambda: self._moved or interrupt(), timeout=left, timeout_summary=summary
            )
        except TimeoutError:
            pass
