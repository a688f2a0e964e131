"""Search benchmark: seed N complaints (default 100,000) into a fresh ledger, then time a mix of searches.

    python -m bench.search                 # 100,000 complaints, 3 rounds of the query mix
    python -m bench.search --n 20000 --rounds 5 --json bench/results/search.json

Its own embedded PostgreSQL in a temporary folder (never `desk up`'s data); every migration applied, rows
written with COPY (the ledger's own columns; the search columns are the migration's generated ones), three
timeline entries per complaint of which one is a staff note, a quarter of the complaints closed. Each query
of the mix runs through `LedgerSearch.search`, the call the staff UI makes, one at a time on a warm pool;
the figures are wall-clock milliseconds per call, p50 / p95 per kind and over the whole mix.
Target (issue 16): p95 ≤ 200 ms at 100,000 complaints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import string
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench.processes import Postgres
from bench.stats import percentile
from domain.models import Category, Channel, ComplaintType, Department, State, Tier
from domain.view import ComplaintView
from ledger.schema import migrate
from ledger.search import LedgerSearch, SearchQuery

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞波辉宁建国庆文"
EN_FIRST = ["James", "Mary", "John", "Linda", "David", "Susan", "Peter", "Emma", "Oliver", "Sophia"]
EN_LAST = ["Smith", "Brown", "Taylor", "Wilson", "Johnson", "Lee", "Walker", "Green", "Clark", "Hall"]
ZH_ISSUES = [
    "包裹到货时外箱破损，里面的花瓶碎了",
    "快递延误三天仍未送达，物流信息一直没有更新",
    "收到的商品与订单不符，颜色和尺寸都错了",
    "生鲜冷链运输变质，到手时已经有异味",
    "派送员态度恶劣，没有打电话就把包裹放在门口",
    "发票抬头开错了，需要重新开具增值税专用发票",
    "打印机卡纸，换了纸还是不行",
    "退款申请提交一周了还没有到账",
    "包裹显示已签收但本人没有收到，怀疑丢件",
    "安装师傅迟到两个小时，也没有提前通知",
]
EN_ISSUES = [
    "The parcel arrived damaged and the vase inside was broken",
    "Delivery is three days late and tracking has not moved",
    "Wrong item received, colour and size do not match the order",
    "Refund requested a week ago and still not received",
    "Courier left the parcel at the door without calling",
]
NOTES = [
    "客户婚宴明天用，优先处理",
    "已联系仓库核实出库记录",
    "客户要求上门取件，已约明天上午",
    "Customer prefers e-mail, do not call after 6pm",
    "已申请补发，等待物流部确认",
    "客户情绪激动，注意沟通方式",
]
STATES_OPEN = [
    State.RECEIVED,
    State.ACKNOWLEDGED,
    State.ASSIGNED,
    State.IN_PROGRESS,
    State.WAITING_ON_CUSTOMER,
]
STAFF = ["zhang", "li", "wang", "liu", "chen", "zhao"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)

COMPLAINT_COLUMNS = (
    "complaint_id", "workflow_id", "status_token", "policy", "state", "tier", "complaint_type", "category",
    "channel", "customer_type", "region", "order_number", "departments", "assignees", "holder_id",
    "holder_role", "received_at", "next_due", "next_due_at", "breach_count", "reopen_count", "closed_at",
    "view",
)  # fmt: skip
EVENT_COLUMNS = (
    "event_id",
    "complaint_id",
    "at",
    "kind",
    "actor_id",
    "actor_role",
    "actor_name",
    "text",
    "data",
)


def _complaint(i: int, rnd: random.Random) -> tuple[dict, tuple, list[tuple]]:
    """One complaint's view, its ledger row and its timeline rows."""
    cid = f"C-{(T0 + timedelta(minutes=i * 5)):%Y%m%d}-" + "".join(
        rnd.choices(string.ascii_uppercase + string.digits, k=6)
    )
    received = T0 + timedelta(minutes=i * 5, seconds=rnd.randrange(300))
    english = rnd.random() < 0.2
    if english:
        name = f"{rnd.choice(EN_FIRST)} {rnd.choice(EN_LAST)}"
        description = f"{rnd.choice(EN_ISSUES)}. Order placed {rnd.randrange(1, 28)} days ago."
    else:
        name = rnd.choice(SURNAMES) + "".join(rnd.choices(GIVEN, k=rnd.choice((1, 2))))
        description = f"{rnd.choice(ZH_ISSUES)}，{rnd.choice(ZH_ISSUES)}。"
    phone = f"+861{rnd.choice('3578')}{rnd.randrange(10**9):09d}"
    email = f"user{i}@example.{rnd.choice(('com', 'cn', 'net'))}"
    order = f"SF{rnd.randrange(10**12):012d}" if rnd.random() < 0.8 else None
    closed = rnd.random() < 0.25
    state = State.CLOSED if closed else rnd.choice(STATES_OPEN)
    tier = rnd.choices([Tier.GENERAL, Tier.IMPORTANT, Tier.URGENT], weights=[80, 15, 5])[0]
    holder = rnd.choice(STAFF) if state != State.RECEIVED else None
    departments = [
        rnd.choice([Department.WAREHOUSE, Department.TRANSPORT, Department.DELIVERY, Department.TECHNICAL])
    ]
    channel = rnd.choice(list(Channel))
    category = rnd.choice(list(Category))
    due = None if closed else received + timedelta(hours=rnd.randrange(1, 48))
    closed_at = received + timedelta(hours=rnd.randrange(2, 72)) if closed else None
    view = {
        "complaint_id": cid,
        "workflow_id": f"complaint-{cid}",
        "status_token": f"tok-{i}-{rnd.randrange(10**12)}",
        "policy": "standard",
        "state": state.value,
        "tier": tier.value,
        "complaint_type": ComplaintType.COMPLAINT.value,
        "category": category.value,
        "channel": channel.value,
        "customer": {"name": name, "phone": phone, "email": email, "locale": "en" if english else "zh-CN",
                     "customer_type": "individual", "region": "上海"},
        "subject": description[:20],
        "description": description,
        "order_number": order,
        "received_at": received.isoformat(),
        "holder": {"id": holder, "role": "specialist", "name": holder} if holder else None,
        "departments": [d.value for d in departments],
        "assignees": [holder] if holder else [],
        "next_due": "resolution" if due else None,
        "next_due_at": due.isoformat() if due else None,
        "closed_at": closed_at.isoformat() if closed_at else None,
    }  # fmt: skip
    row = (
        cid, f"complaint-{cid}", view["status_token"], "standard", state.value, tier.value,
        ComplaintType.COMPLAINT.value, category.value, channel.value, "individual", "上海", order,
        [d.value for d in departments], view["assignees"], holder, "specialist", received,
        view["next_due"], due, int(rnd.random() < 0.1), 0, closed_at, json.dumps(view, ensure_ascii=False),
    )  # fmt: skip
    actor = holder or "zhang"
    events = [
        (f"{cid}-00001", cid, received, "received", "system", "system", "system", "complaint received", "{}"),
        (f"{cid}-00002", cid, received + timedelta(minutes=3), "acknowledged", actor, "specialist", actor,
         "您好，已收到您的投诉，我们会尽快处理", "{}"),
        (f"{cid}-00003", cid, received + timedelta(minutes=20), "note", actor, "specialist", actor,
         rnd.choice(NOTES), "{}"),
    ]  # fmt: skip
    return view, row, events


