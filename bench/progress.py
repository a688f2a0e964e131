"""A thin progress reporter over rich's progress bar, so measurement modules need not know about rich."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress


class Progress:
    def __init__(self, console: Console | None = None, *, enabled: bool = True) -> None:
        self.console = console or Console(stderr=True)
        self._bar = RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),  # an estimate from the rate so far: a 10,000-complaint start takes minutes
            console=self.console,
            disable=not enabled,
        )

    def __enter__(self) -> Progress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

    def add(self, description: str, total: int | None) -> TaskID:
        return self._bar.add_task(description, total=total)

    def advance(self, task: TaskID, by: int = 1) -> None:
        self._bar.advance(task, by)

    def update(self, task: TaskID, completed: int) -> None:
        self._bar.update(task, completed=completed)

    def done(self, task: TaskID) -> None:
        t = self._bar._tasks.get(task)
        if t is not None and t.total is None:
            self._bar.update(task, total=1, completed=1)
        elif t is not None:
            self._bar.update(task, completed=t.total)

    def log(self, message: str) -> None:
        self.console.log(message)
