"""CSV bulk import (`desk import-csv FILE`): every row through the same intake service, with a progress bar
and a per-row report (row → complaint number / joined / error with field and reason).

Columns (header row required; English names or the Chinese aliases below; order free; unknown columns are
an error so a typo is not silently dropped):

| column | alias | required | meaning |
|---|---|---|---|
| name | 姓名 | yes | customer name |
| phone | 电话, 手机 | phone or email | customer phone |
| email | 邮箱 | phone or email | customer e-mail |
| locale | 语言 | no | zh-CN (default) or en |
| customer_type | 客户类型 | no | individual (default), business, vip |
| region | 地区 | no | region / city |
| channel | 渠道 | no | web, hotline, email, social, app, ecommerce, counter, api (default) |
| order_number | 订单号, 运单号 | for lost/damaged/delayed/spoiled/misdelivered | order or waybill number |
| product | 产品 | no | product or service |
| category | 类别 | no | lost, damaged, delayed, spoiled, misdelivered, quality, attitude, invoice, policy, technical, other; empty: classifier |
| type | 类型 | no | consultation, complaint, suggestion; empty: classifier |
| subject | 标题 | no | subject |
| description | 描述, 问题描述 | yes | the customer's words |

Encoding: UTF-8 (with or without BOM, as Excel writes it) or GB18030/GBK.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.csv_cells import csv_cell
from core.settings import Settings
from starters.errors import FieldProblem, IntakeError, IntakeUnavailable
from starters.intake import IntakeService, parse_request

COLUMNS = (
    "name",
    "phone",
    "email",
    "locale",
    "customer_type",
    "region",
    "channel",
    "order_number",
    "product",
    "category",
    "type",
    "subject",
    "description",
)
ALIASES = {
    "姓名": "name",
    "电话": "phone",
    "手机": "phone",
    "邮箱": "email",
    "语言": "locale",
    "客户类型": "customer_type",
    "地区": "region",
    "渠道": "channel",
    "订单号": "order_number",
    "运单号": "order_number",
    "产品": "product",
    "类别": "category",
    "类型": "type",
    "标题": "subject",
    "描述": "description",
    "问题描述": "description",
}
# request field → CSV column, for error reports
_COLUMN_OF = {
    "customer.name": "name",
    "customer.phone": "phone",
    "customer.email": "email",
    "customer.locale": "locale",
    "customer.customer_type": "customer_type",
    "customer.region": "region",
    "complaint_type": "type",
}
MAX_ROWS = 100_000


@dataclass
class RowReport:
    row: int  # line number in the file (the header is line 1)
    complaint_id: str | None = None
    joined: bool = False
    tier: str | None = None
    status_url: str | None = None
    error: str | None = None
    fields: list[FieldProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def problem_text(self) -> str:
        if not self.fields:
            return self.error or ""
        return "; ".join(f"{f.field}: {f.reason}" for f in self.fields)


@dataclass
class ImportReport:
    rows: list[RowReport]

    @property
    def filed(self) -> int:
        return sum(1 for r in self.rows if r.ok and not r.joined)

    @property
    def joined(self) -> int:
        return sum(1 for r in self.rows if r.ok and r.joined)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.rows if not r.ok)


class CsvFormatError(Exception):
    """The file as a whole cannot be read (encoding, header)."""


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CsvFormatError("the file is neither UTF-8 nor GB18030 text")


def read_rows(path: str | Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: value}) per data row; header names normalized through ALIASES."""
    text = _decode(Path(path).read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("the file is empty; the first line must name the columns") from None
    names = [ALIASES.get(h.strip(), h.strip().lower()) for h in header]
    unknown = [h for h, n in zip(header, names, strict=True) if n not in COLUMNS]
    if unknown:
        raise CsvFormatError(f"unknown columns: {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    for required in ("name", "description"):
        if required not in names:
            raise CsvFormatError(f"missing column: {required}")
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue  # blank line
        if len(rows) >= MAX_ROWS:
            raise CsvFormatError(f"more than {MAX_ROWS} rows; split the file")
        line = reader.line_num
        if len(values) > len(names):
            rows.append((line, {"__error__": f"{len(values)} values for {len(names)} columns"}))
            continue
        rows.append((line, {n: v.strip() for n, v in zip(names, values, strict=False)}))
    return rows


def row_to_data(row: dict[str, str]) -> dict[str, Any]:
    def opt(k: str) -> str | None:
        return row.get(k) or None

    customer: dict[str, Any] = {"name": row.get("name", ""), "phone": opt("phone"), "email": opt("email")}
    for k in ("locale", "customer_type", "region"):
        if opt(k):
            customer[k] = row[k]
    data: dict[str, Any] = {
        "customer": customer,
        "description": row.get("description", ""),
        "order_number": opt("order_number"),
        "product": opt("product"),
        "subject": opt("subject"),
        "category": opt("category"),
        "complaint_type": opt("type"),
    }
    if opt("channel"):
        data["channel"] = row["channel"]
    return data


def _columns(problems: list[FieldProblem]) -> list[FieldProblem]:
    return [FieldProblem(field=_COLUMN_OF.get(p.field, p.field), reason=p.reason) for p in problems]


async def _one(service: IntakeService, line: int, row: dict[str, str]) -> RowReport:
    if "__error__" in row:
        return RowReport(
            row=line, error="malformed row", fields=[FieldProblem(field="row", reason=row["__error__"])]
        )
    try:
        req = parse_request(row_to_data(row))
        taken = await service.take(req, source="csv")
    except IntakeError as e:
        return RowReport(row=line, error=e.error, fields=_columns(e.fields))
    r = taken.result
    assert r is not None
    return RowReport(
        row=line, complaint_id=r.complaint_id, joined=r.joined, tier=r.tier.value, status_url=r.status_url
    )


async def run_import(
    path: str | Path, service: IntakeService, *, console: Console | None = None, concurrency: int = 4
) -> ImportReport:
    """Import every row; bounded concurrency keeps a big file from flooding the server."""
    console = console or Console(stderr=True)
    rows = read_rows(path)
    reports: dict[int, RowReport] = {}
    sem = asyncio.Semaphore(concurrency)
    with Progress(
        TextColumn("[bold]importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("rows", total=len(rows), failed=0)

        async def worker(line: int, row: dict[str, str]) -> None:
            async with sem:
                rep = await _one(service, line, row)
                if (
                    isinstance(rep, RowReport)
                    and rep.error
                    and rep.fields
                    and rep.fields[0].field == "service"
                ):
                    # Temporal unavailable: one retry after a pause before reporting the row as failed.
                    await asyncio.sleep(1.0)
                    rep = await _one(service, line, row)
            reports[line] = rep
            progress.update(task, advance=1, failed=sum(1 for r in reports.values() if not r.ok))

        await asyncio.gather(*(worker(line, row) for line, row in rows))
    return ImportReport(rows=[reports[line] for line, _ in rows])


def print_report(report: ImportReport, console: Console) -> None:
    table = Table(title="CSV import", show_lines=False)
    table.add_column("row", justify="right")
    table.add_column("complaint")
    table.add_column("result")
    table.add_column("tier")
    table.add_column("error (field: reason)")
    for r in report.rows:
        if r.ok:
            table.add_row(
                str(r.row), r.complaint_id or "", "joined" if r.joined else "filed", r.tier or "", ""
            )
        else:
            table.add_row(str(r.row), "", "[red]error[/red]", "", r.problem_text())
    console.print(table)
    console.print(f"{report.filed} filed, {report.joined} joined an open complaint, {report.failed} failed")


def write_report(report: ImportReport, path: str | Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["row", "complaint_id", "result", "tier", "status_url", "error", "fields"])
        for r in report.rows:
            w.writerow(
                csv_cell(c)
                for c in [
                    r.row,
                    r.complaint_id or "",
                    "error" if not r.ok else ("joined" if r.joined else "filed"),
                    r.tier or "",
                    r.status_url or "",
                    r.error or "",
                    json.dumps([p.model_dump() for p in r.fields], ensure_ascii=False),
                ]
            )


async def import_csv_async(
    path: str | Path,
    settings: Settings,
    *,
    report_path: str | Path | None = None,
    concurrency: int = 4,
    console: Console | None = None,
) -> ImportReport:
    from core.db import create_pool
    from core.temporal import connect
    from ledger.schema import migrate

    client = await connect(settings)
    pool = None
    if settings.database_url:
        await migrate(settings.database_url)
        pool = await create_pool(settings.database_url, max_size=max(2, concurrency))
    try:
        service = IntakeService(client, settings, pool=pool)
        report = await run_import(path, service, console=console, concurrency=concurrency)
    finally:
        if pool is not None:
            await pool.close()
    if report_path:
        write_report(report, report_path)
    return report


def import_csv(
    path: str | Path, settings: Settings, *, report_path: str | Path | None = None, concurrency: int = 4
) -> int:
    """`desk import-csv FILE [--report OUT.csv] [--concurrency N]`. Exit code: 0 all rows taken, 1 some rows
    refused (see the report), 2 the file could not be read or Temporal could not be reached."""
    console = Console(stderr=True)
    try:
        report = asyncio.run(
            import_csv_async(
                path, settings, report_path=report_path, concurrency=concurrency, console=console
            )
        )
    except (CsvFormatError, OSError) as e:
        console.print(f"[red]cannot import {path}: {e}[/red]")
        return 2
    except (RuntimeError, IntakeUnavailable) as e:  # the SDK raises RuntimeError when it cannot connect
        console.print(f"[red]complaint system unavailable: {e}[/red]")
        return 2
    print_report(report, Console())
    return 0 if report.failed == 0 else 1
