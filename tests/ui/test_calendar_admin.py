"""The admin calendar page (issue 13) on the whole product (time-skipping server, real worker, ledger):
preview which open complaints' deadlines move, apply, and the running complaint re-plans; admins only,
CSRF like every form, bad input named; the unconfirmed-year warning on the dashboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import structlog

from domain.public_holidays import official_year
from tests.ui.conftest import csrf_from, signed_in, start_web, ui_settings
from tests.ui.test_deadlines_in_the_ui import _file, _until

SH = ZoneInfo("Asia/Shanghai")


async def _resolution_due(pool, complaint_id: str) -> datetime | None:
    return await pool.fetchval(
        "SELECT due_at FROM obligations WHERE complaint_id = $1 AND name = 'resolution' AND status IN ('open', 'warned')",
        complaint_id,
    )


async def test_an_admin_previews_and_applies_a_holiday_and_the_open_complaints_deadline_moves(ts_stack):
    complaint_id = await _file(ts_stack.base_url, "SF5550003334")
    due = await _until(lambda: _resolution_due(ts_stack.pool, complaint_id))
    # The day the deadline falls on becomes a company holiday: the deadline moves past it.
    day = due.astimezone(SH).date()
    async with signed_in(ts_stack.base_url, "admin") as http:
        page = await http.get("/admin/calendar?lang=en")
        assert page.status_code == 200
        form = {"csrf_token": csrf_from(page.text), "what": "day", "calendar": "CN", "day": day.isoformat()}
        form |= {"kind": "holiday", "note": "公司年会"}
        preview = await http.post("/admin/calendar?lang=en", data=form)
        assert preview.status_code == 200, preview.text
        moved = preview.text.split('data-testid="moved"')[1].split("</table>")[0]
        assert complaint_id in moved
        # Nothing is stored by a preview.
        assert await ts_stack.pool.fetchval("SELECT count(*) FROM calendar_days") == 0
        assert await _resolution_due(ts_stack.pool, complaint_id) == due

        applied = await http.post("/admin/calendar?lang=en", data=form | {"step": "apply"})
        assert applied.status_code == 303 and applied.headers["location"].startswith("/admin/calendar?done=")
        assert int(applied.headers["location"].rsplit("=", 1)[1]) >= 1
    new_due = await _until(
        lambda: _changed(ts_stack.pool, complaint_id, due),
    )
    assert new_due.astimezone(SH).date() > day
    # Exactly the working time the holiday took, counted again after it.
    assert new_due - due >= timedelta(hours=9)
    kinds = await ts_stack.pool.fetch(
        "SELECT kind FROM timeline_events WHERE complaint_id = $1 AND kind = 'calendar_changed'", complaint_id
    )
    assert len(kinds) == 1
    async with signed_in(ts_stack.base_url, "admin") as http:
        page = await http.get("/admin/calendar?lang=en")
        stored = page.text.split('data-testid="stored"')[1].split("</table>")[0]
        assert day.isoformat() in stored and "公司年会" in stored


async def _changed(pool, complaint_id: str, before: datetime) -> datetime | None:
    due = await _resolution_due(pool, complaint_id)
    return due if due is not None and due != before else None


async def test_the_calendar_page_is_for_admins_only_and_checks_csrf_and_input(web):
    async with signed_in(web.base_url, "zhao") as http:  # a supervisor
        assert (await http.get("/admin/calendar?lang=en")).status_code == 403
    async with signed_in(web.base_url, "admin") as http:
        page = await http.get("/admin/calendar?lang=en")
        token = csrf_from(page.text)
        no_csrf = await http.post(
            "/admin/calendar", data={"what": "day", "day": "2027-02-11", "kind": "holiday"}
        )
        assert no_csrf.status_code == 403
        bad_day = await http.post(
            "/admin/calendar?lang=en",
            data={"csrf_token": token, "what": "day", "day": "2027-02-30", "kind": "holiday"},
        )
        assert bad_day.status_code == 422 and "day" in bad_day.text and "YYYY-MM-DD" in bad_day.text
        bad_kind = await http.post(
            "/admin/calendar?lang=en",
            data={"csrf_token": token, "what": "day", "day": "2027-02-11", "kind": "party"},
        )
        assert bad_kind.status_code == 422 and "kind" in bad_kind.text
        bad_calendar = await http.post(
            "/admin/calendar?lang=en",
            data={
                "csrf_token": token,
                "what": "day",
                "day": "2027-02-11",
                "kind": "holiday",
                "calendar": "XX",
            },
        )
        assert bad_calendar.status_code == 422 and "calendar" in bad_calendar.text
        bad_ics = await http.post(
            "/admin/calendar?lang=en",
            data={"csrf_token": token, "what": "ics"},
            files={"file": ("feed.ics", b"not a calendar", "text/calendar")},
        )
        assert bad_ics.status_code == 422 and "file" in bad_ics.text


ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:a@t\r\n"
    b"DTSTART;VALUE=DATE:20270211\r\nDTEND;VALUE=DATE:20270213\r\nSUMMARY:Spring Festival (announced)\r\n"
    b"END:VEVENT\r\nEND:VCALENDAR\r\n"
)


async def test_an_ical_feed_is_previewed_then_imported_from_the_page(web):
    async with signed_in(web.base_url, "admin") as http:
        page = await http.get("/admin/calendar?lang=en")
        token = csrf_from(page.text)
        preview = await http.post(
            "/admin/calendar?lang=en",
            data={"csrf_token": token, "what": "ics", "calendar": "CN"},
            files={"file": ("feed.ics", ICS, "text/calendar")},
        )
        assert preview.status_code == 200, preview.text
        assert "2027-02-11" in preview.text and "2027-02-12" in preview.text
        carried = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', preview.text))
        assert carried["ics_b64"] and carried["what"] == "ics"
        carried |= {"csrf_token": token, "step": "apply"}
        applied = await http.post("/admin/calendar?lang=en", data=carried)
        assert applied.status_code == 303, applied.text
    rows = await web.pool.fetch("SELECT day, kind FROM calendar_days ORDER BY day")
    assert [(r["day"].isoformat(), r["kind"]) for r in rows] == [
        ("2027-02-11", "holiday"),
        ("2027-02-12", "holiday"),
    ]


@pytest.mark.skipif(
    official_year("CN", datetime.now(UTC).year + 1).confirmed, reason="next year is announced"
)
async def test_the_dashboard_says_next_years_schedule_is_not_confirmed(web):
    year = datetime.now(UTC).year + 1
    async with signed_in(web.base_url, "zhao") as http:
        en = await http.get("/dashboard?lang=en")
        assert f"{year} holiday schedule not yet confirmed — deadlines on {year}-" in en.text
        zh = await http.get("/dashboard?lang=zh-CN")
        assert f"{year} 节假日安排尚未确认 — {year}-" in zh.text and "的期限可能有误" in zh.text


@pytest.mark.skipif(
    official_year("CN", datetime.now(UTC).year + 1).confirmed, reason="next year is announced"
)
async def test_the_web_app_states_the_unconfirmed_year_in_its_log_at_start(ts_env, ledger_pool, ledger_url):
    year = datetime.now(UTC).year + 1
    with structlog.testing.capture_logs() as logs:
        async for _ in start_web(ts_env.client, ledger_pool, ui_settings(ledger_url)):
            pass
    warnings = [e for e in logs if e["log_level"] == "warning" and e.get("process") == "web"]
    assert len(warnings) == 1
    assert warnings[0]["event"].startswith(f"{year} holiday schedule not yet confirmed — deadlines on")
    assert any(e["event"] == "business calendar" and e["data"].startswith("holidays 0.") for e in logs)
