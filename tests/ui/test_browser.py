"""The whole human loop in real Chromium against the real stack (dev server, worker, PostgreSQL, web app).

A customer files on the public form → a specialist acknowledges and assigns two departments → each department
reports its findings → the specialist proposes a plan with compensation, which a specialist cannot approve
but a supervisor does → the specialist resolves → the customer rates 2 and states a demand → a senior
supervisor takes it over → resolved again → rated 5 → closed. Along the way: refusals show the workflow's
own words, a wrong status token sees nothing, and screenshots of the queue, the complaint page, the
dashboard and the status page are saved to docs/screenshots/ and test-artifacts/.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.ui import ledger_seed

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
ARTIFACTS = ROOT / "test-artifacts"
WAIT_MS = 30_000  # upper bound for one step to show up; a pass never waits for it

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def _context(browser, base_url: str, *, mobile: bool = False):
    size = {"width": 390, "height": 844} if mobile else {"width": 1400, "height": 900}
    return await browser.new_context(
        base_url=base_url, viewport=size, locale="en-US", timezone_id="Asia/Shanghai", device_scale_factor=1
    )


async def sign_in(browser, base_url: str, username: str):
    ctx = await _context(browser, base_url)
    page = await ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    await page.goto("/login?lang=en")
    await page.fill("#username", username)
    await page.fill("#password", "demo")
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert "/staff" in page.url, page.url
    return page


async def shot(page, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    shutil.copy(path, ARTIFACTS / f"{name}.png")


async def until(check, *, attempts: int = 150, pause: float = 0.2):
    """Retry an async check until it returns something truthy (eventual ledger writes)."""
    for _ in range(attempts):
        result = await check()
        if result:
            return result
        await asyncio.sleep(pause)
    raise AssertionError("condition never became true")


async def act(page, action: str, fields: dict[str, object] | None = None, *, ok: bool = True) -> str:
    """Open the action's form on the complaint page, fill it, submit; returns the flash text."""
    box = page.locator(f'details[data-action="{action}"]')
    if await box.get_attribute("open") is None:
        await box.locator("summary").click()
    for name, value in (fields or {}).items():
        if isinstance(value, list):
            for v in value:
                await box.locator(f'input[name="{name}"][value="{v}"]').check()
        elif name in ("department", "holder_id", "tier", "complaint_type"):
            await box.locator(f'select[name="{name}"]').select_option(str(value))
        elif name in ("responsible", "approved"):
            await box.locator(f'input[name="{name}"][value="{value}"]').check()
        elif name == "compensation":
            await box.locator('input[name="compensation"]').fill(str(value))
        else:
            await box.locator(f'textarea[name="{name}"]').fill(str(value))
    async with page.expect_navigation():
        await box.locator(f'[data-testid="submit-{action}"]').click()
    if ok:
        flash = page.get_by_test_id("done")
        assert await flash.count() == 1, await page.locator(".flash.error").all_inner_texts()
        return await flash.inner_text()
    refusal = box.get_by_test_id("refusal")
    assert await refusal.count() == 1, f"expected a refusal for {action}"
    return await refusal.inner_text()


async def open_complaint(page, complaint_id: str) -> None:
    await page.goto(f"/staff/complaints/{complaint_id}?lang=en")


async def state_of(page) -> str:
    return (await page.get_by_test_id("state").inner_text()).strip()


