"""The business calendar as the processes use it: which days new complaints start with, what changes reach
open ones, and which years are not confirmed yet.

`CalendarBook` joins the calendar file (`DESK_CALENDAR_FILE`) and the admin page's edits (PostgreSQL, read
at most every `ttl` seconds) over the holiday library's days. Intake asks it for the calendars a new
complaint carries (explicit days, so its replay never depends on a worker's library version); an admin's
change is previewed (`preview`) and then sent to every open complaint (`push`), whose running clocks
re-plan on the new days.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from activities import calendar_store
from core.settings import Settings
from domain.calendar import (
    SIGNAL_CALENDARS_CHANGED,
    CalendarChange,
    CalendarSpec,
    ScheduleGap,
    unconfirmed_schedules,
)
from domain.calendar_edits import (
    CalendarEdits,
    CalendarFileError,
    MovedDeadline,
    moved_deadlines,
    parse_calendar_file,
    resolve_calendars,
)
from domain.policy import Policy, preset
from domain.public_holidays import REGIONS, library_version

log = structlog.get_logger("calendar")
PUSH_AT_ONCE = 20  # signals in flight at once when a change goes out to every open complaint


def calendar_targets() -> list[str]:
    """What an edit may name: a holiday region (every calendar using it) or a business calendar."""
    policy = preset("standard")
    return [*REGIONS, *(n for n, spec in policy.calendars.items() if spec.kind == "business")]


def file_edits(settings: Settings) -> CalendarEdits:
    """The calendar file's edits; a missing or broken file is an error people must see, not an empty list."""
    path = settings.calendar_file
    if path is None:
        return CalendarEdits()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise CalendarFileError(f"{path}: {e.strerror or e}") from e
    try:
        edits = parse_calendar_file(text, source=f"file:{path.name}")
    except CalendarFileError as e:
        raise CalendarFileError(f"{path}: {e}") from e
    unknown = sorted({e.calendar for e in [*edits.days, *edits.confirmed]} - set(calendar_targets()))
    if unknown:
        raise CalendarFileError(
            f"{path}: unknown calendars {unknown}; known: {', '.join(calendar_targets())}"
        )
    return edits


class CalendarBook:
    def __init__(self, settings: Settings, pool: asyncpg.Pool | None = None, *, ttl: float = 30.0) -> None:
        self.settings, self.pool, self.ttl = settings, pool, ttl
        self._edits: CalendarEdits | None = None
        self._read_at = 0.0

    async def edits(self) -> CalendarEdits:
        """File and page edits. A file or database that cannot be read is logged as an error and does not
        stop intake: the page's last good edits (or none) are used meanwhile."""
        if self._edits is None or time.monotonic() - self._read_at > self.ttl:
            try:
                edits = file_edits(self.settings)
            except CalendarFileError as e:
                log.error("calendar file not read: its corrections are not applied", error=str(e))
                edits = CalendarEdits()
            if self.pool is not None:
                try:
                    edits = edits.plus(await calendar_store.load_edits(self.pool))
                except (asyncpg.PostgresError, OSError) as e:
                    log.error("calendar corrections not read from the database", error=str(e))
                    if self._edits is not None:
                        return self._edits
            self._edits, self._read_at = edits, time.monotonic()
        return self._edits

    def forget(self) -> None:
        """The edits changed in this process: read them again next time."""
        self._edits = None

    async def calendars_for(self, policy: Policy, around: datetime) -> dict[str, CalendarSpec]:
        return resolve_calendars(policy, around, await self.edits())

    async def gaps(self, today: date, policy: Policy | None = None) -> list[ScheduleGap]:
        """This year's and next year's unconfirmed schedules on the policy's calendars (default: standard)."""
        policy = policy or preset("standard")
        around = datetime(today.year, 7, 1)
        calendars = resolve_calendars(policy, around, await self.edits())
        return unconfirmed_schedules(calendars, [today.year, today.year + 1])

    async def preview(self, after: CalendarEdits, now: datetime) -> list[MovedDeadline]:
        """Open complaints' deadlines that move if the edits become `after`."""
        if self.pool is None:
            return []
        clocks = await calendar_store.open_clocks(self.pool)
        return moved_deadlines(clocks, await self.edits(), after, now)

    async def push(self, client: Client, now: datetime, reason: str) -> int:
        """Send the current days to every open complaint; returns how many were reached."""
        if self.pool is None:
            return 0
        self.forget()
        change = CalendarChange(
            calendars=resolve_calendars(preset("standard"), now, await self.edits()), reason=reason[:200]
        )
        ids = await calendar_store.open_workflow_ids(self.pool)
        gate = asyncio.Semaphore(PUSH_AT_ONCE)

        async def one(workflow_id: str) -> bool:
            async with gate:
                try:
                    await client.get_workflow_handle(workflow_id).signal(SIGNAL_CALENDARS_CHANGED, change)
                    return True
                except RPCError as e:  # closed since the ledger saw it open
                    log.info("calendar change not delivered", workflow_id=workflow_id, error=e.message)
                    return False

        reached = sum(await asyncio.gather(*(one(w) for w in ids)))
        log.info("calendar change sent to open complaints", reached=reached, open=len(ids), reason=reason)
        return reached


_SHARED: dict[tuple[int, str], CalendarBook] = {}


def shared_book(settings: Settings, pool: asyncpg.Pool | None) -> CalendarBook:
    """One book per pool and calendar file in this process (intake services are made per request)."""
    key = (id(pool), str(settings.calendar_file))
    book = _SHARED.get(key)
    if book is None or book.pool is not pool:
        book = _SHARED[key] = CalendarBook(settings, pool)
    return book


async def log_gaps(book: CalendarBook, process: str, today: date | None = None) -> list[ScheduleGap]:
    """At a process's start: say where the holiday data comes from and every year not confirmed."""
    today = today or date.today()
    gaps = await book.gaps(today)  # a file or database that cannot be read is logged there
    log.info("business calendar", process=process, data=library_version(), unconfirmed=len(gaps))
    for gap in gaps:
        log.warning(gap.message(), process=process, region=gap.region, year=gap.year)
    return gaps


async def warnings_for(settings: Settings, today: date | None = None) -> list[str]:
    """The unconfirmed-year warnings for a process's settings (the health check): the library, the
    calendar file and, when the database answers quickly, the admin page's confirmations."""
    today = today or date.today()
    conn = None
    if settings.database_url:
        try:
            conn = await asyncpg.connect(settings.database_url, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            conn = None  # the warning from the library and the file alone is still worth giving
    try:
        file_edits(settings)
        problems = []
    except CalendarFileError as e:
        problems = [f"calendar file not read: {e}"]
    try:
        book = CalendarBook(settings, conn)  # a connection answers the book's queries as a pool does
        return problems + [g.message() for g in await book.gaps(today)]
    finally:
        if conn is not None:
            await conn.close()
