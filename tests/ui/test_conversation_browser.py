"""Chromium, a real worker and ledger: the customer answers a complaint that waits on them from the status
page with a message and a photo; the clocks run again and staff see it in the conversation, the photo among
the evidence. A file intake would refuse is refused here too, by name."""

from __future__ import annotations

from tests.ui.test_browser import (
    WAIT_MS,
    _context,
    act,
    chromium,  # noqa: F401 — the session's browser fixture
    pytestmark,  # noqa: F401 — skipped, like the other browser tests, where chromium is not installed
    sign_in,
    state_of,
    until,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64


async def test_the_customer_answers_on_the_status_page_with_a_photo_and_the_clocks_resume(chromium, stack):  # noqa: F811
    base = stack.base_url
    customer = await (await _context(chromium, base, mobile=True)).new_page()
    customer.set_default_timeout(WAIT_MS)
    await customer.goto("/file?lang=en")
    await customer.fill("#name", "Lily Zhou")
    await customer.fill("#email", "lily.zhou@example.com")
    await customer.select_option("#locale", "en")
    await customer.fill("#order_number", "SF7766554433")
    await customer.select_option("#category", "damaged")
    await customer.fill("#description", "The box arrived crushed and the teapot is broken.")
    async with customer.expect_navigation():
        await customer.click("button[type=submit]")
    complaint_id = (await customer.get_by_test_id("complaint-number").inner_text()).strip()
    status_url = await customer.get_by_test_id("status-link").get_attribute("href")

    zhang = await sign_in(chromium, base, "zhang")

    async def page_ready():
        response = await zhang.goto(f"/staff/complaints/{complaint_id}?lang=en")
        return response is not None and response.status == 200

    await until(page_ready)
    await act(zhang, "acknowledge", {"message": "Sorry about the teapot."})
    await act(zhang, "wait_on_customer", {"reason": "Please send a photo of the damage."})
    assert await state_of(zhang) == "Waiting on customer"

    # A file intake refuses (not really a PNG) is refused here too, naming the files field.
    await customer.goto(status_url)
    await customer.fill("#write-message", "Here it is.")
    await customer.set_input_files(
        "#write-files", files=[{"name": "fake.png", "mimeType": "image/png", "buffer": b"not a png"}]
    )
    async with customer.expect_navigation() as nav:
        await customer.click('[data-testid="write-submit"]')
    assert (await nav.value).status == 422
    assert "image/png" in await customer.get_by_test_id("write-refusal").inner_text()

    await customer.fill("#write-message", "Photo of the crushed corner attached.")
    await customer.set_input_files(
        "#write-files", files=[{"name": "corner.png", "mimeType": "image/png", "buffer": PNG}]
    )
    async with customer.expect_navigation():
        await customer.click('[data-testid="write-submit"]')
    assert await customer.get_by_test_id("written").count() == 1

    async def shown_to_the_customer():
        await customer.goto(status_url)
        mine = customer.get_by_test_id("my-message")
        return await mine.count() == 1 and "corner.png" in await mine.inner_text()

    await until(shown_to_the_customer)

    async def answered():
        await zhang.goto(f"/staff/complaints/{complaint_id}?lang=en")
        return await zhang.locator('#conversation li[data-event="customer_message"]').count() == 1

    await until(answered)
    assert await state_of(zhang) == "Acknowledged"  # the clocks run again, as before the wait
    said = await zhang.locator('#conversation li[data-event="customer_message"]').inner_text()
    assert "Photo of the crushed corner attached." in said and "corner.png" in said
    # Staff read the messages the customer got, but never the status link's token (it acts as the customer).
    token = status_url.rsplit("/", 1)[-1]
    assert token not in await zhang.locator("#conversation").inner_text()
    assert await zhang.locator('#report a:has-text("corner.png")').count() == 1
    resumed = zhang.locator('#conversation li[data-event="resumed"]')
    assert "the customer answered" in await resumed.inner_text()
    for page in (customer, zhang):
        await page.context.close()
