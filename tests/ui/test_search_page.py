"""The staff search page over real HTTP: the box on every staff page, closed complaints found, filters,
a bad value refused naming the field, and the customer panel on a complaint's page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.messages import TimelineEvent
from domain.models import Customer, State, Tier
from tests.ui import ledger_seed as seed
from tests.ui.conftest import signed_in

NOW = datetime.now(UTC)


def _hits(html: str) -> list[str]:
    return re.findall(r'<tr data-complaint="([^"]+)" data-testid="search-hit"', html)


async def _seed(pool) -> None:
    closed = seed.view("C-20261101-OLD001", received_at=NOW - timedelta(days=30), state=State.CLOSED,
                       description="上次的包裹外箱破损，花瓶碎了")  # fmt: skip
    closed = closed.model_copy(update={"customer": Customer(name="王小明", phone="+86 139-8765-4321")})
    again = seed.view("C-20261201-NEW002", received_at=NOW - timedelta(hours=1), tier=Tier.URGENT,
                      description="Second parcel late again")  # fmt: skip
    again = again.model_copy(update={"customer": Customer(name="王小明", phone="13987654321")})
    other = seed.view("C-20261201-OTH003", received_at=NOW - timedelta(hours=2), description="发票开错")
    for v in (closed, again, other):
        await seed.write(pool, v)


async def test_the_search_box_is_on_every_staff_page_and_finds_a_closed_complaint(web):
    await _seed(web.pool)
    async with signed_in(web.base_url, "zhang") as http:
        for page in ("/staff", "/staff/messages", "/staff/search"):
            assert 'data-testid="top-search"' in (await http.get(page)).text
        r = await http.get("/staff/search", params={"q": "花瓶"})
        assert r.status_code == 200
        assert _hits(r.text) == ["C-20261101-OLD001"]
        r = await http.get("/staff/search", params={"q": "4321"})  # the last four digits of the phone
        assert set(_hits(r.text)) == {"C-20261101-OLD001", "C-20261201-NEW002"}
        r = await http.get("/staff/search", params={"q": "old001"})
        assert _hits(r.text) == ["C-20261101-OLD001"]
        r = await http.get("/staff/search", params={"q": "parcel late"})
        assert _hits(r.text) == ["C-20261201-NEW002"]


async def test_search_filters_and_sort_orders(web):
    await _seed(web.pool)
    async with signed_in(web.base_url, "zhang") as http:
        r = await http.get("/staff/search", params={"q": "王小明", "status": "closed"})
        assert _hits(r.text) == ["C-20261101-OLD001"]
        r = await http.get("/staff/search", params={"q": "王小明", "tier": "urgent"})
        assert _hits(r.text) == ["C-20261201-NEW002"]
        r = await http.get("/staff/search", params={"status": "open", "sort": "oldest"})
        assert _hits(r.text) == ["C-20261201-OTH003", "C-20261201-NEW002"]
        day = (NOW - timedelta(days=30)).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
        r = await http.get("/staff/search", params={"from": day, "to": day})
        assert _hits(r.text) == ["C-20261101-OLD001"]


async def test_a_bad_filter_value_is_refused_naming_the_field(web):
    async with signed_in(web.base_url, "zhang") as http:
        r = await http.get("/staff/search", params={"q": "x", "tier": "huge"})
        assert r.status_code == 422 and "tier" in r.text
        r = await http.get("/staff/search", params={"from": "2026-13-45"})
        assert r.status_code == 422 and "received_from" in r.text
        r = await http.get("/staff/search", params={"sort": "sideways"})
        assert r.status_code == 422 and "sort" in r.text


async def test_the_complaint_page_lists_the_customers_other_complaints(web):
    await _seed(web.pool)
    async with signed_in(web.base_url, "zhang") as http:
        r = await http.get("/staff/complaints/C-20261201-NEW002")
        assert r.status_code == 200
        panel = r.text.split('id="customer-complaints"', 1)[1].split("</section>", 1)[0]
        assert "C-20261101-OLD001" in panel and "C-20261201-OTH003" not in panel


async def test_the_complaint_page_shows_the_conversation_with_internal_notes_marked(web):
    v = seed.view("C-20261201-CONV01", received_at=NOW - timedelta(hours=1), description="花瓶碎了")
    note = TimelineEvent(
        event_id="C-20261201-CONV01-n1", complaint_id=v.complaint_id, at=NOW - timedelta(minutes=30),
        kind="acknowledged", actor=seed.ZHANG, text="客户婚宴明天用，优先处理",
    )  # fmt: skip
    await seed.write(web.pool, v, [note])
    async with signed_in(web.base_url, "zhang") as http:
        r = await http.get("/staff/complaints/C-20261201-CONV01?lang=en")
        assert r.status_code == 200
        conv = r.text.split('id="conversation"', 1)[1].split("</section>", 1)[0]
        assert "花瓶碎了" in conv and "客户婚宴明天用，优先处理" in conv
        assert conv.count('data-testid="internal-mark"') == 1 and "staff only" in conv