async def test_the_whole_human_loop(chromium, stack):
    base = stack.base_url
    # A fortnight of synthetic history (through the ledger writer), so queue and dashboard have company.
    await ledger_seed.demo_history(stack.pool, n=30)

    # -- a customer files on the public form, on a phone ---------------------------------------------------------
    customer_ctx = await _context(chromium, base, mobile=True)
    customer = await customer_ctx.new_page()
    customer.set_default_timeout(WAIT_MS)
    await customer.goto("/file?lang=en")
    await customer.fill("#name", "Li Lei")
    await customer.fill("#phone", "+86 138 0013 8000")
    await customer.fill("#email", "lilei@example.com")
    await customer.select_option("#locale", "en")
    await customer.fill("#order_number", "SF7788990011")
    await customer.select_option("#category", "damaged")
    await customer.fill("#description", "The box arrived crushed and the glass vase inside is broken.")
    async with customer.expect_navigation():
        await customer.click("button[type=submit]")
    complaint_id = (await customer.get_by_test_id("complaint-number").inner_text()).strip()
    status_url = await customer.get_by_test_id("status-link").get_attribute("href")
    assert complaint_id and status_url and "/status/" in status_url

    async def status_shows_complaint():
        response = await customer.goto(status_url)
        return response is not None and response.status == 200

    await until(status_shows_complaint)
    assert "We have received your complaint" in await customer.get_by_test_id("where").inner_text()

    # -- a wrong token sees nothing -------------------------------------------------------------------------------
    wrong = await customer.goto(status_url[:-2] + "xx")
    assert wrong is not None and wrong.status == 404
    assert complaint_id not in await customer.content()

    # -- the specialist sees it in the queue, acknowledges and assigns two departments ---------------------------
    zhang = await sign_in(chromium, base, "zhang")

    async def in_queue():
        await zhang.goto("/staff?lang=en")
        return await zhang.locator(f'tr[data-complaint="{complaint_id}"]').count() == 1

    await until(in_queue)
    await zhang.wait_for_function(
        "document.querySelector('.countdown').textContent.match(/\\d\\d:\\d\\d|h|d/)"
    )
    await shot(zhang, "queue")

    await open_complaint(zhang, complaint_id)
    assert "The box arrived crushed" in await zhang.get_by_test_id("description").inner_text()
    await act(zhang, "acknowledge", {"message": "We are sorry: we are checking with the warehouse now."})
    assert await state_of(zhang) == "Acknowledged"
    await act(zhang, "assign", {"departments": ["warehouse", "transport"], "assignees": ["wang", "liu"]})
    assert await state_of(zhang) == "Assigned"

    # -- only what the action table allows is offered: no resolve while the investigation waits ---------------------
    assert await zhang.locator('details[data-action="resolve"]').count() == 0
    assert await zhang.locator('details[data-action="post_progress"]').count() == 1

    # -- each department reports --------------------------------------------------------------------------------------
    wang = await sign_in(chromium, base, "wang")
    await open_complaint(wang, complaint_id)
    await act(
        wang,
        "department_report",
        {
            "department": "warehouse",
            "findings": "Packed without padding at the Shanghai warehouse.",
            "responsible": "yes",
        },
    )
    liu = await sign_in(chromium, base, "liu")
    await open_complaint(liu, complaint_id)
    pending = await liu.locator('#investigation tr[data-reported="no"]').evaluate_all(
        "rows => rows.map(r => r.dataset.department)"
    )
    assert "transport" in pending and "warehouse" not in pending  # the classifier may have proposed more
    for department in pending:
        await act(
            liu,
            "department_report",
            {
                "department": department,
                "findings": f"{department}: handled normally, no incident recorded.",
                "responsible": "no",
            },
        )

    # -- a plan with compensation: a specialist may not approve it, a supervisor does --------------------------------
    await open_complaint(zhang, complaint_id)
    await act(
        zhang, "propose_plan", {"plan": "Refund the vase and send an apology coupon.", "compensation": "200"}
    )
    assert await zhang.locator('details[data-action="approve"]').count() == 0  # not offered to a specialist
    token = await zhang.locator('input[name="csrf_token"]').first.get_attribute("value")
    forged = await zhang.request.post(
        f"/staff/complaints/{complaint_id}/actions/approve?lang=en",
        form={"csrf_token": token, "approved": "yes"},
    )
    assert forged.status == 403
    assert "Only Supervisor, Senior supervisor, Admin can do “Approve plan”" in await forged.text()

    zhao = await sign_in(chromium, base, "zhao")
    await zhao.goto("/staff/supervisor?lang=en")
    approvals = zhao.locator("#approvals")
    row = approvals.locator(f'tr[data-complaint="{complaint_id}"]')
    async with zhao.expect_navigation():
        await row.locator('form[action$="/actions/approve"] button', has_text="Approve").click()
    assert await zhao.locator(f'#approvals tr[data-complaint="{complaint_id}"]').count() == 0

    # -- the specialist resolves ----------------------------------------------------------------------------------
    await open_complaint(zhang, complaint_id)
    await act(
        zhang,
        "resolve",
        {
            "cause": "The warehouse packed the vase without padding.",
            "solution": "Full refund of the vase.",
            "compensation": "200",
        },
    )
    assert await state_of(zhang) == "Awaiting rating"
    await zhang.evaluate("window.scrollTo(0, 0)")
    await shot(zhang, "complaint")

    # -- the customer is unhappy: 2, with a demand (first without one: refused in words) ----------------------------
    await customer.goto(status_url)
    assert "Full refund of the vase." in await customer.locator("#result").inner_text()
    await shot(customer, "status")
    await customer.check('[data-testid="score-2"]')
    async with customer.expect_navigation():
        await customer.click('[data-testid="rate-submit"]')
    assert "demand" in (await customer.get_by_test_id("refusal").inner_text()).lower()
    await customer.check('[data-testid="score-2"]')
    await customer.fill("#demand", "Send me a replacement vase, not a refund.")
    async with customer.expect_navigation():
        await customer.click('[data-testid="rate-submit"]')
    assert await customer.get_by_test_id("rated").count() == 1
    assert "working on your complaint" in await customer.get_by_test_id("where").inner_text()

    # -- a senior supervisor takes it over and resolves again ------------------------------------------------------
    sun = await sign_in(chromium, base, "sun")

    async def escalated():
        await sun.goto("/staff/supervisor?lang=en")
        return await sun.locator(f'#escalations tr[data-complaint="{complaint_id}"]').count() == 1

    await until(escalated)
    row = sun.locator(f'#escalations tr[data-complaint="{complaint_id}"]')
    await row.locator('select[name="holder_id"]').select_option("sun")
    async with sun.expect_navigation():
        await row.locator('form[action$="/actions/reassign"] button').click()
    await open_complaint(sun, complaint_id)
    assert "Sun" in await sun.get_by_test_id("holder").inner_text()
    assert await state_of(sun) == "In progress"
    await act(
        sun,
        "resolve",
        {
            "cause": "The warehouse packed the vase without padding.",
            "solution": "A replacement vase was sent by express today.",
        },
    )

    # -- rated 5: closed ----------------------------------------------------------------------------------------------
    await customer.goto(status_url)
    await customer.check('[data-testid="score-5"]')
    async with customer.expect_navigation():
        await customer.click('[data-testid="rate-submit"]')
    assert "This complaint is closed" in await customer.get_by_test_id("where").inner_text()
    await open_complaint(sun, complaint_id)
    assert await state_of(sun) == "Closed"

    # -- what the customer received is visible to staff ------------------------------------------------------------
    await zhang.goto(f"/staff/messages?complaint={complaint_id}&lang=en")
    assert await zhang.get_by_test_id("sink-message").count() >= 1

    # -- the dashboard counts it ----------------------------------------------------------------------------------
    async def dashboard_counts_it():
        await zhao.goto("/dashboard?lang=en")
        total = await zhao.locator('[data-kpi="dashboard.total"] .v').inner_text()
        return int(re.sub(r"\D", "", total) or 0) >= 31

    await until(dashboard_counts_it)
    await shot(zhao, "dashboard")
    for page in (customer, zhang, wang, liu, zhao, sun):
        await page.context.close()


async def test_the_queue_refreshes_without_a_reload(chromium, web):
    page = await sign_in(chromium, web.base_url, "zhang")
    await page.goto("/staff?lang=en")
    assert await page.locator("tr[data-complaint]").count() == 0
    await page.evaluate("window.__same_document = true")
    from datetime import UTC, datetime

    await ledger_seed.write(web.pool, ledger_seed.view("C-ARRIVES", received_at=datetime.now(UTC)))
    await page.wait_for_selector('tr[data-complaint="C-ARRIVES"] .countdown', timeout=WAIT_MS)
    assert await page.evaluate("window.__same_document") is True  # no navigation happened
    text = await page.locator('tr[data-complaint="C-ARRIVES"] .countdown').inner_text()
    assert re.match(r"^0[0-5]:\d\d$", text), text  # first response due within five minutes, ticking
    await page.context.close()
