"""Notification providers that fail half the time — refusing, or hanging past the timeout with or without
taking the message: every message reaches the phone exactly once in the end."""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest

from standins.http import serve
from tests.faults.flaky_provider import KINDS, FlakyProvider
from tests.faults.scenario import Scenario, all_sent, check_exactly_once, wait_for

pytestmark = pytest.mark.slow

K = 12
WINDOW = 12.0


async def test_flaky_sms_and_push_providers_deliver_every_message_once(product_factory, show):
    provider = FlakyProvider()
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(provider.release)
        base = await stack.enter_async_context(serve(provider.app()))
        product = await product_factory(env={"DESK_SMS_URL": f"{base}/sms", "DESK_PUSH_URL": f"{base}/push"})
        # Filed in the app: the customer gets SMS, e-mail and app push (routing's push_channels).
        scenario = Scenario(product, window=WINDOW, k=K, channel="app")
        await scenario.start()
        await wait_for(
            lambda: all_sent(product, scenario.keys()), timeout=180, what="every due notification to be sent"
        )

        sent = await product.pool.fetch(
            "SELECT idempotency_key, channel, attempts FROM notifications"
            " WHERE complaint_id = ANY($1::text[]) AND channel IN ('sms', 'push') AND status = 'sent'",
            scenario.cids,
        )
        keys = {r["idempotency_key"] for r in sent}
        twice = {k: d.arrivals for k, d in provider.delivered.items() if d.arrivals > 1}
        missing = keys - provider.delivered.keys()
        unexpected = provider.delivered.keys() - keys
        checked = await check_exactly_once(product, scenario, external=frozenset({"sms", "push"}))
        show(
            checked.line("providers failing half the time")
            + f"; provider: {provider.requests} requests, failures {dict(provider.failures)},"
            f" ({sum(provider.failures.values()) / provider.requests:.0%} failed),"
            f" {len(provider.delivered)} messages delivered for {len(keys)} SMS/push deliveries,"
            f" {len(twice)} of them resent after an unknown outcome and collapsed by key, {len(provider.unkeyed)} without a key"
        )
        assert checked.problems == []
        assert len(keys) == 2 * K  # each confirmation by SMS and by push
        assert missing == set() and unexpected == set()
        assert all(d.arrivals >= 1 for d in provider.delivered.values())
        assert provider.unkeyed == []
        # The failures really happened, of every kind, on half of the requests.
        assert set(provider.failures) == set(KINDS)
        assert sum(provider.failures.values()) == len(keys)  # each delivery's first request failed
        assert provider.requests >= 2 * len(keys)
        # No message reached a phone twice under two different keys either.
        same = Counter((d.channel, d.to, d.text) for d in provider.delivered.values())
        assert max(same.values()) == 1
        assert twice, "a message taken before a timeout was sent again and collapsed by its key"
