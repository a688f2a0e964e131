"""What every fault test does around its fault: start complaints whose first-response clocks run out in
seconds, wait for the product to finish its work, and check that every due action happened exactly once.

"Exactly once" is checked where it matters, on three records that do not depend on each other:
- the workflow's ledger: one `sla_warning` and one `sla_breach` timeline event per complaint for the first
  response (event ids are deterministic, so a non-deterministic replay would show up as a second event);
- the notification outbox: every notification the rules call for has all its deliveries `sent`;
- the recipients (the sinks standing in for the providers): per complaint and channel, as many messages as
  the outbox sent — a resend under a new key, or a keyless resend, would be one more (a robot's digest
  counts once for each alert it names).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from activities.notifications.routing import ROBOTS
from bench.complaints import complaint_input, policy_with_window, start_complaint
from bench.product import Product

# Channels whose protocol carries our delivery key, so the receiving side collapses a resend.
KEYED = {"sms", "email", "push"}


def expected_keys(cid: str) -> list[str]:
    """Notifications the standard rules call for on a general complaint nobody answers within the first
    response window: confirmation and staff alert at intake, then the warning, breach and escalation."""
    return [
        f"{cid}:confirmation",
        f"{cid}:new_complaint",
        f"{cid}:warn:first_response:1",
        f"{cid}:breach:first_response:1",
        f"{cid}:escalation:first_response:1",
    ]


@dataclass
class Scenario:
    product: Product
    window: float  # first-response window, seconds (warning at 75 %)
    k: int
    channel: str = "api"
    t0: datetime = field(default_factory=lambda: datetime.now(UTC))
    cids: list[str] = field(default_factory=list)

    @property
    def warn_at(self) -> datetime:
        return self.t0 + timedelta(seconds=0.75 * self.window)

    @property
    def due_at(self) -> datetime:
        return self.t0 + timedelta(seconds=self.window)

    async def start(self) -> None:
        from domain.models import Channel

        assert self.product.client is not None
        policy = policy_with_window(self.window)
        tag = uuid.uuid4().hex[:6]
        self.t0 = datetime.now(UTC)
        self.cids = [f"F-{tag}-{i}" for i in range(self.k)]
        for cid in self.cids:
            ci = complaint_input(cid, self.t0).model_copy(update={"channel": Channel(self.channel)})
            await start_complaint(self.product.client, self.product.task_queue, ci, policy)

    def keys(self) -> list[str]:
        return [key for cid in self.cids for key in expected_keys(cid)]

    async def sleep_until(self, moment: datetime) -> None:
        delay = (moment - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


async def wait_for(check, *, timeout: float, what: str, every: float = 0.5):
    """Poll `check()` (async, returns a truthy value when done) until it is done; fail saying what."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = await check()
        except Exception as e:  # noqa: BLE001 - e.g. the database is still coming back
            last = e
        if last and not isinstance(last, Exception):
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


async def all_sent(product: Product, keys: list[str]) -> bool:
    """Every expected notification has deliveries, all sent, and nothing anywhere is still in flight."""
    assert product.pool is not None
    rows = await product.pool.fetch(
        "SELECT notification_key, status FROM notifications WHERE notification_key = ANY($1::text[])", keys
    )
    have = {r["notification_key"] for r in rows}
    pending = await product.pool.fetchval(
        "SELECT count(*) FROM notifications WHERE status IN ('queued', 'sending', 'failed')"
    )
    return have >= set(keys) and all(r["status"] == "sent" for r in rows) and pending == 0


@dataclass
class Checked:
    complaints: int = 0
    notifications: int = 0  # expected notification keys, all sent
    deliveries: int = 0  # outbox rows (notification × channel × recipient) compared with what arrived
    ledger_events: int = 0  # sla_warning / sla_breach events checked
    resends_collapsed: int = 0  # arrivals beyond the first of the same keyed message
    robot_repeats_in_crash_window: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        return (
            f"[faults] {name}: {self.complaints} complaints, {self.notifications} due notifications sent, "
            f"{self.deliveries} deliveries matched to what arrived, {self.ledger_events} ledger clock events; "
            f"{self.resends_collapsed} resends collapsed by key, {self.robot_repeats_in_crash_window} keyless "
            f"repeats inside the crash window; problems: {len(self.problems)}"
        )


