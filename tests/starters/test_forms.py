"""The public complaint form and the staff intake form: real HTML over HTTP, CSRF, sign-in."""

from __future__ import annotations

import re

from domain.actions import QUERY_STATE
from domain.view import ComplaintView
from tests.starters.conftest import unique_order, unique_phone

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
NUMBER_RE = re.compile(r'data-testid="complaint-number"[^>]*>(C-\d{8}-[0-9A-Z]{6})<')
STATUS_RE = re.compile(r'data-testid="status-link"[^>]*>([^<]+)<')
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _csrf(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


async def _workflow_for(stack, number: str) -> ComplaintView:
    wid = await stack.pool.fetchval("SELECT workflow_id FROM intake_receipts WHERE complaint_id = $1", number)
    return await stack.client.get_workflow_handle(wid).query(QUERY_STATE, result_type=ComplaintView)


async def test_public_form_in_chinese_files_a_complaint_with_photo_and_shows_number_and_status_link(stack):
    async with stack.http() as http:
        page = await http.get("/file")
        assert page.status_code == 200 and "提交投诉" in page.text
        assert 'name="viewport"' in page.text  # mobile friendly
        r = await http.post(
            "/file",
            data={
                "csrf_token": _csrf(page.text),
                "name": "李四",
                "phone": unique_phone(),
                "email": "",
                "order_number": unique_order(),
                "category": "",
                "description": "冷链运输的海鲜到货时已经变质发臭",
            },
            files=[("files", ("海鲜.png", PNG, "image/png"))],
        )
    assert r.status_code == 201, r.text
    number = NUMBER_RE.search(r.text).group(1)
    link = STATUS_RE.search(r.text).group(1)
    assert link.startswith(f"{stack.base_url}/status/")
    assert "紧急" in r.text  # urgent, in the customer's language
    view = await _workflow_for(stack, number)
    assert view.channel.value == "web"
    assert view.description == "冷链运输的海鲜到货时已经变质发臭"
    assert view.tier.value == "urgent"
    assert [a.name for a in view.attachments] == ["海鲜.png"]
    assert link.endswith(view.status_token)


async def test_public_form_in_english_refuses_bad_fields_and_keeps_what_was_typed(stack):
    async with stack.http() as http:
        page = await http.get("/file?lang=en")
        assert "File a complaint" in page.text
        r = await http.post(
            "/file?lang=en",
            data={
                "csrf_token": _csrf(page.text),
                "name": "Ann",
                "phone": "abc",
                "order_number": "",
                "category": "lost",
                "description": "My parcel is lost",
            },
        )
    assert r.status_code == 422
    assert 'data-field="phone"' in r.text
    assert 'value="Ann"' in r.text and "My parcel is lost" in r.text
    assert "Please correct" in r.text


async def test_public_form_without_csrf_token_is_refused(stack):
    async with stack.http() as http:
        await http.get("/file")
        r = await http.post("/file", data={"name": "X", "phone": unique_phone(), "description": "test"})
    assert r.status_code == 403
    assert not NUMBER_RE.search(r.text)


async def test_staff_form_requires_a_signed_in_staff_user(stack):
    async with stack.http(follow_redirects=False) as http:
        r = await http.get("/staff/intake")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        post = await http.post("/staff/intake", data={"name": "x"})
        assert post.status_code in (401, 403)


async def test_hotline_staff_records_a_complaint_and_sets_the_tier(stack):
    async with stack.http(follow_redirects=False) as http:
        login = await http.get("/login")
        r = await http.post("/login", data={"username": "zhang", "password": "demo", "next": "/staff", "csrf_token": _csrf(login.text)})
        assert r.status_code == 303, r.text
        page = await http.get("/staff/intake")
        assert page.status_code == 200, page.text
        r = await http.post(
            "/staff/intake",
            data={
                "csrf_token": _csrf(page.text),
                "channel": "hotline",
                "name": "王五",
                "phone": unique_phone(),
                "customer_type": "business",
                "region": "上海",
                "order_number": unique_order(),
                "product": "工业传感器",
                "description": "客户来电：收到的传感器有质量问题，影响生产线，明天展会要用",
                "complaint_type": "complaint",
                "tier": "urgent",
            },
        )
    assert r.status_code == 201, r.text
    number = NUMBER_RE.search(r.text).group(1)
    view = await _workflow_for(stack, number)
    assert view.channel.value == "hotline"
    assert view.tier.value == "urgent"
    assert view.customer.customer_type == "business" and view.customer.region == "上海"
    source = await stack.pool.fetchval("SELECT source FROM intake_receipts WHERE complaint_id = $1", number)
    assert source == "staff:zhang"
