"""A deadline the real workflow breaches shows up in the staff UI (time-skipping server, real worker)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx

from tests.ui.conftest import csrf_from, signed_in


async def _file(base_url: str, order: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        form = await http.get("/file?lang=en")
        r = await http.post(
            "/file?lang=en",
            data={
                "csrf_token": csrf_from(form.text),
                "name": "Chen Jie",
                "phone": "+86 137 0000 2222",
                "locale": "en",
                "order_number": order,
                "category": "delayed",
                "description": "My parcel is three days late and nobody answers.",
            },
        )
        assert r.status_code == 201, r.text
        return re.search(r'data-testid="complaint-number"[^>]*>([^<]+)<', r.text).group(1).strip()


async def _until(check, attempts: int = 200):
    for _ in range(attempts):
        if value := await check():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("never happened")


async def test_a_breached_first_response_shows_as_a_breach_in_queue_inbox_and_page(ts_env, ts_stack):
    complaint_id = await _file(ts_stack.base_url, "SF5550001112")
    await _until(
        lambda: ts_stack.pool.fetchval("SELECT 1 FROM complaints WHERE complaint_id = $1", complaint_id)
    )
    # Nobody acknowledges: let three days pass (the first-response clock runs on business hours).
    await ts_env.sleep(timedelta(days=3))
    await _until(
        lambda: ts_stack.pool.fetchval(
            "SELECT breach_count > 0 FROM complaints WHERE complaint_id = $1", complaint_id
        )
    )
    async with signed_in(ts_stack.base_url, "zhang") as http:
        queue = await http.get("/staff?scope=breached&lang=en")
        row = queue.text.split(f'data-complaint="{complaint_id}"')[1].split("</tr>")[0]
        assert "badge-breach" in row
        page = await http.get(f"/staff/complaints/{complaint_id}?lang=en")
        first = page.text.split('data-obligation="first_response"')[1].split("</tr>")[0]
        assert "breached" in first
    async with signed_in(ts_stack.base_url, "zhao") as http:
        inbox = await http.get("/staff/supervisor?lang=en")
        assert complaint_id in inbox.text.split('id="breaches"')[1]