async def check_exactly_once(
    product: Product,
    scenario: Scenario,
    *,
    crash_window: Counter | None = None,
    external: frozenset[str] = frozenset(),
) -> Checked:
    """The three records above; `crash_window` counts, per (complaint, channel), deliveries that were being
    sent when a worker died: a keyless channel (WeCom/DingTalk robots) may repeat those, and only those.
    Channels in `external` go to a provider outside the sinks; the caller checks those at the provider."""
    assert product.pool is not None
    c = Checked(complaints=len(scenario.cids))
    keys = scenario.keys()
    rows = await product.pool.fetch(
        "SELECT notification_key, status FROM notifications WHERE notification_key = ANY($1::text[])", keys
    )
    by_key: dict[str, list[str]] = {}
    for r in rows:
        by_key.setdefault(r["notification_key"], []).append(r["status"])
    for key in keys:
        statuses = by_key.get(key)
        if not statuses:
            c.problems.append(f"{key}: never sent")
        elif any(s != "sent" for s in statuses):
            c.problems.append(f"{key}: deliveries {statuses}")
        else:
            c.notifications += 1

    events = await product.pool.fetch(
        "SELECT complaint_id, kind, count(*) AS n FROM timeline_events"
        " WHERE complaint_id = ANY($1::text[]) AND obligation = 'first_response' AND kind IN ('sla_warning', 'sla_breach')"
        " AND coalesce((data->>'occurrence')::int, 1) = 1 GROUP BY complaint_id, kind",
        scenario.cids,
    )
    counts = {(r["complaint_id"], r["kind"]): r["n"] for r in events}
    for cid in scenario.cids:
        for kind in ("sla_warning", "sla_breach"):
            n = counts.get((cid, kind), 0)
            if n != 1:
                c.problems.append(f"{cid}: {n} {kind} events for first_response")
            else:
                c.ledger_events += 1

    sent = await product.pool.fetch(
        "SELECT complaint_id, channel, count(*) AS n FROM notifications"
        " WHERE complaint_id = ANY($1::text[]) AND status = 'sent' GROUP BY complaint_id, channel",
        scenario.cids,
    )
    arrived = await product.pool.fetch(
        "SELECT complaint_id, channel, count(*) AS n, sum(deliveries) AS arrivals FROM sink_messages"
        " WHERE complaint_id = ANY($1::text[]) GROUP BY complaint_id, channel",
        scenario.cids,
    )
    sent_n = {(r["complaint_id"], r["channel"]): r["n"] for r in sent}
    got = {(r["complaint_id"], r["channel"]): (r["n"], r["arrivals"]) for r in arrived}
    # A group robot gets what waits for it as one digest (activities/notifications/robot_relay.py): one
    # message naming several complaints, each by its staff link once per alert, and counting the alerts that
    # did not fit. Named alerts are checked per complaint below; the counted ones per robot, after.
    digests = await product.pool.fetch(
        "SELECT channel, body FROM sink_messages WHERE channel = ANY($1::text[])"
        " AND coalesce(complaint_id, '') = ''",
        list(ROBOTS),
    )
    counted: Counter = Counter()
    for d in digests:
        more = re.search(r"另有 (\d+) 条|(\d+) more, in the desk", d["body"])
        counted[d["channel"]] += int(next(g for g in more.groups() if g)) if more else 0
        for cid in scenario.cids:
            named = d["body"].count(f"/staff/complaints/{cid})")
            if named:
                n, arrivals = got.get((cid, d["channel"]), (0, 0))
                got[(cid, d["channel"])] = (n + named, arrivals + named)
    unnamed: Counter = Counter()
    for pair in sorted(set(sent_n) | set(got)):
        if pair[1] in external:
            continue
        n_sent = sent_n.get(pair, 0)
        n_got, arrivals = got.get(pair, (0, 0))
        c.resends_collapsed += int(arrivals) - n_got
        extra = n_got - n_sent
        allowed = (crash_window or Counter())[pair] if pair[1] not in KEYED else 0
        if extra < 0 and pair[1] in ROBOTS:
            unnamed[pair[1]] -= extra  # told, if a digest counted it (checked below)
        elif extra < 0:
            c.problems.append(f"{pair}: outbox sent {n_sent}, recipients got {n_got}")
        elif extra > allowed:
            c.problems.append(f"{pair}: recipients got {n_got} messages for {n_sent} deliveries")
        else:
            c.robot_repeats_in_crash_window += extra
            c.deliveries += n_sent
    for robot in sorted(set(unnamed) | set(counted)):
        if unnamed[robot] != counted[robot]:
            c.problems.append(
                f"{robot}: {unnamed[robot]} sent alerts not named in any message, {counted[robot]} counted in digests"
            )
    return c
