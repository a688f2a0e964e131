"""Search over the ledger (real PostgreSQL, pg_trgm): numbers, phones, e-mails, names, waybills, words in
Chinese and English, notes, closed complaints, filters, ranking, and the customer's other complaints."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from domain.models import Actor, Channel, Customer, Department, Role, State, Tier
from ledger.schema import MIGRATIONS_DIR, migrate
from ledger.search import LedgerSearch, SearchQuery, phone_digits, search_terms
from ledger.writes import write_batch as _write_batch

from .factories import AGENT, T0, batch, event, view

NOTE_ACTOR = Actor(id="zhang", role=Role.SPECIALIST, name="张敏")


async def write_batch(pool, write) -> None:
    """The ledger's own write path, as the record_ledger activity takes it."""
    async with pool.acquire() as conn:
        await _write_batch(conn, write)


async def _seed(pool) -> None:
    complaints = [
        view(
            "C-20261202-3VMW9H",
            customer=Customer(name="张三", phone="+86 138-0013-8000", email="Zhang.San@Example.com"),
            description="运单号 SF1234567890 到货时外箱破损，花瓶碎了。",
            order_number="SF1234567890",
            state=State.CLOSED,
            closed_at=T0 + timedelta(days=1),
            next_due=None,
            next_due_at=None,
        ),
        view(
            "C-20261202-K2P7QA",
            customer=Customer(name="张三", phone="13800138000"),
            description="第二次投诉：补发的包裹也延误了",
            order_number="YT9988776655",
            tier=Tier.URGENT,
            received_at=T0 + timedelta(hours=2),
            departments=[Department.WAREHOUSE],
        ),
        view(
            "C-20261203-ZZ11AB",
            customer=Customer(name="Mary Smith", email="mary@example.org", phone="+44 20 7946 0958"),
            description="The parcel arrived damaged and the vase inside was broken",
            order_number=None,
            channel=Channel.EMAIL,
            received_at=T0 + timedelta(days=1),
            holder=AGENT,
        ),
        view(
            "C-20261204-QQ22CD",
            customer=Customer(name="李四", phone="+8613900001111"),
            description="发票抬头开错了",
            order_number="SF0000000001",
            received_at=T0 + timedelta(days=2),
        ),
    ]
    for v in complaints:
        await write_batch(pool, batch(v, event(v.complaint_id, 0)))
    # A staff note on the Li Si complaint, written as the workflow writes it (a later batch).
    note = event(
        "C-20261204-QQ22CD",
        5,
        "acknowledged",
        actor=NOTE_ACTOR,
        text="客户婚宴明天用，优先处理 wedding tomorrow",
    )
    await write_batch(pool, batch(complaints[3], note))


async def ids(pool, **query) -> list[str]:
    result = await LedgerSearch(pool).search(SearchQuery(**query))
    return [h.complaint_id for h in result.hits]


@pytest.fixture
async def pool(ledger_pool):
    await _seed(ledger_pool)
    return ledger_pool


def test_a_phone_number_is_searched_by_its_digits_without_the_country_code():
    assert phone_digits("+86 138-0013-8000") == "13800138000"
    assert phone_digits("008613800138000") == "13800138000"
    assert phone_digits("8000") == "8000"
    assert phone_digits("800") is None  # too short to mean a phone
    assert phone_digits("SF123") is None
    assert search_terms("  Vase   BROKEN ") == ["vase", "broken"]


async def test_the_exact_complaint_number_finds_a_closed_complaint_first(pool):
    assert (await ids(pool, q="C-20261202-3VMW9H"))[0] == "C-20261202-3VMW9H"
    assert await ids(pool, q="3vmw9h") == ["C-20261202-3VMW9H"]  # part of the number, any case


async def test_partial_and_formatted_phone_numbers_find_the_customer(pool):
    both = {"C-20261202-3VMW9H", "C-20261202-K2P7QA"}
    assert set(await ids(pool, q="13800138000")) == both
    assert set(await ids(pool, q="+86 138 0013 8000")) == both
    assert set(await ids(pool, q="8000")) == both  # the last four digits
    assert await ids(pool, q="1111") == ["C-20261204-QQ22CD"]


async def test_email_whole_or_partial_in_any_case(pool):
    assert await ids(pool, q="zhang.san@example.com") == ["C-20261202-3VMW9H"]
    assert await ids(pool, q="MARY@") == ["C-20261203-ZZ11AB"]


async def test_customer_name_and_waybill_in_chinese_and_english(pool):
    assert set(await ids(pool, q="张三")) == {"C-20261202-3VMW9H", "C-20261202-K2P7QA"}
    assert await ids(pool, q="mary smith") == ["C-20261203-ZZ11AB"]
    assert await ids(pool, q="YT9988776655") == ["C-20261202-K2P7QA"]
    assert await ids(pool, q="88776") == ["C-20261202-K2P7QA"]  # part of a waybill


