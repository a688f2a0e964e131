"""Intake fixes the days a new complaint counts on (issue 13): the holiday library's days plus admins'
edits, explicit dates in the workflow's start arguments — only for the calendars the complaint uses."""

from __future__ import annotations

from datetime import date

from temporalio.api.enums.v1 import EventType

from activities import calendar_store
from core.temporal import DATA_CONVERTER
from domain.calendar_edits import DayEdit
from domain.case import ComplaintOptions
from starters.calendars import shared_book
from tests.starters.conftest import complaint_body

COMPANY_DAY = date(2028, 3, 6)  # far from every other test's deadlines (the database is shared)


async def _start_options(stack, workflow_id: str) -> ComplaintOptions:
    history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
    started = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    payloads = started.workflow_execution_started_event_attributes.input.payloads
    return (await DATA_CONVERTER.decode(payloads, [object, ComplaintOptions]))[1]


async def test_a_new_complaint_carries_explicit_days_with_the_admins_edits_for_its_own_calendar(stack):
    await calendar_store.put_days(
        stack.pool, [DayEdit(calendar="HK", day=COMPANY_DAY, kind="holiday", note="公司日", source="test")]
    )
    shared_book(stack.settings, stack.pool).forget()
    try:
        async with stack.api() as http:
            hk = await http.post("/api/v1/complaints", json=complaint_body(customer_region="香港"))
            cn = await http.post("/api/v1/complaints", json=complaint_body(business_line="warehouse"))
        assert hk.status_code == 201 and cn.status_code == 201, (hk.text, cn.text)
        hk_opts = await _start_options(stack, hk.json()["workflow_id"])
        cn_opts = await _start_options(stack, cn.json()["workflow_id"])
    finally:
        await calendar_store.delete_day(stack.pool, "HK", COMPANY_DAY)
        shared_book(stack.settings, stack.pool).forget()

    assert set(hk_opts.calendars) == {"hong_kong"}
    spec = hk_opts.calendars["hong_kong"]
    assert COMPANY_DAY in spec.holidays and 2028 in spec.resolved_years
    assert date(2027, 3, 26) in spec.holidays  # Good Friday, from the library
    assert set(cn_opts.calendars) == {"warehouse"}
    assert COMPANY_DAY not in cn_opts.calendars["warehouse"].holidays  # a Hong Kong edit only
    assert date(2027, 2, 5) in cn_opts.calendars["warehouse"].holidays
