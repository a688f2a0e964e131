"""Canned replies: ready texts per complaint category and language, which staff pick and edit before sending.

Bodies hold placeholders `{customer_name}`, `{complaint_id}` and `{promised_time}`; `fill` puts in one
complaint's values (an unknown placeholder stays as written, so a supervisor's typo never breaks the page).
Supervisors edit them on /staff/canned-replies; migration 130 seeds one per category in zh-CN and en.
"""

from __future__ import annotations

import string
from datetime import datetime

import asyncpg
from pydantic import BaseModel

PLACEHOLDERS = ("customer_name", "complaint_id", "promised_time")
_FORMATTER = string.Formatter()


class CannedReply(BaseModel):
    id: int
    category: str
    locale: str
    title: str
    body: str
    updated_by: str | None = None
    updated_at: datetime


def fill(body: str, values: dict[str, str]) -> str:
    """The body with this complaint's values in its placeholders; anything else in braces is left as is."""
    out = []
    try:
        parsed = list(_FORMATTER.parse(body))
    except ValueError:  # an unbalanced brace: nothing to fill
        return body
    for literal, name, spec, conversion in parsed:
        out.append(literal)
        if name is None:
            continue
        if name in values and not spec and not conversion:
            out.append(values[name])
        else:
            out.append(
                "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            )
    return "".join(out)


_COLUMNS = "id, category, locale, title, body, updated_by, updated_at"


async def list_replies(
    pool: asyncpg.Pool, *, category: str | None = None, locale: str | None = None
) -> list[CannedReply]:
    """All replies (the editor), or those of one category and language (the reply box), by title."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM canned_replies"
        " WHERE ($1::text IS NULL OR category = $1) AND ($2::text IS NULL OR locale = $2)"
        " ORDER BY category, locale, title, id",
        category,
        locale,
    )
    return [CannedReply(**dict(r)) for r in rows]


async def save(
    pool: asyncpg.Pool, *, reply_id: int | None, category: str, locale: str, title: str, body: str, by: str
) -> int | None:
    """Insert (no id) or change one reply; returns its id (None: no reply with that id)."""
    if reply_id is None:
        return await pool.fetchval(
            "INSERT INTO canned_replies (category, locale, title, body, updated_by)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            category,
            locale,
            title,
            body,
            by,
        )
    return await pool.fetchval(
        "UPDATE canned_replies SET category = $2, locale = $3, title = $4, body = $5, updated_by = $6,"
        " updated_at = now() WHERE id = $1 RETURNING id",
        reply_id,
        category,
        locale,
        title,
        body,
        by,
    )


async def delete(pool: asyncpg.Pool, reply_id: int) -> bool:
    return await pool.fetchval("DELETE FROM canned_replies WHERE id = $1 RETURNING id", reply_id) is not None
