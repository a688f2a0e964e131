"""The Temporal Web UI of a real `desk up`, in real Chromium: an engineer signed in to the web app reads the
encrypted complaint through the codec endpoint; a specialist, or an engineer whose browser sends no session,
gets 403 / 401 from it and sees no customer data.

The dev server's `--ui-codec-endpoint` has no switch for credentials, so the engineer's browser setting is
the one the Web UI's codec dialog stores ("use my browser setting", endpoint, "include cross-origin
credentials"), set here in its local storage (docs/deployment.md §6).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.test_up import UpProcess, _free_port, _workflow_of
from tests.test_up_heals import NAME, PLAIN, _file

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture
def up(tmp_path: Path):
    ports = {name: _free_port() for name in ("temporal", "ui", "web", "smtp", "email")}
    run = UpProcess(tmp_path / "data", ports, tmp_path / "up.log")
    yield run
    run.kill_everything()


async def _history_page_as(
    browser, info: dict, path: str, user: str, *, send_session: bool
) -> tuple[str, list]:
    """(text of the Web UI's history page, statuses of its codec calls) for `user` signed in to the web app."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = await ctx.new_page()
    page.set_default_timeout(30_000)
    codec: list[int] = []
    page.on("response", lambda r: codec.append(r.status) if "/codec/decode" in r.url else None)
    await page.goto(f"{info['web_url']}/login?lang=en")
    await page.fill("#username", user)
    await page.fill("#password", "demo")
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert "/staff" in page.url, page.url
    await page.goto(f"{info['temporal_ui_url']}/namespaces/default/workflows")
    if send_session:
        await page.evaluate(
            """endpoint => {
                localStorage.setItem('endpoint', JSON.stringify(endpoint));
                localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
                localStorage.setItem('includeCredentials', 'true');
            }""",
            f"{info['web_url']}/codec",
        )
    async with page.expect_response(lambda r: "/codec/decode" in r.url):
        await page.goto(f"{info['temporal_ui_url']}{path}")
    text = ""
    for _ in range(20):  # the page's decode calls answer within a few seconds; a decoded name shows then
        await page.wait_for_timeout(500)
        text = await page.inner_text("body")
        if NAME in text:
            break
    await ctx.close()
    return text, codec


async def test_the_web_ui_shows_the_complaint_to_a_signed_in_engineer_and_to_nobody_else(up):
    from playwright.async_api import async_playwright

    await up.start()
    info = up.info()
    complaint_id, workflow_id = await _file(info, "web ui")
    assert workflow_id == await _workflow_of(info["database_url"], complaint_id)
    plain = await Client.connect(info["temporal_address"])
    run_id = (await plain.get_workflow_handle(workflow_id).describe()).run_id
    path = f"/namespaces/default/workflows/{workflow_id}/{run_id}/history"

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            engineer, calls = await _history_page_as(browser, info, path, "chen", send_session=True)
            assert NAME in engineer and calls and set(calls) == {200}
            specialist, calls = await _history_page_as(browser, info, path, "zhang", send_session=True)
            assert calls and set(calls) == {403}
            no_session, calls = await _history_page_as(browser, info, path, "chen", send_session=False)
            assert calls and set(calls) == {401}
        finally:
            await browser.close()
    for text in (specialist, no_session):
        assert [p for p in PLAIN if p in text] == []
    assert json.loads((up.data_dir / "desk.json").read_text())["state"] == "running"
