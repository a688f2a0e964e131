"""The admin calendar page in real Chromium: a company holiday previewed, applied and listed (issue 13)."""

from __future__ import annotations

from tests.ui import test_browser
from tests.ui.test_browser import chromium, sign_in  # noqa: F401 — the session's browser fixture

pytestmark = test_browser.pytestmark  # browser tests: real Chromium at /usr/bin/chromium


async def test_an_admin_adds_a_company_holiday_through_preview_and_apply(chromium, web):  # noqa: F811
    page = await sign_in(chromium, web.base_url, "admin")
    await page.goto("/admin/calendar?lang=en")
    await page.locator('[data-testid="day-form"] input[name="day"]').fill("2027-06-01")
    await page.select_option('[data-testid="day-form"] select[name="calendar"]', "warehouse")
    await page.fill('[data-testid="day-form"] input[name="note"]', "stocktaking")
    async with page.expect_navigation():
        await page.click('[data-testid="day-form"] button[type=submit]')
    preview = page.locator('[data-testid="preview"]')
    assert "warehouse · 2027-06-01 · Holiday stocktaking" in await preview.inner_text()
    assert await page.locator('[data-testid="nothing-moves"]').count() == 1  # no open complaint here
    async with page.expect_navigation():
        await page.click('[data-testid="apply"]')
    assert "/admin/calendar?done=0" in page.url
    assert "2027-06-01" in await page.locator('[data-testid="stored"]').inner_text()
    row = await web.pool.fetchrow("SELECT calendar, kind, note, source FROM calendar_days")
    assert dict(row) == {
        "calendar": "warehouse",
        "kind": "holiday",
        "note": "stocktaking",
        "source": "admin:admin",
    }
    await page.context.close()
