"""The business calendar in running complaints (issue 13), on the time-skipping server: the days intake
resolved (library + admins' edits) are the ones a complaint counts on; a year not yet announced keeps its
statutory holidays by rule and says so; an admin's change re-plans a complaint open across the changed day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio.worker import Replayer

from core.temporal import DATA_CONVERTER
from domain.calendar import SIGNAL_CALENDARS_CHANGED, CalendarChange, unconfirmed_schedules
from domain.calendar_edits import CalendarEdits, DayEdit, YearConfirmed, resolve_calendars
from domain.models import ObligationName, Tier
from domain.policy import preset
from tests.workflows.harness import SH, Desk
from workflows.registry import WORKFLOWS

N = ObligationName
FILED = datetime(2027, 2, 4, 17, tzinfo=SH)  # Thursday before the 2027 Spring Festival (除夕 is Fri 5 Feb)

# What an admin enters when the State Council announces 2027 before the library carries it. Illustrative
# days (the real notice is not out on 2026-12-01): 春节 5–13 February off, Saturday 20 February worked.
ANNOUNCED_2027 = CalendarEdits(
    days=[DayEdit(day=date(2027, 2, d), kind="holiday", note="春节") for d in range(5, 14)]
    + [DayEdit(day=date(2027, 2, 20), kind="workday", note="春节调休")],
    confirmed=[YearConfirmed(year=2027, note="国办 2027 节假日安排")],
)


def _calendars(edits: CalendarEdits = CalendarEdits()):
    return resolve_calendars(preset("standard"), FILED, edits)


async def test_general_complaint_filed_2027_02_04_before_the_announcement_counts_the_statutory_holidays_and_warns(
    desk: Desk,
):
    calendars = _calendars()
    c = await desk.start(at=FILED, calendars=calendars)
    resolution = await c.obligation(N.RESOLUTION)
    # 24 working hours: Thu 17–18 (1 h); 5–10 Feb off by rule (除夕, 初一–初三 and the library's days in
    # lieu of the weekend ones); Thu 11 and Fri 12 (18 h); Mon 15 Feb 09–14 (5 h).
    assert resolution.due_at == datetime(2027, 2, 15, 14, tzinfo=SH)
    gaps = unconfirmed_schedules(calendars, [2027])
    assert [g.year for g in gaps] == [2027]
    assert gaps[0].touches(FILED, resolution.due_at)
    assert gaps[0].message().startswith("2027 holiday schedule not yet confirmed — deadlines on 2027-01-01")
    assert "2027-02-05 – 02-10" in gaps[0].message()
    assert gaps[0].message("zh-CN").startswith("2027 节假日安排尚未确认 — ")


async def test_general_complaint_filed_2027_02_04_after_the_announcement_gets_the_announced_deadline(
    desk: Desk,
):
    calendars = _calendars(ANNOUNCED_2027)
    c = await desk.start(at=FILED, calendars=calendars)
    # Thu 17–18 (1 h); 5–14 Feb off; Mon 15 and Tue 16 (18 h); Wed 17 Feb 09–14 (5 h).
    assert (await c.obligation(N.RESOLUTION)).due_at == datetime(2027, 2, 17, 14, tzinfo=SH)
    assert unconfirmed_schedules(calendars, [2027]) == []


async def test_an_admins_edit_moves_the_deadline_of_a_complaint_open_across_the_changed_day(desk: Desk):
    c = await desk.start(at=FILED, calendars=_calendars())
    assert (await c.obligation(N.RESOLUTION)).due_at == datetime(2027, 2, 15, 14, tzinfo=SH)
    await c.until(timedelta(minutes=2))
    first_response = await c.obligation(N.FIRST_RESPONSE)

    # The announced schedule arrives (the admin page sends the new days to every open complaint).
    change = CalendarChange(calendars=_calendars(ANNOUNCED_2027), reason="2027 schedule announced")
    await c.handle.signal(SIGNAL_CALENDARS_CHANGED, change)
    await c.settle()

    assert (await c.obligation(N.RESOLUTION)).due_at == datetime(2027, 2, 17, 14, tzinfo=SH)
    # A clock whose remaining time lies before the changed days stays where it was.
    assert (await c.obligation(N.FIRST_RESPONSE)).due_at == first_response.due_at
    events = [e for e in (await c.view()).timeline if e.kind == "calendar_changed"]
    assert len(events) == 1 and events[0].data["moved"]["resolution"].startswith("2027-02-17T")

    # The same change again moves nothing and records nothing.
    await c.handle.signal(SIGNAL_CALENDARS_CHANGED, change)
    await c.settle()
    assert len([e for e in (await c.view()).timeline if e.kind == "calendar_changed"]) == 1

    # The timer follows the new deadline: nothing breaches on the old one (15 Feb 14:00) …
    await c.until(datetime(2027, 2, 15, 15, tzinfo=SH) - FILED)
    assert (await c.obligation(N.RESOLUTION)).status.value in ("open", "warned")
    # … and the run replays from its history (the new handler is deterministic).
    await Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER).replay_workflow(
        await c.handle.fetch_history()
    )


async def test_a_hong_kong_customer_counts_on_hong_kong_general_holidays(desk: Desk):
    at = datetime(2027, 3, 26, 17, tzinfo=SH)  # Good Friday: a general holiday in Hong Kong, not in Shanghai
    calendars = resolve_calendars(preset("standard"), at, CalendarEdits())
    cn = await desk.start(at=at, calendars=calendars)
    hk = await desk.start(at=at, region="香港", calendars=calendars)
    # Mainland: Fri 17–18 (1 h), Mon 29 and Tue 30 (18 h), Wed 31 09–14 (5 h).
    assert (await cn.obligation(N.RESOLUTION)).due_at == datetime(2027, 3, 31, 14, tzinfo=SH)
    # Hong Kong: Good Friday, the day after, Easter Monday off: Tue 30, Wed 31 (18 h), Thu 1 Apr 09–15.
    assert (await hk.obligation(N.RESOLUTION)).due_at == datetime(2027, 4, 1, 15, tzinfo=SH)


async def test_a_warehouse_complaint_counts_saturdays(desk: Desk):
    at = datetime(2026, 12, 4, 17, tzinfo=SH)  # Friday
    c = await desk.start(at=at, tier=Tier.GENERAL, business_line="warehouse")
    # Warehouse hours Mon–Sat 08–18: Fri 17–18 (1 h), Sat 5 Dec (10 h), Mon 7 (10 h), Tue 8 08–11 (3 h).
    assert (await c.obligation(N.RESOLUTION)).due_at == datetime(2026, 12, 8, 11, tzinfo=SH)
