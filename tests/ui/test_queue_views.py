"""The queue people work from: views (mine, my team with sub-departments, unassigned, breached, waiting on
the customer, closed today), sortable columns, and the supervisors' bulk reassign / assign, which sends each
complaint's own Update to its real workflow (time-skipping server, real worker)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from domain.departments import team_departments
from domain.models import Department, State, Tier
from tests.ui import ledger_seed as seed
from tests.ui.conftest import csrf_from, signed_in
from tests.ui.test_deadlines_in_the_ui import _file, _until
from ui.i18n import t

NOW = datetime.now(UTC)


def _order(html: str) -> list[str]:
    return re.findall(r'<tr class="row-[a-z]+" data-complaint="([^"]+)"', html)


def test_the_logistics_department_answers_for_warehouse_transport_and_delivery():
    assert set(team_departments(Department.LOGISTICS)) == {
        Department.LOGISTICS, Department.WAREHOUSE, Department.TRANSPORT, Department.DELIVERY,
    }  # fmt: skip
    assert team_departments(Department.TECHNICAL) == [Department.TECHNICAL]
    assert team_departments(None) == []


async def test_the_logistics_head_sees_complaints_routed_to_its_sub_departments(web):
    await seed.write(web.pool, seed.view("C-WH", received_at=NOW, departments=[Department.WAREHOUSE]))
    await seed.write(web.pool, seed.view("C-TR", received_at=NOW, departments=[Department.TRANSPORT]))
    await seed.write(web.pool, seed.view("C-TECH", received_at=NOW, departments=[Department.TECHNICAL]))
    async with signed_in(web.base_url, "zhou") as http:  # 周总, head of 物流部
        assert set(_order((await http.get("/staff")).text)) == {"C-WH", "C-TR"}  # the desk opens on the team
        assert set(_order((await http.get("/staff?scope=all")).text)) == {"C-WH", "C-TR", "C-TECH"}


async def test_waiting_on_customer_and_closed_today_views(web):
    await seed.write(web.pool, seed.view("C-WAIT", received_at=NOW, state=State.WAITING_ON_CUSTOMER))
    await seed.write(web.pool, seed.view("C-OPEN", received_at=NOW))
    today = seed.view("C-CLOSED-NOW", received_at=NOW - timedelta(hours=6), state=State.CLOSED)
    await seed.write(web.pool, today.model_copy(update={"closed_at": NOW - timedelta(minutes=5)}))
    await seed.write(
        web.pool, seed.view("C-CLOSED-OLD", received_at=NOW - timedelta(days=9), state=State.CLOSED)
    )
    async with signed_in(web.base_url, "zhang") as http:
        assert _order((await http.get("/staff?scope=waiting")).text) == ["C-WAIT"]
        assert _order((await http.get("/staff?scope=closed_today")).text) == ["C-CLOSED-NOW"]
        assert "C-CLOSED-NOW" not in _order((await http.get("/staff")).text)


async def test_columns_sort_the_queue_and_a_bad_sort_is_refused(web):
    await seed.write(web.pool, seed.view("C-A", received_at=NOW - timedelta(minutes=1), tier=Tier.GENERAL))
    await seed.write(web.pool, seed.view("C-B", received_at=NOW - timedelta(minutes=3), tier=Tier.URGENT))
    await seed.write(web.pool, seed.view("C-C", received_at=NOW - timedelta(minutes=2), tier=Tier.IMPORTANT))
    async with signed_in(web.base_url, "zhang") as http:
        assert _order((await http.get("/staff?sort=tier")).text) == ["C-B", "C-C", "C-A"]
        assert _order((await http.get("/staff?sort=-received")).text) == ["C-A", "C-C", "C-B"]
        assert _order((await http.get("/staff?sort=received")).text) == ["C-B", "C-C", "C-A"]
        page = (await http.get("/staff?sort=tier")).text
        assert 'data-testid="sort-received"' in page
        r = await http.get("/staff?sort=sideways")
        assert r.status_code == 422 and "sort" in r.text
        r = await http.get("/staff?tier=huge")
        assert r.status_code == 422 and t("field.tier", "zh-CN") in r.text  # the field, in the reader's words


async def _holder(pool, complaint_id: str) -> str | None:
    return await pool.fetchval("SELECT holder_id FROM complaints WHERE complaint_id = $1", complaint_id)


async def test_a_supervisor_reassigns_several_complaints_at_once(ts_stack):
    ids = [await _file(ts_stack.base_url, f"SF77700011{i}") for i in range(2)]
    for cid in ids:
        await _until(
            lambda cid=cid: ts_stack.pool.fetchval("SELECT 1 FROM complaints WHERE complaint_id = $1", cid)
        )
    async with signed_in(ts_stack.base_url, "zhang") as http:  # a specialist has no bulk bar and may not
        page = await http.get("/staff")
        assert 'data-testid="bulk-bar"' not in page.text
        r = await http.post(
            "/staff/queue/bulk",
            data={
                "csrf_token": csrf_from(page.text),
                "bulk_action": "reassign",
                "holder_id": "li",
                "complaint": ids,
            },
        )
        assert r.status_code == 403
    async with signed_in(ts_stack.base_url, "zhao") as http:
        page = await http.get("/staff")
        assert 'data-testid="bulk-bar"' in page.text
        r = await http.post(
            "/staff/queue/bulk?lang=en",
            data={"csrf_token": csrf_from(page.text), "bulk_action": "reassign", "holder_id": "li",
                  "note": "Li Na takes the Shanghai parcels", "complaint": ids},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        assert 'data-testid="bulk-done"' in r.text and "done for 2" in r.text
        for cid in ids:
            await _until(lambda cid=cid: _is(ts_stack.pool, cid, "li"))
        # Assign without a department: refused once, naming the field.
        r = await http.post(
            "/staff/queue/bulk?lang=en",
            data={"csrf_token": csrf_from(page.text), "bulk_action": "assign", "complaint": ids},
        )
        assert r.status_code == 422 and t("field.departments", "en") in r.text
        # One complaint that is not there is named; the others are still reassigned.
        r = await http.post(
            "/staff/queue/bulk?lang=en",
            data={"csrf_token": csrf_from(page.text), "bulk_action": "reassign", "holder_id": "wang",
                  "complaint": [*ids, "C-20260101-NOSUCH"]},
        )  # fmt: skip
        assert r.status_code == 200 and "done for 2" in r.text
        failed = r.text.split('data-testid="bulk-failed"', 1)[1].split("</div>", 1)[0]
        assert "C-20260101-NOSUCH" in failed and ids[0] not in failed
        for cid in ids:
            await _until(lambda cid=cid: _is(ts_stack.pool, cid, "wang"))
        r = await http.post("/staff/queue/bulk", data={"csrf_token": csrf_from(page.text), "complaint": ids})
        assert r.status_code == 422


async def _is(pool, cid: str, holder: str) -> bool:
    return await _holder(pool, cid) == holder
