"""At 390 px (a phone) in real Chromium: the queue and the search results are cards, not squeezed columns,
the page does not scroll sideways, and the header's search box finds a closed complaint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from domain.models import Department, State
from tests.ui import ledger_seed as seed
from tests.ui.test_browser import ARGS, CHROMIUM, WAIT_MS, shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]
NOW = datetime.now(UTC)


@pytest_asyncio.fixture
async def phone(web) -> AsyncIterator[object]:
    """A signed-in supervisor's page in Chromium with a 390 × 844 viewport."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            ctx = await browser.new_context(
                base_url=web.base_url, viewport={"width": 390, "height": 844}, locale="en-US",
                timezone_id="Asia/Shanghai", device_scale_factor=1,
            )  # fmt: skip
            page = await ctx.new_page()
            page.set_default_timeout(WAIT_MS)
            await page.goto("/login?lang=en")
            await page.fill("#username", "zhao")
            await page.fill("#password", "demo")
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            yield page
        finally:
            await browser.close()


async def _no_sideways_scroll(page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide at a 390 px viewport"


async def test_the_queue_is_cards_at_390_px_and_search_finds_a_closed_complaint(web, phone):
    for i in range(3):
        v = seed.view(f"C-20261201-MOB00{i}", received_at=NOW - timedelta(minutes=10 * i),
                      departments=[Department.WAREHOUSE], description="外箱破损，客户要求尽快补发")  # fmt: skip
        await seed.write(web.pool, v)
    old = seed.view("C-20261101-CLOSED", received_at=NOW - timedelta(days=20), state=State.CLOSED,
                    description="去年的发票抬头开错了")  # fmt: skip
    await seed.write(web.pool, old)

    page = phone
    await page.goto("/staff?lang=en")
    rows = page.locator("#queue-rows tr[data-complaint]")
    assert await rows.count() == 3
    assert not await page.locator("table.cards thead").is_visible()  # column heads give way to labels
    for i in range(3):
        cells = rows.nth(i).locator("td:not(.pick)")
        for j in range(await cells.count()):
            box = await cells.nth(j).bounding_box()
            assert box["width"] > 250, f"cell {j} of row {i} is {box['width']} px wide"
    await _no_sideways_scroll(page)
    await page.locator('[data-testid="pick-C-20261201-MOB000"]').check()  # the bulk bar works on a phone
    assert await page.locator('[data-testid="bulk-submit"]').is_visible()
    await shot(page, "queue-390px")

    await page.fill('[data-testid="top-search"]', "发票")
    async with page.expect_navigation():
        await page.press('[data-testid="top-search"]', "Enter")
    hits = page.locator('[data-testid="search-hit"]')
    assert await hits.count() == 1
    assert "C-20261101-CLOSED" in await hits.first.inner_text()
    box = await hits.first.locator("td").first.bounding_box()
    assert box["width"] > 250
    await _no_sideways_scroll(page)
    await shot(page, "search-390px")