async def seed(pool: asyncpg.Pool, n: int, seed_value: int = 16) -> dict[str, list[str]]:
    """Write n complaints with COPY; returns samples of real values to search for."""
    rnd = random.Random(seed_value)
    samples: dict[str, list[str]] = {"id": [], "phone": [], "email": [], "name": [], "order": []}
    ComplaintView.model_validate(_complaint(0, random.Random(0))[0])  # the seeded view is a real view
    batch = 5000
    for start in range(0, n, batch):
        rows, events = [], []
        for i in range(start, min(n, start + batch)):
            view, row, evs = _complaint(i, rnd)
            rows.append(row)
            events.extend(evs)
            if rnd.random() < 0.002:
                samples["id"].append(view["complaint_id"])
                samples["phone"].append(view["customer"]["phone"])
                samples["email"].append(view["customer"]["email"])
                samples["name"].append(view["customer"]["name"])
                if view["order_number"]:
                    samples["order"].append(view["order_number"])
        async with pool.acquire() as conn:
            await conn.copy_records_to_table("complaints", records=rows, columns=COMPLAINT_COLUMNS)
            await conn.copy_records_to_table("timeline_events", records=events, columns=EVENT_COLUMNS)
    await pool.execute("VACUUM ANALYZE complaints")
    await pool.execute("VACUUM ANALYZE timeline_events")
    await pool.execute("VACUUM ANALYZE complaint_search")
    return samples


