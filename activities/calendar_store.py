"""Admins' calendar corrections in PostgreSQL (ledger/migrations/125_calendar_days.sql), and the open clocks a
correction may move (read from the ledger). All SQL of the business calendar lives here."""

from __future__ import annotations

from datetime import date

import asyncpg

from domain.calendar_edits import CalendarEdits, DayEdit, OpenClock, YearConfirmed


async def load_edits(pool: asyncpg.Pool) -> CalendarEdits:
    days = await pool.fetch(
        "SELECT calendar, day, kind, note, source FROM calendar_days ORDER BY day, calendar"
    )
    years = await pool.fetch("SELECT calendar, year, note FROM calendar_years_confirmed ORDER BY year")
    return CalendarEdits(
        days=[DayEdit(**dict(r)) for r in days], confirmed=[YearConfirmed(**dict(r)) for r in years]
    )


async def put_days(pool: asyncpg.Pool, edits: list[DayEdit]) -> None:
    """Insert or replace (same calendar and day) in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO calendar_days (calendar, day, kind, note, source) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (calendar, day) DO UPDATE SET kind = EXCLUDED.kind, note = EXCLUDED.note,"
            " source = EXCLUDED.source, updated_at = now()",
            [(e.calendar, e.day, e.kind, e.note, e.source) for e in edits],
        )


async def delete_day(pool: asyncpg.Pool, calendar: str, day: date) -> bool:
    status = await pool.execute("DELETE FROM calendar_days WHERE calendar = $1 AND day = $2", calendar, day)
    return status.endswith(" 1")


async def confirm_year(pool: asyncpg.Pool, c: YearConfirmed, source: str) -> None:
    await pool.execute(
        "INSERT INTO calendar_years_confirmed (calendar, year, note, source) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (calendar, year) DO UPDATE SET note = EXCLUDED.note, source = EXCLUDED.source,"
        " updated_at = now()",
        c.calendar,
        c.year,
        c.note,
        source,
    )


async def unconfirm_year(pool: asyncpg.Pool, calendar: str, year: int) -> bool:
    status = await pool.execute(
        "DELETE FROM calendar_years_confirmed WHERE calendar = $1 AND year = $2", calendar, year
    )
    return status.endswith(" 1")


async def open_clocks(pool: asyncpg.Pool, limit: int = 5000) -> list[OpenClock]:
    rows = await pool.fetch(
        "SELECT c.complaint_id, c.workflow_id, c.policy, c.tier, c.complaint_type, c.region, o.name,"
        " o.occurrence, o.status, o.started_at, o.due_at, o.warn_at"
        " FROM obligations o JOIN complaints c USING (complaint_id)"
        " WHERE c.is_open AND o.status IN ('open', 'warned') AND o.department = ''"
        " ORDER BY o.due_at LIMIT $1",
        limit,
    )
    return [OpenClock(**dict(r)) for r in rows]


async def open_workflow_ids(pool: asyncpg.Pool) -> list[str]:
    return [r["workflow_id"] for r in await pool.fetch("SELECT workflow_id FROM complaints WHERE is_open")]
