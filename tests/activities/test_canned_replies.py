"""Canned replies in the ledger (real PostgreSQL): seeded per category in zh-CN and en, editable, and filled
with one complaint's values."""

from __future__ import annotations

from domain.models import Category
from ledger import canned_replies as cr


async def test_every_category_has_a_seeded_reply_in_both_languages(ledger_pool):
    replies = await cr.list_replies(ledger_pool)
    have = {(r.category, r.locale) for r in replies}
    assert {(c.value, lc) for c in Category for lc in ("zh-CN", "en")} <= have
    for r in replies:
        assert all("{" + p + "}" in r.body for p in cr.PLACEHOLDERS), r


async def test_a_supervisor_edits_adds_and_deletes_a_reply(ledger_pool):
    [damaged] = await cr.list_replies(ledger_pool, category="damaged", locale="en")
    assert await cr.save(ledger_pool, reply_id=damaged.id, category="damaged", locale="en",
                         title="Broken goods", body="Dear {customer_name}: photos please.", by="zhao") == damaged.id  # fmt: skip
    [changed] = await cr.list_replies(ledger_pool, category="damaged", locale="en")
    assert (changed.title, changed.updated_by) == ("Broken goods", "zhao")
    new = await cr.save(ledger_pool, reply_id=None, category="damaged", locale="en", title="Second",
                        body="Again {complaint_id}", by="zhao")  # fmt: skip
    assert len(await cr.list_replies(ledger_pool, category="damaged", locale="en")) == 2
    assert await cr.delete(ledger_pool, new) and not await cr.delete(ledger_pool, new)
    assert await cr.save(ledger_pool, reply_id=10**9, category="damaged", locale="en", title="x", body="y",
                         by="zhao") is None  # fmt: skip


def test_fill_puts_in_the_values_and_leaves_anything_else_as_written():
    values = {"customer_name": "张三", "complaint_id": "C-1", "promised_time": "03-02 13:00"}
    assert cr.fill("{customer_name}您好，{complaint_id} 将在 {promised_time} 前答复。", values) == (
        "张三您好，C-1 将在 03-02 13:00 前答复。"
    )
    assert cr.fill("{unknown} {customer_name:>9} {", values) == "{unknown} {customer_name:>9} {"
