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


async def sign_in(browser, base_url: str, username: str, lang: str = "en"):
    ctx = await _context(browser, base_url)
    page = await ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    await page.goto(f"/login?lang={lang}")
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
        "document.querySelector('.countdown').textContent.match(/^\\d+ (d|h|min|s) .*(left|overdue)$/)"
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
    assert re.match(r"^([0-4] min \d\d s|\d+ s) left$", text), (
        text
    )  # first response due within 5 min, as a duration
    await page.context.close()


# -- zh-CN: no line mixes scripts ---------------------------------------------------------------------------------
# Latin words a zh-CN page may show: names (the demo staff's romanised names, user names), product and format
# names, the language switch. IDs, waybills, e-mail addresses, URLs and numbers are taken out before the scan.
ALLOWED_LATIN = {
    "App",
    "API",
    "CSV",
    "VIP",
    "KB",
    "MB",
    "PDF",
    "Word",
    "Excel",
    "Temporal",
    "Web",
    "UI",
    "English",
    "demo",
}
_NOT_WORDS = re.compile(
    r"https?://\S+|\S+@\S+|\b[A-Z]{1,3}-[\w-]+\b|\b[A-Z]{2}\d{6,}\b|/status/\S+|\bcomplaint-[\w-]+"
)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_'’-]+")
# Gaps owned by other branches, named so they are reported instead of hidden. Each entry: (pattern, owner).
KNOWN_GAPS_ZH: list[tuple[re.Pattern[str], str]] = [
    # the workflow's refusal sentences and pydantic texts inside 系统拒绝了此操作：… (refusal codes: refusals branch)
    (re.compile(r"系统拒绝了此操作|字段“"), "refusals branch: workflow refusals as codes"),
]


def _allowed_names() -> set[str]:
    from ui.auth import DEMO_USERS

    names: set[str] = set()
    for u in DEMO_USERS:
        names.add(u.username)
        names.update(_LATIN_WORD.findall(u.name))
    return names


async def latin_lines(page, allowed: set[str]) -> list[str]:
    """Every visible line of the page (all <details> opened) holding a Latin word that is not allowed."""
    await page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    text = await page.evaluate("document.title + '\\n' + document.body.innerText")
    out = []
    for line in text.splitlines():
        words = [w for w in _LATIN_WORD.findall(_NOT_WORDS.sub(" ", line)) if w not in allowed]
        if words:
            out.append(f"{line.strip()[:160]}  ⟵ {sorted(set(words))}")
    return out


class ScriptScan:
    """Collects the mixed lines of every zh-CN page walked; known gaps are reported apart."""

    def __init__(self) -> None:
        self.allowed = ALLOWED_LATIN | _allowed_names()
        self.defects: list[str] = []
        self.gaps: list[str] = []

    async def check(self, page, where: str) -> None:
        for line in await latin_lines(page, self.allowed):
            owner = next((o for pattern, o in KNOWN_GAPS_ZH if pattern.search(line)), None)
            (self.gaps if owner else self.defects).append(
                f"[{where}] {line}" + (f"  (known: {owner})" if owner else "")
            )

    def report(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "zh-cn-script-scan.txt").write_text(
            "defects:\n"
            + "\n".join(self.defects)
            + "\n\nknown gaps (other branches):\n"
            + "\n".join(self.gaps)
            + "\n",
            encoding="utf-8",
        )
        if self.gaps:
            print("zh-CN known gaps:\n" + "\n".join(self.gaps))


