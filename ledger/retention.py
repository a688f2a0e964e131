"""The retention sweep's SQL: archives or purges closed complaints older than the cutoff, one batch per call.

A complaint goes only when it is closed (merged and cancelled count as closed) and its closing time (else its
last ledger write) is before the cutoff; open complaints are never touched, however old. Everything keyed by
its complaint_id goes with it: the tables are found in the catalog (every table with a `complaint_id`
column), so a table added later is covered without touching this file.

One batch is one transaction, and a batch only ever picks rows still in the live ledger, so a retried
activity just carries on where the last commit left off. `FOR UPDATE SKIP LOCKED` lets two sweeps (an
overlapping manual run) share the work instead of blocking.
"""

from __future__ import annotations

import json

import asyncpg

from domain.retention import RetentionBatch, RetentionMode, RetentionSweep

_DUE = "NOT c.is_open AND COALESCE(c.closed_at, c.updated_at) < $1"

_RELATED_TABLES = """
SELECT col.table_name
FROM information_schema.columns col
JOIN information_schema.tables tab
  ON tab.table_schema = col.table_schema AND tab.table_name = col.table_name AND tab.table_type = 'BASE TABLE'
WHERE col.table_schema = current_schema() AND col.column_name = 'complaint_id'
  AND col.table_name NOT IN ('complaints', 'ledger_archive')
ORDER BY col.table_name
"""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def related_tables(conn: asyncpg.Connection) -> list[str]:
    return [r["table_name"] for r in await conn.fetch(_RELATED_TABLES)]


async def count_due(conn: asyncpg.Connection, req: RetentionSweep) -> RetentionBatch:
    """The dry run: what a real sweep with this cutoff would take, nothing changed."""
    due = f"SELECT c.complaint_id FROM complaints c WHERE {_DUE}"
    complaints = await conn.fetchval(f"SELECT count(*) FROM ({due}) d", req.cutoff)
    rows = {"complaints": complaints}
    for table in await related_tables(conn):
        rows[table] = await conn.fetchval(
            f"SELECT count(*) FROM {_ident(table)} WHERE complaint_id IN ({due})", req.cutoff
        )
    archive_purged = 0
    if req.mode == RetentionMode.PURGE:
        archive_purged = await conn.fetchval(
            "SELECT count(*) FROM ledger_archive WHERE closed_at < $1", req.cutoff
        )
    return RetentionBatch(complaints=complaints, rows=rows, archive_purged=archive_purged)


async def sweep_batch(conn: asyncpg.Connection, req: RetentionSweep) -> RetentionBatch:
    async with conn.transaction():
        picked = await conn.fetch(
            f"SELECT c.complaint_id, COALESCE(c.closed_at, c.updated_at) AS closed_at, to_jsonb(c) AS row"
            f" FROM complaints c WHERE {_DUE} ORDER BY c.complaint_id LIMIT $2 FOR UPDATE SKIP LOCKED",
            req.cutoff,
            req.batch_size,
        )
        ids = [r["complaint_id"] for r in picked]
        rows: dict[str, int] = {"complaints": len(ids)}
        records: dict[str, dict] = {r["complaint_id"]: {"complaints": r["row"]} for r in picked}
        tables = await related_tables(conn) if ids else []
        if req.mode == RetentionMode.ARCHIVE:
            for table in tables:
                for r in await conn.fetch(
                    f"SELECT complaint_id, jsonb_agg(to_jsonb(t)) AS rows FROM {_ident(table)} t"
                    " WHERE complaint_id = ANY($1::text[]) GROUP BY complaint_id",
                    ids,
                ):
                    records[r["complaint_id"]][table] = r["rows"]
            if picked:
                await conn.executemany(
                    "INSERT INTO ledger_archive (complaint_id, closed_at, record) VALUES ($1, $2, $3::jsonb)"
                    " ON CONFLICT (complaint_id) DO UPDATE SET record = EXCLUDED.record,"
                    " closed_at = EXCLUDED.closed_at, archived_at = now()",
                    [(r["complaint_id"], r["closed_at"], _json(records[r["complaint_id"]])) for r in picked],
                )
        # Tables without a foreign key first, then the complaint rows (their FK children cascade, but are
        # deleted explicitly above so the counts are exact).
        for table in tables:
            status = await conn.execute(
                f"DELETE FROM {_ident(table)} WHERE complaint_id = ANY($1::text[])", ids
            )
            rows[table] = int(status.split()[-1])
        if ids:
            await conn.execute("DELETE FROM complaints WHERE complaint_id = ANY($1::text[])", ids)
        archive_purged = 0
        if req.mode == RetentionMode.PURGE:
            status = await conn.execute("DELETE FROM ledger_archive WHERE closed_at < $1", req.cutoff)
            archive_purged = int(status.split()[-1])
    return RetentionBatch(complaints=len(ids), rows=rows, archive_purged=archive_purged)


def _json(record: dict) -> str:
    # asyncpg hands jsonb back as str unless a codec is set; keep whatever it gave as embedded JSON.
    return json.dumps(
        {k: json.loads(v) if isinstance(v, str) else v for k, v in record.items()}, ensure_ascii=False
    )
