"""The ledger's schema: versioned migrations applied at start-up.

Migrations are `ledger/migrations/NNN_name.sql`, applied once each in order inside a transaction and recorded
in `schema_migrations`; an advisory lock lets several processes start at once. Ranges: 001–099 ledger,
100–199 web app.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import structlog

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_ID = 7_233_001

log = structlog.get_logger()


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))


async def migrate(url_or_conn: str | asyncpg.Connection) -> list[str]:
    """Apply pending migrations; returns the names applied (empty on a second run)."""
    conn = await asyncpg.connect(url_or_conn) if isinstance(url_or_conn, str) else url_or_conn
    applied: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            for path in migration_files():
                if path.name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text(encoding="utf-8"))
                    await conn.execute("INSERT INTO schema_migrations(name) VALUES ($1)", path.name)
                applied.append(path.name)
                log.info("migration applied", migration=path.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    finally:
        if isinstance(url_or_conn, str):
            await conn.close()
    return applied
