"""The dashboard's what-if page (issue 17): supervisors replay a seeded month in real Chromium; other roles
are refused, bad input is answered with the field and the reason, never a 500."""

from __future__ import annotations

from bench.whatif import month_scripts, proposed_policy, record, seed
from tests.ui import test_browser
from tests.ui.conftest import csrf_from, signed_in
from tests.ui.test_browser import chromium, sign_in  # noqa: F401 — the session's browser fixture
from tests.workflows.test_whatif_month import expected

SCRIPTS = month_scripts(9, seed=11)


@test_browser.pytestmark[0]
@test_browser.pytestmark[1]
async def test_a_supervisor_replays_last_month_under_a_proposed_policy_in_the_browser(chromium, web):  # noqa: F811
    await seed(web.pool, await record(SCRIPTS))
    page = await sign_in(chromium, web.base_url, "zhao")
    await page.goto("/dashboard/what-if?lang=en")
    await page.fill('input[name="from"]', "2026-11-01")
    await page.fill('input[name="to"]', "2026-11-30")
    await page.fill('textarea[name="policy"]', proposed_policy().model_dump_json())
    async with page.expect_navigation():
        await page.click('[data-testid="run"]')
    report = page.locator('[data-testid="whatif-report"]')
    assert await report.locator(".whatif-calibration").get_attribute("data-share") == "1.0000"
    cells = report.locator("tr[data-row='breaches'] td")
    in_force, proposed = [int(x) for x in await cells.all_inner_texts()]
    assert in_force == sum(expected(SCRIPTS, 24 * 60).values())
    assert proposed == sum(expected(SCRIPTS, 12 * 60).values())
    assert proposed > in_force
    assert await report.locator("svg").count() >= 4
    await test_browser.shot(page, "whatif")
    await page.context.close()


async def test_only_supervisors_may_replay_and_bad_input_names_the_field(web) -> None:
    async with signed_in(web.base_url, "zhang") as http:  # a specialist
        assert (await http.get("/dashboard/what-if")).status_code == 403
    async with signed_in(web.base_url, "zhao") as http:
        page = await http.get("/dashboard/what-if")
        assert page.status_code == 200
        token = csrf_from(page.text)
        form = {"from": "2026-11-30", "to": "2026-11-01", "policy": "standard", "csrf_token": token}
        r = await http.post("/dashboard/what-if", data=form)
        assert r.status_code == 422 and "to: not before the first day" in r.text
        r = await http.post("/dashboard/what-if", data=form | {"to": "2026-11-30", "policy": "rules: [1]"})
        assert r.status_code == 422 and "policy:" in r.text
        r = await http.post("/dashboard/what-if", data=form | {"to": "2026-11-30", "faster": "300"})
        assert r.status_code == 422 and "faster:" in r.text
        r = await http.post("/dashboard/what-if.csv", data=form | {"to": "2026-11-30", "extra_staff": "x"})
        assert r.status_code == 422 and "extra_staff" in r.text
        no_token = {k: v for k, v in form.items() if k != "csrf_token"} | {"to": "2026-11-30"}
        assert (await http.post("/dashboard/what-if", data=no_token)).status_code in (400, 403)
        r = await http.post("/dashboard/what-if.csv", data=form | {"to": "2026-11-30"})
        assert r.status_code == 200 and r.text.startswith("measure,obligation,tier")
