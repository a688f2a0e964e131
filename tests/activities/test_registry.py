"""The worker's activities as `activities.registry` builds them: its names, wired to the stand-ins."""

from __future__ import annotations

from temporalio import activity
from temporalio.testing import ActivityEnvironment

from activities.registry import build_activities, build_channels
from core.settings import Settings
from domain.messages import (
    ACTIVITY_NOTIFY,
    ACTIVITY_RECORD,
    ACTIVITY_STEP,
    ACTIVITY_TRACKING,
    Audience,
    Notification,
    TemplateKey,
    TrackingRequest,
)
from domain.retention import ACTIVITY_RETENTION_SWEEP

from .factories import batch, event, view


def test_empty_urls_mean_the_stand_ins_the_web_app_serves(http):
    settings = Settings(_env_file=None, web_host="0.0.0.0", web_port=8123)
    channels = build_channels(settings, http)
    assert channels["sms"].url == "http://127.0.0.1:8123/sink/sms"
    assert channels["push"].url == "http://127.0.0.1:8123/sink/push"
    assert channels["wecom"].webhook_url.startswith(
        "http://127.0.0.1:8123/sink/wecom/cgi-bin/webhook/send?key="
    )
    assert (channels["email"].host, channels["email"].port) == ("127.0.0.1", 8025)


async def test_the_registry_builds_working_activities_under_their_contract_names(standins):
    built = build_activities(standins.settings(), standins.pool)
    by_name = {activity._Definition.must_from_callable(fn).name: fn for fn in built}
    assert set(by_name) == {
        ACTIVITY_NOTIFY,
        ACTIVITY_RECORD,
        ACTIVITY_STEP,
        ACTIVITY_TRACKING,
        ACTIVITY_RETENTION_SWEEP,
    }
    env = ActivityEnvironment()

    assert await env.run(by_name[ACTIVITY_RECORD], batch(view("C-5"), event("C-5", 0))) == 1
    snapshot = await env.run(
        by_name[ACTIVITY_TRACKING], TrackingRequest(complaint_id="C-5", waybill="ZT5550001113")
    )
    assert snapshot.anomalies == ["route_deviation"]
    result = await env.run(
        by_name[ACTIVITY_NOTIFY],
        Notification(
            idempotency_key="C-5/c",
            complaint_id="C-5",
            template=TemplateKey.CONFIRMATION,
            audience=Audience.CUSTOMER,
        ),
    )
    assert result.delivered == ["sms", "email"]
    assert sorted(r["channel"] for r in await standins.sink("C-5")) == ["email", "sms"]
