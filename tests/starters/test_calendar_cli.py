"""`desk calendar import FILE.ics` / `desk calendar show` and the health check's calendar warning, against a
real PostgreSQL ledger (and the time-skipping server for the change sent to open complaints)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import structlog

from activities import calendar_store
from core.settings import Settings
from desk import cli
from domain.calendar_edits import YearConfirmed
from domain.policy import preset
from domain.public_holidays import official_year
from starters import calendar_cli
from starters.calendars import CalendarBook, log_gaps, warnings_for

ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:a@t\r\n"
    b"DTSTART;VALUE=DATE:20270211\r\nDTEND;VALUE=DATE:20270213\r\nSUMMARY:\xe6\x98\xa5\xe8\x8a\x82\r\n"
    b"END:VEVENT\r\nBEGIN:VEVENT\r\nUID:b@t\r\nDTSTART;VALUE=DATE:20270220\r\n"
    b"SUMMARY:\xe8\xa1\xa5\xe7\x8f\xad\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
NEXT_YEAR_OPEN = not official_year("CN", datetime.now(UTC).year + 1).confirmed


def _settings(ledger_url: str, ts_env=None) -> Settings:
    extra = {}
    if ts_env is not None:
        extra = {"temporal_address": ts_env.client.service_client.config.target_host}
    return Settings(_env_file=None, database_url=ledger_url, temporal_envconfig=False, **extra)


async def test_import_previews_then_stores_the_feed_and_show_lists_it(
    ledger_url, ledger_pool, ts_env, tmp_path, capsys
):
    feed = tmp_path / "holidays-2027.ics"
    feed.write_bytes(ICS)
    settings = _settings(ledger_url, ts_env)

    assert await calendar_cli.main(["import", str(feed), "--dry-run"], settings) == 0
    out = capsys.readouterr().out
    assert "3 days in holidays-2027.ics for CN" in out
    assert await ledger_pool.fetchval("SELECT count(*) FROM calendar_days") == 0

    assert await calendar_cli.main(["import", str(feed)], settings) == 0
    assert "stored; sent to 0 open complaints" in capsys.readouterr().out
    rows = await ledger_pool.fetch("SELECT day, kind, source FROM calendar_days ORDER BY day")
    assert [(r["day"].isoformat(), r["kind"]) for r in rows] == [
        ("2027-02-11", "holiday"),
        ("2027-02-12", "holiday"),
        ("2027-02-20", "workday"),
    ]
    assert rows[0]["source"] == "ics:holidays-2027.ics"

    assert await calendar_cli.main(["show"], settings) == 0
    shown = capsys.readouterr().out
    assert "holidays: holidays 0." in shown and "CN\t2027-02-20\tworkday\t补班" in shown
    if NEXT_YEAR_OPEN:
        assert f"warning: {datetime.now(UTC).year + 1} holiday schedule not yet confirmed" in shown


async def test_a_file_that_is_not_ical_is_refused_with_the_reason(ledger_url, tmp_path, capsys):
    bad = tmp_path / "bad.ics"
    bad.write_text("hello")
    assert await calendar_cli.main(["import", str(bad)], _settings(ledger_url)) == 1
    assert "bad.ics: not an iCalendar file" in capsys.readouterr().out


@pytest.mark.skipif(not NEXT_YEAR_OPEN, reason="next year's schedule is announced")
def test_the_health_check_states_an_unconfirmed_year_without_failing_on_it(monkeypatch, capsys):
    monkeypatch.setenv("DESK_DATABASE_URL", "")
    monkeypatch.setenv("DESK_WEB_PORT", "1")  # nothing listens: unhealthy, and the warning is still said
    assert cli.main(["healthcheck", "web"]) == 1
    err = capsys.readouterr().err
    year = datetime.now(UTC).year + 1
    assert "unhealthy" in err
    assert f"warning: {year} holiday schedule not yet confirmed — deadlines on {year}-01-01" in err


@pytest.mark.skipif(not NEXT_YEAR_OPEN, reason="next year's schedule is announced")
async def test_a_process_states_the_unconfirmed_year_at_start_unless_an_admin_confirmed_it(
    ledger_url, ledger_pool
):
    year = datetime.now(UTC).year + 1
    book = CalendarBook(_settings(ledger_url), ledger_pool)
    with structlog.testing.capture_logs() as logs:
        await log_gaps(book, "worker")
    said = [e for e in logs if e["log_level"] == "warning"]
    assert [(e["process"], e["year"]) for e in said] == [("worker", year)]
    assert said[0]["event"].startswith(
        f"{year} holiday schedule not yet confirmed — deadlines on {year}-01-01"
    )

    await calendar_store.confirm_year(ledger_pool, YearConfirmed(year=year), "admin:test")
    book.forget()
    with structlog.testing.capture_logs() as logs:
        await log_gaps(book, "worker")
    assert [e for e in logs if e["log_level"] == "warning"] == []


async def test_the_calendar_file_is_applied_and_a_broken_one_is_said_without_stopping_intake(tmp_path):
    good = tmp_path / "calendar.yaml"
    good.write_text("holidays:\n  - {calendar: warehouse, day: 2027-06-01, note: 盘点}\n", encoding="utf-8")
    book = CalendarBook(Settings(_env_file=None, calendar_file=good))
    specs = await book.calendars_for(preset("standard"), datetime(2027, 5, 1, tzinfo=UTC))
    assert date(2027, 6, 1) in specs["warehouse"].holidays
    assert date(2027, 6, 1) not in specs["business"].holidays

    broken = tmp_path / "broken.yaml"
    broken.write_text("holidays:\n  - {day: 2027-13-01}\n", encoding="utf-8")
    settings = Settings(_env_file=None, calendar_file=broken)
    with structlog.testing.capture_logs() as logs:
        specs = await CalendarBook(settings).calendars_for(
            preset("standard"), datetime(2027, 5, 1, tzinfo=UTC)
        )
    assert date(2027, 2, 5) in specs["business"].holidays  # the library's days still apply
    errors = [e for e in logs if e["log_level"] == "error"]
    assert errors and "broken.yaml: holidays[0]: day" in errors[0]["error"]
    said = await warnings_for(settings)
    assert said[0].startswith("calendar file not read: ") and "broken.yaml" in said[0]

    typo = tmp_path / "typo.yaml"
    typo.write_text("holidays:\n  - {calendar: wherehouse, day: 2027-06-01}\n", encoding="utf-8")
    said = await warnings_for(Settings(_env_file=None, calendar_file=typo))
    assert "unknown calendars ['wherehouse']" in said[0]