async def test_words_of_the_description_in_chinese_of_two_or_more_characters_and_english(pool):
    assert await ids(pool, q="花瓶") == ["C-20261202-3VMW9H"]  # two characters: the pair index
    assert await ids(pool, q="外箱破损") == ["C-20261202-3VMW9H"]
    assert await ids(pool, q="延误") == ["C-20261202-K2P7QA"]
    assert await ids(pool, q="vase broken") == ["C-20261203-ZZ11AB"]  # every word must match
    assert await ids(pool, q="vase 花瓶") == []
    assert await ids(pool, q="碎") == ["C-20261202-3VMW9H"]  # one character still matches


async def test_words_of_a_staff_note_find_the_complaint(pool):
    assert await ids(pool, q="婚宴") == ["C-20261204-QQ22CD"]
    assert await ids(pool, q="优先处理") == ["C-20261204-QQ22CD"]
    assert await ids(pool, q="Wedding") == ["C-20261204-QQ22CD"]
    hit = (await LedgerSearch(pool).search(SearchQuery(q="婚宴"))).hits[0]
    assert hit.matched_in == "notes"


async def test_system_steps_are_not_searched(pool):
    await write_batch(
        pool,
        batch(view("C-20261205-SYS001", description="x"), event("C-20261205-SYS001", 1, text="自动升级提醒")),
    )
    assert await ids(pool, q="自动升级") == []


async def test_like_wildcards_in_the_query_are_plain_characters(pool):
    assert await ids(pool, q="%") == []
    assert await ids(pool, q="_") == []


async def test_filters_narrow_the_results(pool):
    assert await ids(pool, q="张三", status="closed") == ["C-20261202-3VMW9H"]
    assert await ids(pool, q="张三", status="open") == ["C-20261202-K2P7QA"]
    assert await ids(pool, q="张三", tier=[Tier.URGENT]) == ["C-20261202-K2P7QA"]
    assert await ids(pool, q="张三", department=Department.WAREHOUSE) == ["C-20261202-K2P7QA"]
    assert await ids(pool, channel=Channel.EMAIL) == ["C-20261203-ZZ11AB"]
    assert await ids(pool, person="agent-1") == ["C-20261203-ZZ11AB"]
    assert await ids(pool, q="张三", received_from=T0 + timedelta(hours=1)) == ["C-20261202-K2P7QA"]
    assert await ids(pool, closed_from=T0, closed_to=T0 + timedelta(days=2)) == ["C-20261202-3VMW9H"]


async def test_an_exact_match_ranks_before_a_match_inside_the_text(pool):
    # The waybill SF1234567890 is the first complaint's order number and also appears in its description;
    # "SF" matches two waybills: the newest first among equals.
    assert (await ids(pool, q="SF1234567890"))[0] == "C-20261202-3VMW9H"
    assert await ids(pool, q="sf", sort="relevance") == ["C-20261204-QQ22CD", "C-20261202-3VMW9H"]
    assert await ids(pool, q="sf", sort="oldest") == ["C-20261202-3VMW9H", "C-20261204-QQ22CD"]


async def test_results_are_sortable_and_paged(pool):
    newest = await ids(pool, sort="newest")
    assert newest == ["C-20261204-QQ22CD", "C-20261203-ZZ11AB", "C-20261202-K2P7QA", "C-20261202-3VMW9H"]
    assert await ids(pool, sort="oldest") == list(reversed(newest))
    assert (await ids(pool, sort="tier"))[0] == "C-20261202-K2P7QA"  # the urgent one
    page = await LedgerSearch(pool).search(SearchQuery(sort="newest", limit=3))
    assert page.more and len(page.hits) == 3
    assert await ids(pool, sort="newest", limit=3, offset=3) == ["C-20261202-3VMW9H"]


async def test_a_changed_description_is_searched_by_its_new_words(pool):
    v = view("C-20261203-ZZ11AB", description="Refund still missing", received_at=T0 + timedelta(days=1))
    await write_batch(pool, batch(v))
    assert await ids(pool, q="refund") == ["C-20261203-ZZ11AB"]
    assert await ids(pool, q="vase") == []


async def test_the_customer_panel_lists_the_same_customers_other_complaints(pool):
    others = await LedgerSearch(pool).customer_complaints("C-20261202-K2P7QA")
    assert [r.complaint_id for r in others] == ["C-20261202-3VMW9H"]  # same phone, one with +86, one without
    assert await LedgerSearch(pool).customer_complaints("C-20261203-ZZ11AB") == []
    assert await LedgerSearch(pool).customer_complaints("C-unknown") == []


async def test_complaints_already_in_the_ledger_are_searchable_after_the_migration(pg_url):
    """Migration 020 fills the search rows of a ledger written before it, notes included."""
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute((MIGRATIONS_DIR / "001_ledger.sql").read_text(encoding="utf-8"))
        await conn.execute(
            "CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
            " INSERT INTO schema_migrations (name) VALUES ('001_ledger.sql')"
        )
        note = event("C-OLD", 1, "acknowledged", actor=NOTE_ACTOR, text="老客户，优先处理")
        await _write_batch(conn, batch(view("C-OLD", description="花瓶碎了"), note))
        assert "020_ledger_search.sql" in await migrate(conn)
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=2)
    try:
        assert await ids(pool, q="花瓶") == ["C-OLD"]
        assert await ids(pool, q="老客户") == ["C-OLD"]
        assert await ids(pool, q="13800000000") == ["C-OLD"]
    finally:
        await pool.close()
