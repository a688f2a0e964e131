"""Search over every complaint in the ledger, open or closed, and a customer's other complaints.

What a person types is matched, as substrings, against the complaint's narrow search row (migration 020,
kept in step by triggers): number, waybill/order number, customer name, e-mail and phone digits; product,
subject and description; and the words people wrote on its timeline (staff notes and messages, customer
reports; system steps are left out). Trigram GIN indexes serve terms of three characters or more, Chinese
included; a two-character Chinese word uses the index of adjacent character pairs. A query that looks like a
phone number is reduced to its digits without +86, so "+86 138-0013-8000", "13800138000" and "8000" all
find the same customer.

Several words must all match. Ranked: the exact complaint number first, then an exact waybill / phone /
e-mail, then matches in the customer fields (by trigram similarity), then in the description, then only in
notes and messages; newest first among equals. The ranking runs on the search rows and only the page's
complaints are read from the ledger. Read-only; filters reuse the ledger's `ComplaintFilter`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, Field

from ledger.reads import _ROW_COLUMNS, ComplaintFilter, ComplaintRow, _where

Sort = Literal["relevance", "newest", "oldest", "due", "tier", "updated"]
Status = Literal["any", "open", "closed"]

_PHONE_QUERY = re.compile(r"^\+?[0-9][0-9 ()\-]*$")
_MAX_TERMS = 5

# Tie-breaks after the chosen order, so paging is stable.
_BY_RELEVANCE = "rank, sim DESC, found_received_at DESC, complaint_id"
_ORDER_BY: dict[str, str] = {
    "newest": "received_at DESC, complaint_id",
    "oldest": "received_at ASC, complaint_id",
    "due": "next_due_at ASC NULLS LAST, received_at ASC, complaint_id",
    "tier": "CASE tier WHEN 'urgent' THEN 0 WHEN 'important' THEN 1 ELSE 2 END,"
    " next_due_at ASC NULLS LAST, received_at DESC, complaint_id",
    "updated": "updated_at DESC, complaint_id",
}

# Why a complaint matched, from its rank.
MATCHED_IN = {0: "number", 1: "exact", 2: "customer", 3: "description", 4: "notes", 5: "filters"}

# The indexed expression of migration 020: every text of a complaint's search row.
_DOC = "s.who || ' ' || s.what || ' ' || s.words"


class SearchQuery(ComplaintFilter):
    """The words, plus every filter of `ComplaintFilter` (state, tier, type, channel, department, person …)."""

    q: str = Field(default="", max_length=200)
    status: Status = "any"
    closed_from: datetime | None = None
    closed_to: datetime | None = None  # exclusive
    sort: Sort = "relevance"


class SearchHit(ComplaintRow):
    rank: int
    matched_in: str
    order_number: str | None = None


class SearchResult(BaseModel):
    hits: list[SearchHit]
    more: bool  # another page exists
    terms: list[str]  # what was matched, after normalization


def phone_digits(text: str) -> str | None:
    """'+86 138-0013-8000' → '13800138000'; None when the text is not a phone number (or part of one)."""
    text = text.strip()
    if not _PHONE_QUERY.match(text):
        return None
    digits = re.sub(r"[^0-9]", "", text)
    if len(digits) < 4:
        return None
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def search_terms(q: str) -> list[str]:
    """The lower-cased substrings that must all match."""
    q = " ".join(q.split())
    if not q:
        return []
    digits = phone_digits(q)
    if digits is not None:
        return [digits]
    return [w.lower() for w in q.split(" ")][:_MAX_TERMS]


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(term: str) -> str:
    return f"%{_escape(term)}%"


def _is_cjk_pair(term: str) -> bool:
    return len(term) == 2 and all("\u4e00" <= ch <= "\u9fff" for ch in term)


def _term_sql(term: str, arg) -> str:
    """One term's condition on a search row: the trigram index for three characters or more, the index of
    Chinese character pairs for a two-character Chinese word, a scan of the narrow rows otherwise."""
    if _is_cjk_pair(term):
        return f"(' ' || s.pairs || ' ') LIKE {arg(f'% {term} %')}"
    return f"({_DOC}) LIKE {arg(_like(term))}"


class LedgerSearch:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def search(self, s: SearchQuery) -> SearchResult:
        where, args = _where(s, open_only=s.status == "open")
        clauses = [where.removeprefix(" WHERE ")] if where else []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if s.status == "closed":
            clauses.append("NOT is_open")
        if s.closed_from:
            clauses.append(f"closed_at >= {arg(s.closed_from)}")
        if s.closed_to:
            clauses.append(f"closed_at < {arg(s.closed_to)}")

        terms = search_terms(s.q)
        where_sql = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        if not terms:
            order = _ORDER_BY["newest" if s.sort == "relevance" else s.sort]
            sql = (
                f"SELECT {_ROW_COLUMNS}, order_number, 5 AS rank, 0 AS sim FROM complaints{where_sql}"
                f" ORDER BY {order} LIMIT {s.limit + 1} OFFSET {s.offset}"
            )
        else:
            likes = [arg(_like(t)) for t in terms]
            found = " AND ".join(_term_sql(t, arg) for t in terms)
            whole = arg(" ".join(terms))
            in_who = " AND ".join(f"s.who LIKE {p}" for p in likes)
            in_what = " AND ".join(f"(s.who || ' ' || s.what) LIKE {p}" for p in likes)
            rank = (
                f"CASE WHEN s.complaint_id = {arg(s.q.strip().upper())} THEN 0"
                f" WHEN s.order_number = {whole} OR s.email = {whole} OR right(s.phone, 11) = {whole} THEN 1"
                f" WHEN {in_who} THEN 2 WHEN {in_what} THEN 3 ELSE 4 END"
            )
            # Similarity of the short fields only: cheap, and what a name or number search is about.
            sim = f"CASE WHEN {in_who} THEN similarity(s.who, {whole}) ELSE 0 END"
            # Ranked on the narrow search rows; only the page's complaints are read from the ledger.
            hits = (
                f"SELECT s.complaint_id, s.received_at AS found_received_at, {rank} AS rank, {sim} AS sim"
                f" FROM complaint_search s WHERE {found}"
            )
            # By relevance, everything the order needs is on the search rows: the page is picked there.
            order = _BY_RELEVANCE if s.sort == "relevance" else _ORDER_BY[s.sort]
            sql = (
                f"SELECT {_ROW_COLUMNS}, order_number, rank, sim FROM ({hits}) h"
                f" JOIN complaints USING (complaint_id){where_sql}"
                f" ORDER BY {order} LIMIT {s.limit + 1} OFFSET {s.offset}"
            )
        rows = await self.pool.fetch(sql, *args)
        hits = [
            SearchHit.model_validate({**dict(r), "matched_in": MATCHED_IN[r["rank"]]})
            for r in rows[: s.limit]
        ]
        return SearchResult(hits=hits, more=len(rows) > s.limit, terms=terms)

    async def customer_complaints(self, complaint_id: str, limit: int = 20) -> list[ComplaintRow]:
        """The same customer's other complaints (same phone number or e-mail), newest first."""
        sql = f"""
            WITH me AS (SELECT right(phone, 11) AS phone, email FROM complaint_search WHERE complaint_id = $1),
            same AS (SELECT s.complaint_id FROM complaint_search s, me
                     WHERE s.complaint_id <> $1
                       AND ((s.phone IS NOT NULL AND right(s.phone, 11) = me.phone)
                            OR (s.email IS NOT NULL AND s.email = me.email)))
            SELECT {_ROW_COLUMNS} FROM complaints WHERE complaint_id IN (SELECT complaint_id FROM same)
            ORDER BY received_at DESC, complaint_id LIMIT $2
        """
        return [ComplaintRow.model_validate(dict(r)) for r in await self.pool.fetch(sql, complaint_id, limit)]
