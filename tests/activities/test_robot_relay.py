"""The robot relay against the real stand-ins and PostgreSQL: robot messages of many steps go out paced, as
one message or one digest, within the robots' limit of messages a minute, and nothing is lost."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

from temporalio.testing import ActivityEnvironment

from activities.notifications.channels import WeComRobotChannel
from activities.notifications.notifier import Notifier
from activities.notifications.robot_relay import RobotRelay
from activities.notifications.routing import ROBOTS, RoutingConfig
from activities.notifications.templates import render_digest
from activities.registry import build_channels
from domain.messages import Audience, Notification, TemplateKey
from domain.models import Locale, Role
from standins.http import create_standins_app, serve

BASE = "https://desk.example.com"


def breach(i: int) -> Notification:
    return Notification(
        idempotency_key=f"C-{i}/breach/first_response/1",
        complaint_id=f"C-{i}",
        template=TemplateKey.BREACH,
        audience=Audience.STAFF,
        roles=[Role.SUPERVISOR],
        context={"obligation": "first_response", "due_at": "2026-03-02T01:05:00Z"},
    )


def relay_for(standins, http, **kwargs) -> tuple[RobotRelay, Notifier]:
    relay = RobotRelay(standins.pool, public_base_url=BASE, **kwargs)
    channels = build_channels(standins.settings(), http)
    relay.attach({name: channels[name] for name in ROBOTS})
    return relay, Notifier(standins.pool, channels, RoutingConfig(), public_base_url=BASE, relay=relay)


async def robot_rows(pool) -> list:
    return await pool.fetch(
        "SELECT * FROM notifications WHERE channel = ANY($1::text[]) ORDER BY id", list(ROBOTS)
    )


async def settled(pool, timeout: float = 20.0) -> list:
    for _ in range(int(timeout / 0.1)):
        rows = await robot_rows(pool)
        if rows and all(r["status"] in ("sent", "rejected") for r in rows):
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"robot rows not settled: {[(r['idempotency_key'], r['status']) for r in rows]}")


async def test_the_shared_budget_never_lets_a_minute_hold_more_than_the_limit_and_never_goes_silent(standins):
    relay = RobotRelay(standins.pool, per_minute=20)
    await insert_waiting(standins.pool, "K-1", "C-1")  # stays waiting: every turn may be taken
    start = datetime(2030, 1, 1, tzinfo=UTC)
    now, sends = 0.0, []
    for step in range(120):  # a storm, with a quiet spell in the middle
        if step == 60:
            now += 600
        while (wait := await relay.take_turn("wecom", start + timedelta(seconds=now))) != 0:
            now += wait
        sends.append(now)
    assert sends[:5] == [0.0] * 5 and sends[60:65] == [sends[60]] * 5  # a short burst waits for nothing
    for i, t in enumerate(sends):  # any window of 60 s
        assert sum(1 for u in sends[i:] if u < t + 60) <= 20
    gaps = [b - a for a, b in zip(sends[5:59], sends[6:60], strict=True)]
    assert max(gaps) < 4.2  # a long storm gets a message every ~4 s, not a burst and then a silent minute
    await standins.pool.execute("DELETE FROM notifications")
    assert await relay.take_turn("wecom", start + timedelta(seconds=now + 600)) is None  # nothing waits


def test_a_digest_lists_what_fits_and_counts_the_rest():
    items = [(f"【已超时】投诉 C-{i} 首次响应", f"{BASE}/staff/complaints/C-{i}") for i in range(200)]
    subject, body = render_digest(Locale.ZH_CN, items, limit=20, desk_url=f"{BASE}/staff", max_bytes=4000)
    assert subject == "200 条提醒" and len(body.encode()) <= 4000
    listed = re.findall(r"staff/complaints/(C-\d+)\)", body)
    more = int(re.search(r"另有 (\d+) 条", body).group(1))
    assert listed == [f"C-{i}" for i in range(len(listed))] and len(listed) + more == 200
    _, english = render_digest(Locale.EN, items[:2], limit=20, desk_url=f"{BASE}/staff", max_bytes=4000)
    assert "at most 20 messages a minute" in english and "more" not in english.split("\n")[-1]


async def test_a_burst_of_breaches_reaches_each_robot_within_its_limit_as_digests(standins, http):
    relay, notifier = relay_for(standins, http)
    steps = asyncio.Semaphore(2)  # the stand-ins store what they receive through the same small pool

    async def step(i: int):
        async with steps:
            return await ActivityEnvironment().run(notifier.notify, breach(i))

    async with relay.running():
        results = await asyncio.gather(*(step(i) for i in range(60)))
        assert all(r.delivered == ["email"] for r in results)  # the robots' part is the relay's
        rows = await settled(standins.pool, timeout=30)
    assert len(rows) == 120 and {r["status"] for r in rows} == {"sent"}
    assert all(r["attempts"] == 1 for r in rows)  # no robot refused: the pace kept within the limit
    for robot in ROBOTS:
        sink = await standins.sink(channel=robot)
        assert 1 < len(sink) <= 11  # 60 alerts: half the minute's 20 at once, then a digest
        told = 0
        for message in sink:
            body = json.loads(message["payload"])["markdown"]
            text = body.get("content") or body.get("text")
            if more := re.search(r"另有 (\d+) 条", text):
                told += int(more.group(1))
            told += len(set(re.findall(r"staff/complaints/C-\d+", text)))
        assert told == 60  # every breach named or counted once, in some message


async def test_two_worker_processes_share_each_robot_s_limit(standins, http):
    (one, first), (two, second) = relay_for(standins, http), relay_for(standins, http)
    steps = asyncio.Semaphore(2)

    async def step(notifier: Notifier, i: int):
        async with steps:
            return await ActivityEnvironment().run(notifier.notify, breach(i))

    async with serve(create_standins_app(standins.pool, robot_limit_per_minute=20)) as strict:
        for relay in (one, two):  # both processes' robots are the same strict pair
            relay.attach(
                {
                    "wecom": WeComRobotChannel(http, f"{strict}/sink/wecom/cgi-bin/webhook/send?key=g"),
                    "dingtalk": WeComRobotChannel(http, f"{strict}/sink/wecom/cgi-bin/webhook/send?key=h"),
                }
            )
        async with one.running(), two.running():
            await asyncio.gather(*(step(first if i % 2 else second, i) for i in range(80)))
            rows = await settled(standins.pool, timeout=30)
    assert {r["status"] for r in rows} == {"sent"} and all(r["attempts"] == 1 for r in rows)  # none refused
    assert len(rows) == 160
    for group in ("group:g", "group:h"):  # one budget: a burst of 5, then one per 4 s — not one per process
        sent = await standins.pool.fetchval("SELECT count(*) FROM sink_messages WHERE recipient = $1", group)
        assert 1 < sent <= 7


async def test_rows_left_by_a_dead_process_are_sent_by_the_next_relay(standins, http):
    relay, notifier = relay_for(standins, http)  # not running: as if the process died after the step
    await ActivityEnvironment().run(notifier.notify, breach(1))
    await ActivityEnvironment().run(notifier.notify, breach(2))
    await standins.pool.execute(  # one was being sent when it died, three minutes ago
        "UPDATE notifications SET status = 'sending', updated_at = now() - interval '3 minutes'"
        " WHERE idempotency_key = 'C-1/breach/first_response/1/wecom/group'"
    )
    assert {r["status"] for r in await robot_rows(standins.pool)} == {"queued", "sending"}
    fresh, _ = relay_for(standins, http)
    async with fresh.running():  # its first sweep finds them, without a wake
        rows = await settled(standins.pool)
    assert {r["status"] for r in rows} == {"sent"}
    assert len(await standins.sink(channel="wecom")) >= 1


async def test_a_robot_over_its_limit_is_retried_after_a_pause_and_a_bad_key_is_rejected(standins, http):
    async with serve(create_standins_app(standins.pool, robot_limit_per_minute=1)) as strict:
        relay = RobotRelay(standins.pool, per_minute=0, public_base_url=BASE, limited_pause_s=0.5)
        wecom = WeComRobotChannel(http, f"{strict}/sink/wecom/cgi-bin/webhook/send?key=g")
        bad = WeComRobotChannel(http, f"{strict}/sink/wecom/cgi-bin/webhook/send?key=")
        relay.attach({"wecom": wecom})
        for i in (1, 2):
            await insert_waiting(standins.pool, f"K-{i}", f"C-{i}")
            assert await relay.send_waiting("wecom") == 1
        rows = {r["idempotency_key"]: r for r in await robot_rows(standins.pool)}
        assert rows["K-1"]["status"] == "sent"
        assert rows["K-2"]["status"] == "failed" and "45009" in rows["K-2"]["error"]

        relay.attach({"wecom": bad})
        await insert_waiting(standins.pool, "K-3", "C-3")
        await relay.send_waiting("wecom")  # waits out the pause; K-2 and K-3 go as one digest, refused
        rows = {r["idempotency_key"]: r for r in await robot_rows(standins.pool)}
        assert rows["K-2"]["status"] == rows["K-3"]["status"] == "rejected"
        assert "93000" in rows["K-3"]["error"]


async def insert_waiting(pool, key: str, complaint_id: str) -> None:
    await pool.execute(
        "INSERT INTO notifications (idempotency_key, notification_key, complaint_id, template, audience,"
        " locale, channel, recipient, subject, body)"
        " VALUES ($1, $1, $2, 'breach', 'staff', 'zh-CN', 'wecom', 'group', $3, $4)",
        key,
        complaint_id,
        f"【已超时】投诉 {complaint_id}",
        f"### 【已超时】投诉 {complaint_id}",
    )
