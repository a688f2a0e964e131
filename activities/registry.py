"""The worker's activities, built from settings: `build_activities(settings, pool)`.

Every outside system is configured by a `DESK_` setting; an empty URL means the local stand-in the web app
serves (`standins/http.py`: `/sink/...`, `/carrier-sim`), and the SMTP sink `desk up` starts. The activities
share one pool and one HTTP client (connection reuse); both live as long as the worker process.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import httpx

from activities.ledger import LedgerWriter
from activities.notifications.channels import (
    Channel,
    DingTalkRobotChannel,
    JsonSmsChannel,
    PushChannel,
    SmtpChannel,
    TwilioSmsChannel,
    WeComRobotChannel,
)
from activities.notifications.notifier import Notifier
from activities.notifications.robot_relay import RobotRelay
from activities.notifications.routing import ROBOTS, RoutingConfig
from activities.retention import RetentionSweeper
from activities.step import StepRecorder
from activities.tracking import Tracker
from core.settings import Settings, local_base_url, standin_token


def build_channels(settings: Settings, http: httpx.AsyncClient) -> dict[str, Channel]:
    local = local_base_url(settings)
    own = standin_token(settings)  # what the web app's stand-ins ask of a sender (standins/http.py)
    if settings.sms_provider == "twilio":
        sms: Channel = TwilioSmsChannel(
            http,
            base_url=settings.sms_url or f"{local}/sink/twilio",
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token if settings.sms_url else own,
            from_number=settings.sms_sender,
        )
    else:
        sms = JsonSmsChannel(
            http,
            settings.sms_url or f"{local}/sink/sms",
            settings.sms_api_key if settings.sms_url else own,
            settings.sms_sender,
        )
    channels: list[Channel] = [
        sms,
        SmtpChannel(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            tls=settings.smtp_tls,
        ),
        PushChannel(
            http,
            settings.push_url or f"{local}/sink/push",
            settings.push_api_key if settings.push_url else own,
        ),
        WeComRobotChannel(
            http, settings.wecom_webhook_url or f"{local}/sink/wecom/cgi-bin/webhook/send?key={own}"
        ),
        DingTalkRobotChannel(
            http,
            settings.dingtalk_webhook_url or f"{local}/sink/dingtalk/robot/send?access_token={own}",
            secret=settings.dingtalk_secret,
        ),
    ]
    return {c.name: c for c in channels}


def build_relay(settings: Settings, pool: asyncpg.Pool) -> RobotRelay:
    """The worker process's robot relay (run it with `relay.running()`; `build_activities` attaches it)."""
    return RobotRelay(
        pool, per_minute=settings.robot_messages_per_minute, public_base_url=settings.public_base_url
    )


def new_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0), follow_redirects=False)


def build_notifier(
    settings: Settings, pool: asyncpg.Pool, http: httpx.AsyncClient, relay: RobotRelay | None = None
) -> Notifier:
    """The notifier with every channel; with a `relay`, its robot channels are the relay's to send on."""
    channels = build_channels(settings, http)
    if relay is not None:
        relay.attach({name: channels[name] for name in ROBOTS if name in channels})
    return Notifier(
        pool,
        channels,
        RoutingConfig.from_json(settings.notify_routing),
        public_base_url=settings.public_base_url,
        timezone=settings.display_timezone,
        relay=relay,
    )


def build_activities(
    settings: Settings, pool: asyncpg.Pool, relay: RobotRelay | None = None
) -> list[Callable]:
    """With a `relay`, robot messages are reserved by the steps and sent by it; without, by the steps."""
    http = new_http_client()
    notifier = build_notifier(settings, pool, http, relay)
    tracker = Tracker(
        http,
        settings.tracking_api_url or f"{local_base_url(settings)}/carrier-sim",
        pool,
        api_key=settings.tracking_api_key,
    )
    ledger = LedgerWriter(pool)
    return [
        ledger.record_ledger,
        StepRecorder(ledger, notifier).record_step,
        notifier.notify,
        tracker.lookup_tracking,
        RetentionSweeper(pool).sweep,
    ]
