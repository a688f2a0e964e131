"""The public complaint form and the staff intake form: real HTML over HTTP, CSRF, sign-in."""

from __future__ import annotations

import asyncio
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
    # the link works once the workflow's ledger write has landed (an activity, so: wait for it)
    async with stack.http() as http:
        for _ in range(300):
            page = await http.get(link.removeprefix(stack.base_url))
            if page.status_code == 200:
                break
            await asyncio.sleep(0.1)
    assert page.status_code == 200 and number in page.text


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
    assert "Please give a valid phone number" in r.text  # words for a person, not a regex
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
        r = await http.post(
            "/login",
            data={"username": "zhang", "password": "demo", "next": "/staff", "csrf_token": _csrf(login.text)},
        )
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


async def test_public_form_rate_limit_per_client_address(stack, monkeypatch):
    from starters.rate_limit import RateLimiter
    from ui import forms

    monkeypatch.setattr(forms, "PUBLIC_BURST", 2)
    stack.app.state.intake_form_limiter = RateLimiter()
    try:
        async with stack.http() as http:
            page = await http.get("/file")
            token = _csrf(page.text)
            codes = []
            for _ in range(3):
                r = await http.post(
                    "/file", data={"csrf_token": token, "name": "x", "phone": "12", "description": "d"}
                )
                codes.append(r.status_code)
        assert codes == [422, 422, 429]
        assert int(r.headers["retry-after"]) >= 1
    finally:
        stack.app.state.intake_form_limiter = RateLimiter()


def _fuzz_public_form(base_url: str, cases: int) -> tuple[int, list[str]]:
    """Random text in every field of the public form (valid CSRF token): never a server error."""
    import httpx
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    http = httpx.Client(base_url=base_url, timeout=60)
    token = _csrf(http.get("/file").text)
    text = st.text(st.characters(codec="utf-8"), max_size=300)
    ran, errors = 0, []

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        name=text,
        phone=text,
        email=text,
        order=text,
        description=st.one_of(text, st.text(min_size=4990, max_size=5010)),
        category=st.one_of(st.sampled_from(["", "lost", "spoiled", "bogus"]), text),
        locale=text,
    )
    def run(name, phone, email, order, description, category, locale) -> None:
        nonlocal ran
        ran += 1
        data = {
            "csrf_token": token,
            "name": name,
            "phone": phone,
            "email": email,
            "order_number": order,
            "description": description,
            "category": category,
            "locale": locale,
        }
        r = http.post("/file", data=data)
        if r.status_code >= 500 or r.status_code not in (201, 422):
            errors.append(f"{r.status_code}: {data!r}"[:400])

    run()
    http.close()
    return ran, errors


async def test_public_form_fuzz_never_answers_a_server_error(stack, monkeypatch):

    from starters.rate_limit import RateLimiter
    from ui import forms

    monkeypatch.setattr(forms, "PUBLIC_BURST", 100_000)
    monkeypatch.setattr(forms, "PUBLIC_RATE_PER_MINUTE", 100_000)
    stack.app.state.intake_form_limiter = RateLimiter()
    try:
        ran, errors = await asyncio.to_thread(_fuzz_public_form, stack.base_url, 60)
    finally:
        stack.app.state.intake_form_limiter = RateLimiter()
    print(f"\npublic form fuzz: {ran} cases, {len(errors)} unexpected answers")
    assert errors == [], errors[:5]
