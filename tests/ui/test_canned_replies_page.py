"""Supervisors edit canned replies on /staff/canned-replies (real PostgreSQL and sessions); others may not,
and a bad field is a 422 naming it."""

from __future__ import annotations

from ledger import canned_replies
from tests.ui.conftest import csrf_from, signed_in


async def test_a_supervisor_edits_a_canned_reply_and_a_bad_field_is_named(web):
    async with signed_in(web.base_url, "zhao") as http:
        page = await http.get("/staff/canned-replies?lang=en")
        assert page.status_code == 200 and "{customer_name}" in page.text
        token = csrf_from(page.text)
        form = {"csrf_token": token, "id": "", "category": "delayed", "locale": "en",
                "title": "Running late", "body": "Dear {customer_name}, {complaint_id} is on its way."}  # fmt: skip
        r = await http.post("/staff/canned-replies", data=form)
        assert r.status_code == 303
        mine = [x for x in await canned_replies.list_replies(web.pool) if x.title == "Running late"]
        assert len(mine) == 1 and mine[0].updated_by == "zhao"
        r = await http.post("/staff/canned-replies?lang=en", data=form | {"category": "weather"})
        assert r.status_code == 422 and "category: choose one from the list" in r.text
        r = await http.post("/staff/canned-replies?lang=en", data=form | {"body": " "})
        assert r.status_code == 422 and "text: required" in r.text
        r = await http.post(f"/staff/canned-replies/{mine[0].id}/delete", data={"csrf_token": token})
        assert r.status_code == 303
    async with signed_in(web.base_url, "zhang") as http:  # a specialist picks replies, does not edit them
        assert (await http.get("/staff/canned-replies")).status_code == 403
