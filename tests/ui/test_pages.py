"""Staff queue, complaint page, supervisor inbox, status page and dashboard over real HTTP, from ledger rows
written by the ledger's own writer (no workflow needed for reading)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import httpx

from domain.models import Actor, Department, Locale, ObligationName, ObligationStatus, Role, State, Tier
from tests.ui import ledger_seed as seed
from tests.ui.conftest import signed_in

NOW = datetime.now(UTC)


def _order(html: str) -> list[str]:
    return re.findall(r'data-complaint="([^"]+)"', html)


async def test_the_queue_lists_open_complaints_by_next_deadline(web):
    await seed.write(web.pool, seed.view("C-LATER", received_at=NOW - timedelta(minutes=1)))  # due in 4 min
    await seed.write(web.pool, seed.view("C-SOONER", received_at=NOW - timedelta(minutes=4)))  # due in 1 min
    await seed.write(web.pool, seed.view("C-DONE", received_at=NOW - timedelta(hours=9), state=State.CLOSED))
    async with signed_in(web.base_url, "zhang") as http:
        r = await http.get("/staff")
        assert r.status_code == 200
        assert _order(r.text) == ["C-SOONER", "C-LATER"]
        # the fragment the page polls has the same rows, each with a live countdown to its deadline
        rows = await http.get("/staff/queue/rows")
        assert _order(rows.text) == ["C-SOONER", "C-LATER"]
        assert rows.text.count('class="countdown') == 2


async def test_queue_filters_mine_unassigned_breached_and_tier(web):
    await seed.write(web.pool, seed.view("C-MINE", received_at=NOW, holder=seed.ZHANG))
    await seed.write(web.pool, seed.view("C-FREE", received_at=NOW))
    await seed.write(
        web.pool,
        seed.view(
            "C-LATE",
            received_at=NOW - timedelta(minutes=20),
            tier=Tier.URGENT,
            holder=seed.LI,
            outcomes={ObligationName.FIRST_RESPONSE: ObligationStatus.BREACHED},
        ),
    )
    async with signed_in(web.base_url, "zhang") as http:
        assert _order((await http.get("/staff?scope=mine")).text) == ["C-MINE"]
        assert _order((await http.get("/staff?scope=unassigned")).text) == ["C-FREE"]
        breached = await http.get("/staff?scope=breached&lang=en")
        assert _order(breached.text) == ["C-LATE"]
        assert 'data-testid="badge-breach"' in breached.text
        assert _order((await http.get("/staff?tier=urgent")).text) == ["C-LATE"]
        assert set(_order((await http.get("/staff?scope=team")).text)) == {
            "C-MINE",
            "C-LATE",
        }  # customer service


async def test_the_complaint_page_shows_obligations_and_report_from_the_ledger(web):
    await seed.write(
        web.pool,
        seed.view(
            "C-PAGE",
            received_at=NOW - timedelta(minutes=3),
            tier=Tier.IMPORTANT,
            outcomes={ObligationName.FIRST_RESPONSE: ObligationStatus.MET},
            description="冷链生鲜到货变质",
        ),
    )
    async with signed_in(web.base_url, "zhang") as http:
        r = await http.get("/staff/complaints/C-PAGE?lang=en")
        assert r.status_code == 200
        assert "冷链生鲜到货变质" in r.text
        assert 'data-testid="next-countdown"' in r.text
        assert 'data-obligation="supervisor_ack"' in r.text and "Supervisor ack" in r.text
        # a specialist sees no approve form; the Temporal link is for engineers and supervisors
        assert 'data-action="approve"' not in r.text
        assert 'data-testid="temporal-link"' not in r.text
        assert (await http.get("/staff/complaints/C-NONE")).status_code == 404
    async with signed_in(web.base_url, "chen") as http:
        r = await http.get("/staff/complaints/C-PAGE")
        assert "http://127.0.0.1:8233/namespaces/default/workflows/complaint-C-PAGE" in r.text


async def test_the_supervisor_inbox_lists_breaches(web):
    await seed.write(
        web.pool,
        seed.view(
            "C-BREACH",
            received_at=NOW - timedelta(hours=1),
            outcomes={ObligationName.FIRST_RESPONSE: ObligationStatus.BREACHED},
        ),
    )
    async with signed_in(web.base_url, "zhao") as http:
        r = await http.get("/staff/supervisor")
        assert r.status_code == 200
        breaches = r.text.split('id="breaches"')[1]
        assert "C-BREACH" in breaches


async def test_a_wrong_status_token_sees_nothing(web):
    v = seed.view("C-TOKEN", received_at=NOW, holder=seed.ZHANG)
    await seed.write(web.pool, v)
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        for token in ("x", v.status_token[:-1], v.status_token + "x", "C-TOKEN", "a" * 500):
            r = await http.get(f"/status/{token}")
            assert r.status_code == 404
            assert "C-TOKEN" not in r.text
        r = await http.post(f"/status/{v.status_token[:-1]}x/rate", data={"score": "5"})
        assert r.status_code in (403, 404)


async def test_staff_see_the_customers_page_read_only_and_never_its_token(web):
    v = seed.view("C-PREVIEW", received_at=NOW, holder=seed.ZHANG, state=State.RESOLVED, locale=Locale.EN)
    await seed.write(web.pool, v)
    async with httpx.AsyncClient(base_url=web.base_url) as stranger:
        r = await stranger.get("/staff/complaints/C-PREVIEW/customer-view")
        assert r.status_code in (303, 401) and "C-PREVIEW" not in r.text
    async with signed_in(web.base_url, "zhang") as staff:
        page = (await staff.get("/staff/complaints/C-PREVIEW")).text
        preview = await staff.get("/staff/complaints/C-PREVIEW/customer-view")
    assert v.status_token not in page and "/customer-view" in page
    assert preview.status_code == 200 and 'data-testid="preview"' in preview.text
    assert v.status_token not in preview.text and "/rate" not in preview.text  # nothing to act with


async def test_the_status_page_speaks_plain_words_without_staff_data(web):
    v = seed.view(
        "C-STATUS",
        received_at=NOW - timedelta(minutes=2),
        holder=seed.ZHANG,
        state=State.ACKNOWLEDGED,
        outcomes={ObligationName.FIRST_RESPONSE: ObligationStatus.MET},
        locale=Locale.EN,
    )
    await seed.write(web.pool, v)
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        r = await http.get(f"/status/{v.status_token}")
        assert r.status_code == 200
        assert "A specialist has taken up your complaint" in r.text  # the complaint's locale: en
        assert "Your complaint is resolved — by" in r.text  # next promise to the customer, with its time
        assert "Zhang" not in r.text and "zhang" not in r.text and "张敏" not in r.text
        assert r.headers["referrer-policy"] == "no-referrer"
        zh = await http.get(f"/status/{v.status_token}?lang=zh-CN")
        assert "客服专员已受理您的投诉" in zh.text


async def test_the_dashboard_shows_compliance_and_exports_csv(web):
    await seed.demo_history(web.pool, now=NOW)
    await seed.write(
        web.pool,
        seed.view(
            "C-LATE-1",
            received_at=NOW - timedelta(days=1),
            tier=Tier.URGENT,
            state=State.CLOSED,
            holder=seed.LI,
            outcomes={o: ObligationStatus.MET_LATE for o, _ in seed.WINDOWS[Tier.URGENT]},
            ratings=[5],
        ),
    )
    async with signed_in(web.base_url, "zhao") as http:
        r = await http.get("/dashboard?lang=en")
        assert r.status_code == 200
        for chart in (
            "tier",
            "obligation",
            "department",
            "person",
            "type",
            "channel",
            "region",
            "stages",
            "ageing",
        ):
            section = r.text.split(f'id="chart-{chart}"')[1].split("</section>")[0]
            assert "<svg" in section, chart
        assert "李娜" in r.text  # per person, by display name
        bad = await http.get("/dashboard?tier=huge")
        assert bad.status_code == 422 and "Field “Tier”: is not one of the choices" in bad.text
        export = await http.get("/dashboard.csv?tier=urgent")
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
        assert rows[0] == ["section", "group", "metric", "value"]
        tier_rows = {(r[0], r[1], r[2]): r[3] for r in rows}
        assert ("compliance_tier", "urgent", "ratio") in tier_rows
        assert ("compliance_tier", "general", "ratio") not in tier_rows  # the filter applies


async def test_a_bad_form_field_is_refused_naming_the_field(web):
    await seed.write(web.pool, seed.view("C-FIELD", received_at=NOW, state=State.IN_PROGRESS))
    async with signed_in(web.base_url, "zhang") as http:
        page = await http.get("/staff/complaints/C-FIELD?lang=en")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = await http.post(
            "/staff/complaints/C-FIELD/actions/resolve?lang=en",
            data={"csrf_token": token, "cause": "", "solution": "Refund", "compensation": "-5"},
        )
        assert r.status_code == 422
        refusal = r.text.split('data-testid="refusal"')[1].split("</div>")[0]
        assert "Field “Cause”: must not be empty" in refusal
        assert "Field “Compensation (CNY)”: must be at least 0" in refusal
        assert "string_too_short" not in refusal and "[type=" not in refusal  # words, never a dump


async def test_the_rating_form_needs_its_csrf_token_and_a_score(web):
    v = seed.view(
        "C-RATE", received_at=NOW - timedelta(hours=4), state=State.AWAITING_RATING, locale=Locale.EN
    )
    await seed.write(web.pool, v)
    async with httpx.AsyncClient(base_url=web.base_url) as http:
        page = await http.get(f"/status/{v.status_token}")
        assert 'data-testid="rate-submit"' in page.text
        r = await http.post(f"/status/{v.status_token}/rate", data={"score": "5"})
        assert r.status_code == 403
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = await http.post(f"/status/{v.status_token}/rate", data={"score": "9", "csrf_token": token})
        assert r.status_code == 422
        assert "Field “Score”: must be at most 5" in r.text


async def test_the_records_export_lists_each_complaint_in_the_viewers_zone_without_customer_data(web):
    received = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    await seed.write(web.pool, seed.view("C-REC-1", received_at=received, region="杭州"))
    await seed.write(web.pool, seed.view("C-REC-2", received_at=received + timedelta(days=40)))
    async with signed_in(web.base_url, "zhao") as http:
        r = await http.get("/dashboard/complaints.csv?from=2026-03-01&to=2026-03-31")
        assert r.status_code == 200
        rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
        assert [row["complaint_id"] for row in rows] == ["C-REC-1"]
        assert rows[0]["received_at"] == "2026-03-02T09:30+08:00"
        assert rows[0]["region"] == "杭州"
        assert "张三" not in r.text and "+8613800000000" not in r.text
        http.cookies.set("desk_tz", "Europe%2FBerlin")
        r = await http.get("/dashboard/complaints.csv?from=2026-03-01&to=2026-03-31")
        assert "2026-03-02T02:30+01:00" in r.text


async def test_the_complaint_page_can_tell_when_the_complaint_changed(web):
    v = seed.view("C-VER", received_at=NOW)
    await seed.write(web.pool, v)
    async with signed_in(web.base_url, "zhang") as http:
        first = (await http.get("/staff/complaints/C-VER/version")).text
        assert first
        await seed.write(web.pool, v.model_copy(update={"state": State.ACKNOWLEDGED}))
        second = (await http.get("/staff/complaints/C-VER/version")).text
        assert second and second != first
        page = await http.get("/staff/complaints/C-VER")
        assert 'data-version-url="/staff/complaints/C-VER/version"' in page.text


async def test_the_complaint_page_offers_only_what_the_action_table_allows_this_person(web):
    """Issue 11: a logistics specialist of another department sees no action on someone else's complaint;
    the department's own people do; what they see is what the workflow would accept."""
    holder = Actor(id="zhang", role=Role.SPECIALIST)
    await seed.write(
        web.pool,
        seed.view(
            "C-RIGHTS",
            received_at=NOW - timedelta(minutes=30),
            state=State.IN_PROGRESS,
            holder=holder,
            departments=[Department.WAREHOUSE],
        ),
    )
    async with signed_in(web.base_url, "liu") as http:  # logistics, transport: not on this complaint
        r = await http.get("/staff/complaints/C-RIGHTS?lang=en")
        assert r.status_code == 200 and 'data-action="' not in r.text
    async with signed_in(web.base_url, "wang") as http:  # logistics, warehouse: the complaint's department
        r = await http.get("/staff/complaints/C-RIGHTS?lang=en")
        offered = set(re.findall(r'data-action="([a-z_]+)"', r.text))
        assert {"post_progress", "wait_on_customer", "report_work_done"} <= offered
        assert not offered & {"resolve", "approve", "cancel", "start_handling"}  # role or state says no
