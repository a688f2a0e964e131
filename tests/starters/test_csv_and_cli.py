"""CSV bulk import and `desk submit`: the CLI functions, run as the CLI runs them (own event loop, own
Temporal connection) against the test stack's dev server and worker."""

from __future__ import annotations

import asyncio
import csv
import json
import uuid
from argparse import ArgumentParser

from domain.actions import QUERY_STATE
from domain.view import ComplaintView
from starters.csv_import import import_csv
from starters.submit import add_arguments, submit
from tests.starters.conftest import unique_order, unique_phone


async def _view(stack, number: str) -> ComplaintView:
    wid = await stack.pool.fetchval("SELECT workflow_id FROM intake_receipts WHERE complaint_id = $1", number)
    return await stack.client.get_workflow_handle(wid).query(QUERY_STATE, result_type=ComplaintView)


async def test_csv_import_reports_each_row_filed_joined_or_refused_with_field(stack, tmp_path, capsys):
    phone, order = unique_phone(), unique_order()
    rows = [
        ["name", "phone", "email", "order_number", "category", "description", "channel"],
        ["赵六", phone, "", order, "", "冷链生鲜在运输中变质腐烂", "ecommerce"],
        ["赵六", phone, "", order, "", "还是那批变质的货，请尽快处理", "hotline"],
        ["钱七", unique_phone(), "bad-email", unique_order(), "", "包裹延误", ""],
        ["孙八", unique_phone(), "", "", "lost", "包裹丢了", ""],
        [
            "Ann",
            "",
            f"ann-{uuid.uuid4().hex[:6]}@example.com",
            "",
            "",
            "How do I change my invoice title?",
            "",
        ],
        ["周九", unique_phone(), "", unique_order(), "", "包裹延误", "pigeon"],
    ]
    path = tmp_path / "complaints.csv"
    with open(path, "w", newline="", encoding="utf-8-sig") as f:  # Excel's UTF-8 with BOM
        csv.writer(f).writerows(rows)
    report_path = tmp_path / "report.csv"

    code = await asyncio.to_thread(import_csv, path, stack.settings, report_path=report_path)

    assert code == 1  # some rows refused
    report = list(csv.DictReader(open(report_path, encoding="utf-8")))
    by_row = {int(r["row"]): r for r in report}
    # rows 2 and 3 report the same issue and run concurrently: one files the complaint, the other joins it
    assert sorted([by_row[2]["result"], by_row[3]["result"]]) == ["filed", "joined"]
    assert by_row[2]["complaint_id"] == by_row[3]["complaint_id"] and by_row[2]["tier"] == "urgent"
    assert by_row[4]["result"] == "error" and json.loads(by_row[4]["fields"])[0]["field"] == "email"
    assert by_row[5]["result"] == "error" and json.loads(by_row[5]["fields"])[0]["field"] == "order_number"
    assert by_row[6]["result"] == "filed" and by_row[6]["tier"] == "general"
    assert by_row[7]["result"] == "error" and json.loads(by_row[7]["fields"])[0]["field"] == "channel"
    out = capsys.readouterr().out
    assert "2 filed, 1 joined an open complaint, 3 failed" in out
    view = await _view(stack, by_row[2]["complaint_id"])
    assert view.description in ("冷链生鲜在运输中变质腐烂", "还是那批变质的货，请尽快处理")
    assert view.extra_reports == 1


async def test_csv_import_reads_gbk_with_chinese_headers(stack, tmp_path):
    path = tmp_path / "gbk.csv"
    text = f"姓名,手机,运单号,问题描述\n吴十,{unique_phone()},{unique_order()},快递员态度恶劣\n"
    path.write_bytes(text.encode("gbk"))
    report_path = tmp_path / "r.csv"
    code = await asyncio.to_thread(import_csv, path, stack.settings, report_path=report_path)
    assert code == 0
    (row,) = list(csv.DictReader(open(report_path, encoding="utf-8")))
    view = await _view(stack, row["complaint_id"])
    assert view.customer.name == "吴十" and view.description == "快递员态度恶劣"
    assert view.category.value == "attitude"


async def test_csv_import_refuses_a_file_with_unknown_columns(stack, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("name,descripton\nx,y\n", encoding="utf-8")
    assert await asyncio.to_thread(import_csv, path, stack.settings) == 2
    assert "descripton" in capsys.readouterr().err


async def test_desk_submit_files_one_complaint_and_prints_number_and_link(stack, capsys):
    parser = ArgumentParser()
    add_arguments(parser)
    order = unique_order()
    args = parser.parse_args(
        ["--name", "郑十一", "--phone", unique_phone(), "--order", order, "--json", "保价的手表丢失了"]
    )
    code = await asyncio.to_thread(submit, args, stack.settings)
    assert code == 0
    printed = capsys.readouterr().out
    out = json.loads(printed[printed.index("\n{") + 1 :] if not printed.startswith("{") else printed)
    assert out["tier"] == "urgent" and out["category"] == "lost"
    assert out["status_url"].startswith(stack.base_url)
    view = await _view(stack, out["complaint_id"])
    assert view.channel.value == "hotline" and view.order_number == order


async def test_desk_submit_refusal_names_the_field(stack, capsys):
    code = await asyncio.to_thread(
        submit, {"name": "x", "phone": "12", "description": "包裹延误", "order_number": "SF1"}, stack.settings
    )
    assert code == 1
    assert "customer.phone" in capsys.readouterr().err
