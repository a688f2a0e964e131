"""`desk submit`: file one complaint from the command line, through the same intake service.

    desk submit --name 张三 --phone 13800000000 --order SF1234567890 "生鲜水果到货时已腐烂"
    echo "My parcel is late" | desk submit --name Ann --email ann@example.com --order X1 --locale en -

Prints the complaint number, status link, tier and promised times (or JSON with --json). Exit code 0 when
filed or joined, 1 when refused (the fields and reasons are printed), 2 when Temporal cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import asyncpg
from rich.console import Console

from core.settings import Settings
from domain.models import Category, Channel, ComplaintType, Locale
from starters.errors import IntakeError, IntakeUnavailable
from starters.intake import IntakeResult, IntakeService, parse_request


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `desk submit`; the CLI calls `submit(parser.parse_args(...), settings)`."""
    parser.add_argument("description", help="the customer's words; '-' reads them from standard input")
    parser.add_argument("--name", required=True, help="customer name")
    parser.add_argument("--phone", help="customer phone")
    parser.add_argument("--email", help="customer e-mail")
    parser.add_argument("--locale", choices=[x.value for x in Locale], default=Locale.ZH_CN.value)
    parser.add_argument("--customer-type", default="individual", help="individual, business or vip")
    parser.add_argument("--region")
    parser.add_argument("--channel", choices=[x.value for x in Channel], default=Channel.HOTLINE.value)
    parser.add_argument("--order", dest="order_number", help="order or waybill number")
    parser.add_argument("--product")
    parser.add_argument("--subject")
    parser.add_argument(
        "--category", choices=[x.value for x in Category], help="default: the classifier decides"
    )
    parser.add_argument("--type", dest="complaint_type", choices=[x.value for x in ComplaintType])
    parser.add_argument("--policy", default="standard")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _get(args: Any, name: str, default: Any = None) -> Any:
    if isinstance(args, dict):
        return args.get(name, default)
    return getattr(args, name, default)


def args_to_data(args: Any, stdin=None) -> dict[str, Any]:
    description = _get(args, "description") or ""
    if description == "-":
        description = (stdin or sys.stdin).read()
    customer = {
        "name": _get(args, "name") or "",
        "phone": _get(args, "phone"),
        "email": _get(args, "email"),
        "locale": _get(args, "locale") or Locale.ZH_CN.value,
        "customer_type": _get(args, "customer_type") or "individual",
        "region": _get(args, "region"),
    }
    return {
        "channel": _get(args, "channel") or Channel.HOTLINE.value,
        "customer": customer,
        "description": description,
        "order_number": _get(args, "order_number"),
        "product": _get(args, "product"),
        "subject": _get(args, "subject"),
        "category": _get(args, "category"),
        "complaint_type": _get(args, "complaint_type"),
        "policy": _get(args, "policy") or "standard",
    }


async def submit_with(service: IntakeService, args: Any, stdin=None) -> IntakeResult:
    req = parse_request(args_to_data(args, stdin))
    taken = await service.take(req, source="cli")
    assert taken.result is not None
    return taken.result


def print_result(result: IntakeResult, console: Console, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))  # plain: for scripts
        return
    head = "joined open complaint" if result.joined else "filed"
    console.print(f"[bold]{head}[/bold] {result.complaint_id}")
    console.print(
        f"  tier:           {result.tier.value} ({result.complaint_type.value}, {result.category.value})"
    )
    if result.status_url:
        console.print(f"  status link:    {result.status_url}")
    if result.first_response_by:
        console.print(f"  first response: {result.first_response_by.isoformat()}")
    if result.resolution_by:
        console.print(f"  resolution by:  {result.resolution_by.isoformat()}")


async def submit_async(args: Any, settings: Settings) -> IntakeResult:
    from core.db import create_pool
    from core.temporal import connect
    from ledger.schema import migrate

    client = await connect(settings)
    pool = None
    if settings.database_url:
        await migrate(settings.database_url)
        pool = await create_pool(settings.database_url, max_size=2)
    try:
        return await submit_with(IntakeService(client, settings, pool=pool), args)
    finally:
        if pool is not None:
            await pool.close()


def submit(args: Any, settings: Settings) -> int:
    """`desk submit ...` (args: the argparse Namespace from `add_arguments`, or a dict with the same keys)."""
    out, err = Console(), Console(stderr=True)
    try:
        result = asyncio.run(submit_async(args, settings))
    except IntakeUnavailable as e:
        err.print(f"[red]complaint system unavailable:[/red] {e}")
        return 2
    except IntakeError as e:
        err.print(f"[red]{e.error}[/red]")
        for f in e.fields:
            err.print(f"  {f.field}: {f.reason}")
        return 1
    except RuntimeError as e:  # the SDK's connection failure
        err.print(f"[red]cannot reach Temporal at {settings.temporal_address}:[/red] {e}")
        return 2
    except (OSError, asyncpg.PostgresError) as e:
        err.print(f"[red]cannot open the database (DESK_DATABASE_URL):[/red] {e}")
        return 2
    print_result(result, out, as_json=bool(_get(args, "json", False)))
    return 0