async def test_the_zh_cn_walk_from_intake_to_a_reopen_never_mixes_scripts(chromium, stack):
    base = stack.base_url
    scan = ScriptScan()
    customer_ctx = await _context(chromium, base, mobile=True)
    customer = await customer_ctx.new_page()
    customer.set_default_timeout(WAIT_MS)
    await customer.goto("/file?lang=zh-CN")
    await scan.check(customer, "intake form")
    await customer.fill("#name", "韩梅梅")
    await customer.fill("#phone", "+86 139 0013 9000")
    await customer.select_option("#locale", "zh-CN")
    await customer.fill("#order_number", "SF6655443322")
    await customer.select_option("#category", "damaged")
    await customer.fill("#description", "快递盒被压扁，里面的陶瓷茶具碎了。")
    async with customer.expect_navigation():
        await customer.click("button[type=submit]")
    await scan.check(customer, "intake receipt")
    complaint_id = (await customer.get_by_test_id("complaint-number").inner_text()).strip()
    status_url = await customer.get_by_test_id("status-link").get_attribute("href")

    async def status_shows_complaint():
        response = await customer.goto(status_url)
        return response is not None and response.status == 200

    await until(status_shows_complaint)
    await scan.check(customer, "status page, received")

    zhang = await sign_in(chromium, base, "zhang", lang="zh-CN")
    await scan.check(zhang, "queue")

    async def in_queue():
        await zhang.goto("/staff")
        return await zhang.locator(f'tr[data-complaint="{complaint_id}"]').count() == 1

    await until(in_queue)
    await zhang.wait_for_function(
        "document.querySelector('.countdown').textContent.match(/(还剩|超时) .*(秒|分|小时|天)$/)"
    )
    await scan.check(zhang, "queue with the complaint")

    async def page_of(who):
        await who.goto(f"/staff/complaints/{complaint_id}")

    await page_of(zhang)
    await scan.check(zhang, "complaint page, new")
    await act(zhang, "acknowledge", {"message": "很抱歉给您带来不便，我们正在联系仓库核查。"})
    await act(zhang, "assign", {"departments": ["warehouse", "transport"], "assignees": ["wang", "liu"]})
    await scan.check(zhang, "complaint page, assigned")
    # The reports are pending: the table offers no resolve (the workflow would refuse it).
    assert await zhang.locator('details[data-action="resolve"]').count() == 0
    # The conversation: a canned reply picked, edited and sent on the customer's channel; an internal note.
    picker = zhang.get_by_test_id("canned-picker")
    await picker.select_option(index=1)
    canned = await zhang.locator("#reply_to_customer-message").input_value()
    assert "韩梅梅" in canned and complaint_id in canned and "{" not in canned
    await act(zhang, "reply_to_customer", {"message": "韩梅梅您好，仓库正在核查，请保留外包装。"})
    await act(zhang, "add_note", {"note": "客户婚宴明天用，优先处理"})

    async def reply_delivered():
        await page_of(zhang)
        reply = zhang.locator('#conversation li[data-event="staff_reply"]')
        return await reply.count() == 1 and await reply.get_by_test_id("delivery").count() >= 1

    await until(reply_delivered)
    note = zhang.locator('#conversation li[data-event="note"]')
    assert "优先处理" in await note.inner_text()
    assert await note.get_by_test_id("internal-mark").count() == 1
    await scan.check(zhang, "complaint page, reply and note")

    for who, name in (("wang", "warehouse"), ("liu", None)):
        staff = await sign_in(chromium, base, who, lang="zh-CN")
        await page_of(staff)
        pending = await staff.locator('#investigation tr[data-reported="no"]').evaluate_all(
            "rows => rows.map(r => r.dataset.department)"
        )
        for department in [name] if name else pending:
            await act(
                staff,
                "department_report",
                {
                    "department": department,
                    "findings": "已核查，包装缺少缓冲材料。",
                    "responsible": "yes" if name else "no",
                },
            )
        await scan.check(staff, f"complaint page, {who} reported")
        await staff.context.close()

    await page_of(zhang)
    await act(zhang, "propose_plan", {"plan": "退还茶具货款并赠送优惠券。", "compensation": "300"})
    zhao = await sign_in(chromium, base, "zhao", lang="zh-CN")
    await zhao.goto("/staff/supervisor")
    await scan.check(zhao, "supervisor inbox")
    row = zhao.locator(f'#approvals tr[data-complaint="{complaint_id}"]')
    async with zhao.expect_navigation():
        await row.locator('form[action$="/actions/approve"] button').first.click()

    await page_of(zhang)
    await act(
        zhang, "resolve", {"cause": "仓库包装未加缓冲材料。", "solution": "全额退款。", "compensation": "300"}
    )
    await zhang.evaluate("window.scrollTo(0, 0)")
    await shot(zhang, "complaint-zh")
    await scan.check(zhang, "complaint page, resolved")

    await customer.goto(status_url)
    await scan.check(customer, "status page, resolved")
    await shot(customer, "status-zh")
    await customer.check('[data-testid="score-2"]')
    async with customer.expect_navigation():  # below 4 without a demand: refused
        await customer.click('[data-testid="rate-submit"]')
    assert await customer.get_by_test_id("refusal").count() == 1
    await scan.check(customer, "status page, rating refused")
    await customer.check('[data-testid="score-2"]')
    await customer.fill("#demand", "请给我补发一套新的茶具。")
    async with customer.expect_navigation():
        await customer.click('[data-testid="rate-submit"]')
    assert await customer.get_by_test_id("rated").count() == 1
    await scan.check(customer, "status page, reopened")

    sun = await sign_in(chromium, base, "sun", lang="zh-CN")

    async def reopened():
        await sun.goto(f"/staff/complaints/{complaint_id}")
        return "重新打开" in await sun.locator("#timeline").inner_text()

    await until(reopened)
    await scan.check(sun, "complaint page, reopened")
    await sun.goto(f"/staff/messages?complaint={complaint_id}")
    await scan.check(sun, "messages sent")
    await zhao.goto("/dashboard")
    await shot(zhao, "dashboard-zh")
    await scan.check(zhao, "dashboard")
    await zhang.goto("/staff")
    await shot(zhang, "queue-zh")
    scan.report()
    for page in (customer, zhang, zhao, sun):
        await page.context.close()
    assert not scan.defects, "zh-CN lines with Latin words:\n" + "\n".join(scan.defects)
