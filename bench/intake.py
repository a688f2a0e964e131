"""Intake throughput: complaints filed through the HTTP API (`POST /api/v1/complaints`, `X-API-Key`) of the
real web app (`python -m desk web`) on 127.0.0.1, a bounded number of requests in flight.

For each complaint: *to a started workflow* = request sent → `201 Created` (intake answers once Temporal has
recorded the start; a report that joins an open complaint waits for that workflow's answer); *to the
confirmation* = request sent → the first delivery of the customer's confirmation marked sent in the
notification outbox (the same machine's clock, PostgreSQL's `now()`). CPU seconds per part are taken for the
accepting phase and until every confirmation went out: when the worker takes complaints more slowly than
intake accepts them, the confirmations queue behind it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.lateness import require, settled
from bench.progress import Progress
from bench.stats import percentile, summary


def _body(i: int) -> dict:
    # A different customer each time, so no report joins another (same customer + order + issue).
    return {
        "channel": "api",
        "customer": {
            "name": f"客户{i}",
            "phone": f"+86139{i:08d}",
            "email": f"c{i}@example.com",
            "locale": "zh-CN",
        },
        "description": f"发票抬头开错了,请重新开具 (bench {i})",
        "policy": "standard",
    }


def _quantiles(vals: list[float]) -> list[float]:
    return [round(percentile(vals, q / 2), 4) for q in range(201)] if vals else []


async def run(count: int, concurrency: int, workdir: Path, progress: Progress) -> dict:
    require("starters.api", "workflows.registry", "activities.registry", "standins.http", "workers.main")
    import httpx

    from bench.product import Product
    from ledger.api_keys import create_api_key

    product = Product(workdir, env={"DESK_LOG_LEVEL": "WARNING"})
    await product.start(worker=True, web=True)
    try:
        assert product.pool is not None
        key = await create_api_key(product.pool, "bench", rate_per_minute=10_000_000, burst=1_000_000)
        url = f"http://127.0.0.1:{product.web_port}/api/v1/complaints"
        sem = asyncio.Semaphore(concurrency)
        sent_at: dict[str, datetime] = {}
        started_s: list[float] = []
        errors: dict[str, int] = {}
        warm = min(10, count)
        task = progress.add(f"intake: {count} complaints, {concurrency} in flight", count + warm)

        async with httpx.AsyncClient(
            headers={"X-API-Key": key}, timeout=60, limits=httpx.Limits(max_connections=concurrency)
        ) as http:

            async def one(i: int) -> None:
                try:
                    async with sem:
                        t_wall = datetime.now(UTC)
                        t0 = time.perf_counter()
                        r = await http.post(url, json=_body(i))
                        elapsed = time.perf_counter() - t0
                    if r.status_code == 201:
                        started_s.append(elapsed)
                        sent_at[r.json()["complaint_id"]] = t_wall
                    else:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                except httpx.HTTPError as e:
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                finally:
                    progress.advance(task)

            # Warm-up outside the measurement: first requests pay for imports and connection set-up.
            for i in range(warm):
                await one(count + i)
            sent_at.clear()
            started_s.clear()
            errors.clear()
            cpu0 = product.cpu_seconds()
            t_start = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(count)))
            wall = time.perf_counter() - t_start
            cpu1 = product.cpu_seconds()
        progress.done(task)

        task = progress.add("intake: wait for the confirmations", None)
        await settled(product, complaints=len(sent_at), timeout=max(120.0, count * 0.5))
        cpu2 = product.cpu_seconds()
        settled_s = time.perf_counter() - t_start
        progress.done(task)
        rows = await product.pool.fetch(
            "SELECT complaint_id, min(sent_at) AS first, max(sent_at) AS last, count(*) AS n FROM notifications"
            " WHERE notification_key LIKE '%:confirmation' AND status = 'sent' GROUP BY complaint_id"
        )
        first = [
            (r["first"] - sent_at[r["complaint_id"]]).total_seconds()
            for r in rows
            if r["complaint_id"] in sent_at
        ]
        last = [
            (r["last"] - sent_at[r["complaint_id"]]).total_seconds()
            for r in rows
            if r["complaint_id"] in sent_at
        ]
        return {
            "method": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
            "count": count,
            "concurrency": concurrency,
            "accepted": len(started_s),
            "errors": sum(errors.values()),
            "errors_by_kind": errors,
            "wall_seconds": round(wall, 2),
            "accepted_per_s": round(len(started_s) / wall, 2) if wall else None,
            "started_s": summary(started_s),
            "confirmation_s": summary(first),
            "confirmation_all_channels_s": summary(last),
            "confirmations": len(first),
            "until_settled_seconds": round(settled_s, 2),
            "cpu_seconds": {
                "accepting": {k: round(cpu1[k] - cpu0[k], 2) for k in cpu0},
                "until_settled": {k: round(cpu2[k] - cpu0[k], 2) for k in cpu0},
            },
            "started_quantiles": _quantiles(started_s),
            "confirmation_quantiles": _quantiles(first),
            "notes": [
                "the web app is one uvicorn process; the worker, dev server, PostgreSQL and this client share the machine",
            ],
        }
    finally:
        await product.stop()