def query_mix(samples: dict[str, list[str]], rnd: random.Random) -> list[tuple[str, SearchQuery]]:
    """(kind, query) pairs: what a help desk types in a day, with and without filters."""
    pick = rnd.choice
    cid = pick(samples["id"])
    phone = pick(samples["phone"])
    mix = [
        ("number exact", SearchQuery(q=cid)),
        ("number partial", SearchQuery(q=cid[-6:])),
        ("phone full", SearchQuery(q=phone)),
        ("phone +86 spaced", SearchQuery(q=f"+86 {phone[3:6]} {phone[6:10]} {phone[10:]}")),
        ("phone last 4", SearchQuery(q=phone[-4:])),
        ("email", SearchQuery(q=pick(samples["email"]))),
        ("email partial", SearchQuery(q=pick(samples["email"]).split("@")[0])),
        ("name zh", SearchQuery(q=pick([n for n in samples["name"] if not n.isascii()]))),
        ("name en", SearchQuery(q=pick([n for n in samples["name"] if n.isascii()] or ["Smith"]))),
        ("waybill", SearchQuery(q=pick(samples["order"]))),
        ("waybill partial", SearchQuery(q=pick(samples["order"])[-8:])),
        ("words zh 2 chars", SearchQuery(q=pick(["花瓶", "破损", "退款", "发票", "丢件"]))),
        ("words zh long", SearchQuery(q=pick(["外箱破损", "物流信息一直没有更新", "冷链运输变质"]))),
        ("words en", SearchQuery(q=pick(["vase broken", "refund", "tracking"]))),
        ("note words", SearchQuery(q=pick(["婚宴", "上门取件", "do not call"]))),
        ("words + closed", SearchQuery(q=pick(["破损", "延误"]), status="closed")),
        ("words + urgent, newest", SearchQuery(q="包裹", tier=[Tier.URGENT], sort="newest")),
        ("filters only", SearchQuery(tier=[Tier.IMPORTANT], channel=Channel.EMAIL, sort="newest")),
        ("holder + dates", SearchQuery(person="zhang", received_from=T0 + timedelta(days=100),
                                       received_to=T0 + timedelta(days=130), sort="due")),
        ("department + state", SearchQuery(department=Department.WAREHOUSE, state=[State.IN_PROGRESS])),
    ]  # fmt: skip
    return mix


async def run(n: int, rounds: int, workdir: Path) -> dict:
    pg = Postgres(workdir / "pg")
    try:
        url = await pg.create_database("search_bench")
        await migrate(url)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
        try:
            t = time.perf_counter()
            samples = await seed(pool, n)
            seed_s = time.perf_counter() - t
            print(f"seeded {n:,} complaints in {seed_s:.1f} s", file=sys.stderr)
            search = LedgerSearch(pool)
            rnd = random.Random(7)
            for _, q in query_mix(samples, rnd):  # warm-up: caches and plans, not measured
                await search.search(q)
            by_kind: dict[str, list[float]] = {}
            hits: dict[str, int] = {}
            for _ in range(rounds):
                for kind, q in query_mix(samples, rnd):
                    t = time.perf_counter()
                    result = await search.search(q)
                    by_kind.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
                    hits[kind] = len(result.hits)
        finally:
            await pool.close()
    finally:
        pg.cleanup()
    every = [ms for v in by_kind.values() for ms in v]
    return {
        "n": n,
        "rounds": rounds,
        "seed_s": round(seed_s, 1),
        "p50_ms": round(percentile(every, 50), 1),
        "p95_ms": round(percentile(every, 95), 1),
        "max_ms": round(max(every), 1),
        "by_kind": {
            k: {"p50_ms": round(percentile(v, 50), 1), "p95_ms": round(percentile(v, 95), 1), "hits": hits[k]}
            for k, v in by_kind.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--n", type=int, default=100_000, help="complaints to seed (default 100,000)")
    p.add_argument("--rounds", type=int, default=3, help="times the query mix is run (default 3)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="desk-search-bench-") as tmp:
        result = asyncio.run(run(args.n, args.rounds, Path(tmp)))
    for kind, fig in result["by_kind"].items():
        print(f"  {kind:<26} p50 {fig['p50_ms']:7.1f} ms   p95 {fig['p95_ms']:7.1f} ms   hits {fig['hits']}")
    print(
        f"search at {result['n']:,} complaints: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms,"
        f" max {result['max_ms']} ms over {result['rounds']} rounds of {len(result['by_kind'])} queries"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
