"""The HTTP intake API end to end: real web app, dev server, worker, PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime

from domain.actions import QUERY_STATE
from domain.view import ComplaintView
from ledger.api_keys import create_api_key
from tests.starters.conftest import complaint_body, unique_order, unique_phone

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _state(stack, workflow_id: str) -> ComplaintView:
    return await stack.client.get_workflow_handle(workflow_id).query(QUERY_STATE, result_type=ComplaintView)


async def test_api_files_a_complaint_and_returns_number_status_link_tier_and_promised_times(stack):
    async with stack.api() as http:
        r = await http.post("/api/v1/complaints", json=complaint_body())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["complaint_id"].startswith("C-") and len(body["complaint_id"]) == len("C-20261123-7F3K2Q")
    assert body["status_url"].startswith(f"{stack.base_url}/status/")
    assert len(body["status_url"].rsplit("/", 1)[1]) >= 32  # unguessable token
    assert body["tier"] == "urgent"  # spoiled fresh goods (B §1.2)
    assert body["category"] == "spoiled"
    assert body["joined"] is False
    received = datetime.fromisoformat(body["received_at"])
    assert datetime.fromisoformat(body["first_response_by"]) > received
    assert datetime.fromisoformat(body["resolution_by"]) > datetime.fromisoformat(body["first_response_by"])
    assert r.headers["location"] == f"/api/v1/complaints/{body['complaint_id']}"

    view = await _state(stack, body["workflow_id"])
    assert view.complaint_id == body["complaint_id"]
    assert view.tier.value == "urgent"


async def test_chinese_text_round_trips_intact(stack):
    text = "快递员态度恶劣，把我的包裹扔在门口。订单里的「青花瓷」茶具——全碎了！😡 ½"
    name = "欧阳·娜娜"
    async with stack.api() as http:
        r = await http.post(
            "/api/v1/complaints",
            content=json.dumps(
                complaint_body(description=text, customer_name=name), ensure_ascii=False
            ).encode("utf-8"),
            headers={"content-type": "application/json; charset=utf-8"},
        )
        assert r.status_code == 201, r.text
        got = await http.get(f"/api/v1/complaints/{r.json()['complaint_id']}")
    assert got.status_code == 200, got.text
    view = await _state(stack, r.json()["workflow_id"])
    assert view.description == text
    assert view.customer.name == name


async def test_ten_simultaneous_identical_submissions_make_one_workflow(stack):
    body = complaint_body(description="包裹丢失，里面是保价的笔记本电脑")
    async with stack.api() as http:
        results = await asyncio.gather(*(http.post("/api/v1/complaints", json=body) for _ in range(10)))
    assert [r.status_code for r in results] == [201] * 10, [r.text for r in results]
    answers = [r.json() for r in results]
    numbers = {a["complaint_id"] for a in answers}
    workflow_ids = {a["workflow_id"] for a in answers}
    assert len(numbers) == 1 and len(workflow_ids) == 1
    assert sum(1 for a in answers if not a["joined"]) == 1
    assert len({a["status_url"] for a in answers}) == 1  # the customer gets the existing link
    assert all(a["tier"] == "urgent" for a in answers)  # high-value goods lost (B §1.2)

    (wid,) = workflow_ids
    runs = [w async for w in stack.client.list_workflows(f"WorkflowId = '{wid}'")]
    assert len(runs) == 1
    view = await _state(stack, wid)
    assert view.extra_reports == 9  # the timeline shows the extra reports
    rows = await stack.pool.fetch(
        "SELECT joined FROM intake_receipts WHERE complaint_id = $1", view.complaint_id
    )
    assert sorted(r["joined"] for r in rows) == [False] + [True] * 9


async def test_same_customer_and_order_but_another_issue_is_a_separate_complaint(stack):
    phone, order = unique_phone(), unique_order()
    async with stack.api() as http:
        a = await http.post(
            "/api/v1/complaints",
            json=complaint_body(customer_phone=phone, order_number=order, description="包裹延误五天"),
        )
        b = await http.post(
            "/api/v1/complaints",
            json=complaint_body(customer_phone=phone, order_number=order, description="包裹破损"),
        )
        # the same issue again, phone written differently (+86 / spaces / dashes): joins the first
        c = await http.post(
            "/api/v1/complaints",
            json=complaint_body(
                customer_phone=phone.replace("+86 ", "").replace(" ", "-"),
                order_number=order.lower(),
                description="还是延误，没人联系我",
            ),
        )
    assert a.status_code == b.status_code == c.status_code == 201
    assert a.json()["complaint_id"] != b.json()["complaint_id"]
    assert c.json()["joined"] is True and c.json()["complaint_id"] == a.json()["complaint_id"]


async def test_without_order_number_there_is_no_dedupe(stack):
    body = complaint_body(order_number=None, description="请问发票怎么开？")
    async with stack.api() as http:
        a = await http.post("/api/v1/complaints", json=body)
        b = await http.post("/api/v1/complaints", json=body)
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert a.json()["complaint_id"] != b.json()["complaint_id"]
    assert a.json()["tier"] == "general" and a.json()["complaint_type"] == "consultation"


async def test_idempotency_key_replays_the_first_answer_and_refuses_a_different_body(stack):
    key = str(uuid.uuid4())
    body = complaint_body(description="包裹延误")
    async with stack.api() as http:
        first = await http.post("/api/v1/complaints", json=body, headers={"Idempotency-Key": key})
        again = await asyncio.gather(
            *(http.post("/api/v1/complaints", json=body, headers={"Idempotency-Key": key}) for _ in range(3))
        )
        other = await http.post("/api/v1/complaints", json=complaint_body(), headers={"Idempotency-Key": key})
    assert first.status_code == 201
    for r in again:
        assert r.status_code == 201
        assert r.json()["complaint_id"] == first.json()["complaint_id"]
        assert r.json()["joined"] is False  # the same submission, not a second report
    assert any(r.headers.get("idempotent-replayed") == "true" for r in again)
    assert other.status_code == 409
    assert other.json()["fields"][0]["field"] == "Idempotency-Key"
    view = await _state(stack, first.json()["workflow_id"])
    assert view.extra_reports == 0


async def test_bad_input_is_refused_naming_each_field(stack):
    cases = [
        (complaint_body(customer_phone="12ab"), "customer.phone"),
        (complaint_body(customer_email="not-an-email"), "customer.email"),
        (complaint_body(channel="carrier-pigeon"), "channel"),
        (complaint_body(order_number=None, category="lost", description="我的包裹丢了"), "order_number"),
        (
            complaint_body(order_number=None, description="生鲜变质了"),
            "order_number",
        ),  # category from the text
        (complaint_body(description=""), "description"),
        (complaint_body(description="长" * 5001), "description"),
        (complaint_body(customer_phone=None), "customer.phone"),  # no way to reach the customer
        (complaint_body(colour="red"), "colour"),
        (
            complaint_body(description="包裹\x00破损"),
            "description",
        ),  # found by the fuzzer: PostgreSQL refuses NUL
        (complaint_body(customer_name="张\ud800三"), "customer.name"),
        (complaint_body(policy="../../etc/passwd"), "policy"),
        (
            complaint_body(
                attachments=[
                    {"url": "file:///etc/passwd", "name": "x", "content_type": "image/png", "size": 10}
                ]
            ),
            "attachments[0].url",
        ),
        (
            complaint_body(
                attachments=[
                    {
                        "url": "https://x.example/a.exe",
                        "name": "a.exe",
                        "content_type": "application/x-msdownload",
                        "size": 10,
                    }
                ]
            ),
            "attachments[0].content_type",
        ),
        (
            complaint_body(
                attachments=[
                    {
                        "url": "https://x.example/a.jpg",
                        "name": "a.jpg",
                        "content_type": "image/jpeg",
                        "size": 50 * 2**20,
                    }
                ]
            ),
            "attachments[0].size",
        ),
    ]
    async with stack.api() as http:
        for body, field in cases:
            # json.dumps escapes to ASCII, so even a lone surrogate travels as the client would send it
            r = await http.post(
                "/api/v1/complaints", content=json.dumps(body), headers={"content-type": "application/json"}
            )
            assert r.status_code == 422, (field, r.status_code, r.text)
            data = r.json()
            assert data["error"] and isinstance(data["fields"], list)
            assert field in [f["field"] for f in data["fields"]], (field, data)
            assert all(f["reason"] for f in data["fields"])
        malformed = await http.post(
            "/api/v1/complaints", content=b'{"customer": ', headers={"content-type": "application/json"}
        )
        assert malformed.status_code == 400 and malformed.json()["fields"][0]["field"] == "body"
        huge = await http.post(
            "/api/v1/complaints",
            content=b"{" + b" " * (300 * 1024) + b"}",
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413 and huge.json()["fields"][0]["field"] == "body"
    # nothing half-created: no receipt for any refused body
    assert await stack.pool.fetchval("SELECT count(*) FROM intake_receipts WHERE workflow_id = ''") == 0


async def test_api_key_is_required_and_checked(stack):
    async with stack.http() as http:
        missing = await http.post("/api/v1/complaints", json=complaint_body())
        wrong = await http.post("/api/v1/complaints", json=complaint_body(), headers={"X-API-Key": "dk_nope"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["fields"][0]["field"] == "X-API-Key"


async def test_rate_limit_per_api_key_answers_429_with_retry_after(stack):
    slow_key = await create_api_key(stack.pool, f"slow-{uuid.uuid4().hex[:6]}", rate_per_minute=1, burst=2)
    async with stack.http(headers={"X-API-Key": slow_key}) as http:
        codes = []
        for _ in range(3):
            r = await http.get("/api/v1/complaints/C-20260101-AAAAAA")
            codes.append(r.status_code)
    assert codes[:2] == [404, 404]
    assert codes[2] == 429
    assert int(r.headers["retry-after"]) >= 1
    # another system's key is not affected
    async with stack.api() as http:
        assert (await http.get("/api/v1/complaints/C-20260101-AAAAAA")).status_code == 404


async def test_get_complaint_only_for_the_key_that_filed_it(stack):
    other_key = await create_api_key(stack.pool, f"other-{uuid.uuid4().hex[:6]}")
    async with stack.api() as http:
        r = await http.post("/api/v1/complaints", json=complaint_body(description="快递员态度很差"))
        number = r.json()["complaint_id"]
        mine = await http.get(f"/api/v1/complaints/{number}")
    async with stack.http(headers={"X-API-Key": other_key}) as http:
        theirs = await http.get(f"/api/v1/complaints/{number}")
    assert mine.status_code == 200, mine.text
    assert mine.json()["state"] and mine.json()["tier"] == "important"
    assert mine.json()["status_url"] == r.json()["status_url"]
    assert theirs.status_code == 404


async def test_multipart_upload_stores_evidence_and_refuses_disguised_files(stack):
    body = complaint_body(description="包裹破损，见照片")
    async with stack.api() as http:
        r = await http.post(
            "/api/v1/complaints/upload",
            data={"complaint": json.dumps(body, ensure_ascii=False)},
            files=[
                ("files", ("破损照片.png", PNG, "image/png")),
                ("files", ("note.txt", "箱子压扁了".encode(), "text/plain")),
            ],
        )
        assert r.status_code == 201, r.text
        view = await _state(stack, r.json()["workflow_id"])
        assert [a.name for a in view.attachments] == ["破损照片.png", "note.txt"]
        photo = await http.get(view.attachments[0].url.removeprefix(stack.base_url))
        assert photo.status_code == 200 and photo.content == PNG
        assert photo.headers["content-type"] == "image/png"

        fake = await http.post(
            "/api/v1/complaints/upload",
            data={"complaint": json.dumps(complaint_body(), ensure_ascii=False)},
            files=[("files", ("photo.jpg", b"MZ\x90\x00 this is an exe", "image/jpeg"))],
        )
        assert fake.status_code == 422
        assert fake.json()["fields"][0]["field"] == "files[0]"
        bad_json = await http.post("/api/v1/complaints/upload", data={"complaint": "{not json"})
        assert bad_json.status_code == 400 and bad_json.json()["fields"][0]["field"] == "complaint"


async def test_openapi_documents_the_intake_api(stack):
    async with stack.http() as http:
        spec = (await http.get("/openapi.json")).json()
    paths = spec["paths"]
    assert "/api/v1/complaints" in paths and "/api/v1/complaints/{number}" in paths
    assert "/api/v1/webhooks/{source}" in paths and "/api/v1/complaints/upload" in paths
    post = paths["/api/v1/complaints"]["post"]
    assert "ErrorBody" in json.dumps(post["responses"]["422"])
    assert "HTTPValidationError" not in json.dumps(post["responses"])


async def test_a_refused_upload_leaves_no_stored_file(stack):
    before = await stack.pool.fetchval("SELECT count(*) FROM intake_attachments")
    async with stack.api() as http:
        # valid file, but the complaint needs an order number: refused as a whole
        r = await http.post(
            "/api/v1/complaints/upload",
            data={
                "complaint": json.dumps(
                    complaint_body(order_number=None, description="包裹丢失"), ensure_ascii=False
                )
            },
            files=[("files", ("p.png", PNG, "image/png"))],
        )
        # too many files
        many = await http.post(
            "/api/v1/complaints/upload",
            data={"complaint": json.dumps(complaint_body(), ensure_ascii=False)},
            files=[("files", (f"p{i}.png", PNG, "image/png")) for i in range(11)],
        )
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "order_number"
    assert many.status_code == 422 and many.json()["fields"][0]["field"] == "files"
    assert await stack.pool.fetchval("SELECT count(*) FROM intake_attachments") == before


async def test_dev_intake_credentials_are_stable_and_work(stack):
    from ledger.api_keys import seed_dev_intake

    first = await seed_dev_intake(stack.pool, stack.settings)
    again = await seed_dev_intake(stack.pool, stack.settings)
    assert first == again and first.api_key.startswith("dk_dev_")
    async with stack.http(headers={"X-API-Key": first.api_key}) as http:
        r = await http.post("/api/v1/complaints", json=complaint_body(description="发票抬头开错了"))
    assert r.status_code == 201, r.text
    off = stack.settings.model_copy(update={"demo_users": False})
    assert await seed_dev_intake(stack.pool, off) is None
