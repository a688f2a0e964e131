"""A carrier simulator: realistic, deterministic logistics trails generated from the waybill number.

Served over HTTP by `standins/http.py` at `/carrier-sim/waybills/{waybill}` in the format
`activities/tracking.py` reads. The same waybill and day always give the same trail; the parcel moves on as
the day goes by (events after `now` are not shown yet).

Waybills are 2–3 capital letters then 9–13 digits (e.g. `SF1234567896`). The last digit picks the story:

| last digit | story |
|---|---|
| 1 | long stop: stuck at the transit hub for days (anomaly `long_stop`) |
| 2 | missed scan: delivered, but the transit hub never scanned it (`missed_scan`) |
| 3 | route deviation: sent through a hub off its route (`route_deviation`) |
| 4, 5 | delivered normally |
| 0, 6–9 | shipped yesterday, on its way (in transit or out for delivery) |

Digits ending in `000`, and anything not shaped like a waybill, are unknown (404). Prefix `ER` simulates a
carrier outage (503).
"""

from __future__ import annotations

import hashlib
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

CARRIER_ZONE = ZoneInfo("Asia/Shanghai")
WAYBILL = re.compile(r"^([A-Z]{2,3})(\d{9,13})$")

CITIES: dict[str, tuple[float, float]] = {
    "上海": (31.2304, 121.4737),
    "杭州": (30.2741, 120.1551),
    "南京": (32.0603, 118.7969),
    "苏州": (31.2990, 120.5853),
    "合肥": (31.8206, 117.2272),
    "武汉": (30.5928, 114.3055),
    "长沙": (28.2282, 112.9388),
    "广州": (23.1291, 113.2644),
    "深圳": (22.5431, 114.0579),
    "北京": (39.9042, 116.4074),
    "天津": (39.3434, 117.3616),
    "济南": (36.6512, 117.1201),
    "郑州": (34.7466, 113.6254),
    "成都": (30.5728, 104.0668),
    "重庆": (29.5630, 106.5516),
    "西安": (34.3416, 108.9398),
}
DISTRICTS = ("高新区", "经开区", "城东", "城西", "城南", "城北", "新城", "开发区")
CARRIERS = {
    "SF": "顺丰速运",
    "YT": "圆通速递",
    "ZT": "中通快递",
    "JD": "京东物流",
    "YD": "韵达速递",
    "EMS": "中国邮政EMS",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "秀英",
    "建华",
    "志强",
)
GOODS = ("生鲜水果", "电子产品", "服装", "图书", "家居用品", "冷冻海鲜", "化妆品", "办公用品")

DESCRIPTIONS = {
    "picked_up": "快件已由{handler}揽收",
    "departed": "快件已从{place}发出",
    "arrived": "快件已到达{place}",
    "out_for_delivery": "快件交给{handler}，正在派送途中",
    "delivered": "快件已签收，签收人：本人",
}


def scenario_for(waybill: str) -> str:
    match = WAYBILL.match(waybill)
    if not match:
        return "unknown"
    prefix, digits = match.groups()
    if prefix == "ER":
        return "outage"
    if digits.endswith("000"):
        return "unknown"
    return {
        "1": "long_stop",
        "2": "missed_scan",
        "3": "route_deviation",
        "4": "delivered",
        "5": "delivered",
    }.get(digits[-1], "in_transit")


def _person(r: random.Random) -> str:
    return r.choice(SURNAMES) + r.choice(GIVEN)


def _near(r: random.Random, city: str) -> tuple[float, float]:
    lat, lon = CITIES[city]
    return round(lat + r.uniform(-0.08, 0.08), 5), round(lon + r.uniform(-0.08, 0.08), 5)


def generate_trail(waybill: str, now: datetime) -> dict[str, Any] | None:
    """The carrier's answer for `waybill` as seen at `now`; None when the waybill is unknown."""
    story = scenario_for(waybill)
    if story in ("unknown", "outage"):
        return None
    r = random.Random(int.from_bytes(hashlib.sha256(waybill.encode()).digest()[:8], "big"))
    origin, transit, destination, detour = r.sample(sorted(CITIES), 4)
    origin_station = f"{origin}{r.choice(DISTRICTS)}营业部"
    destination_station = f"{destination}{r.choice(DISTRICTS)}营业部"
    route = [
        origin_station,
        f"{origin}转运中心",
        f"{transit}转运中心",
        f"{destination}转运中心",
        destination_station,
    ]
    courier = {
        "name": _person(r),
        "phone": f"1{r.randint(30, 89)}****{r.randint(1000, 9999)}",
        "station": destination_station,
    }

    # When it was shipped, relative to the start of today in the carrier's zone.
    today = now.astimezone(CARRIER_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    # Finished stories start 4 days back so that even the slowest trail (about 3 days) is complete by now.
    days_back = 1 if story == "in_transit" else 4
    clock = today - timedelta(days=days_back) + timedelta(hours=r.randint(8, 17), minutes=r.randint(0, 59))

    stops = list(route)
    if story == "route_deviation":  # a wrong turn between the transit hub and the destination hub
        stops.insert(3, f"{detour}转运中心")
    plan: list[tuple[str, str, str | None]] = [
        ("picked_up", stops[0], _person(r)),
        ("departed", stops[0], None),
    ]
    for hub in stops[1:-1]:
        plan += [("arrived", hub, None), ("departed", hub, None)]
    plan += [
        ("arrived", stops[-1], None),
        ("out_for_delivery", stops[-1], courier["name"]),
        ("delivered", stops[-1], courier["name"]),
    ]
    if story == "missed_scan":  # the transit hub never scanned it
        plan = [step for step in plan if step[1] != route[2]]
    if story == "long_stop":  # stuck after arriving at the transit hub
        cut = next(i for i, step in enumerate(plan) if step[0] == "arrived" and step[1] == route[2])
        plan = plan[: cut + 1]

    events: list[dict[str, Any]] = []
    for status, place, handler in plan:
        city = place[:2]
        lat, lon = _near(r, city)
        handler = handler or _person(r)
        events.append(
            {
                "time": clock.isoformat(),
                "place": place,
                "status": status,
                "handler": handler,
                "description": DESCRIPTIONS[status].format(place=place, handler=handler),
                "lat": lat,
                "lon": lon,
            }
        )
        clock += timedelta(minutes=r.randint(60, 180) if status == "arrived" else r.randint(180, 420))
    events = [e for e in events if datetime.fromisoformat(e["time"]) <= now]

    last = events[-1] if events else None
    status = (
        {"arrived": "in_transit", "departed": "in_transit"}.get(last["status"], last["status"])
        if last
        else "created"
    )
    return {
        "waybill": waybill,
        "carrier": CARRIERS.get(WAYBILL.match(waybill).group(1), "演示快递"),
        "status": status,
        "route": route,
        "events": events,
        "last_position": {"lat": last["lat"], "lon": last["lon"], "at": last["time"]} if last else None,
        "courier": courier if last and last["status"] in ("out_for_delivery", "delivered") else None,
        "e_waybill": {
            "sender": {"name": r.choice(SURNAMES) + "*", "city": origin},
            "receiver": {"name": r.choice(SURNAMES) + "*", "city": destination},
            "goods": r.choice(GOODS),
            "pieces": r.randint(1, 3),
            "weight_kg": round(r.uniform(0.3, 25.0), 1),
            "declared_value": r.choice((0, 200, 500, 1000, 3000, 8000)),
            "service": r.choice(("标准快递", "特快", "冷链专送")),
        },
        "generated_at": now.astimezone(UTC).isoformat(),
    }
