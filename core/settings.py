"""All configuration, from environment variables prefixed `DESK_` (see `.env.example`)."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_", env_file=".env", extra="ignore")

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "complaints"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    # Temporal's own environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
    # TEMPORAL_TLS_*, profiles in temporal.toml) wins over the two DESK_ values above, which are the fallback.
    temporal_envconfig: bool = True  # False: ignore TEMPORAL_* and the TOML file (the embedded dev stack)
    temporal_profile: str | None = None  # TOML profile; None: TEMPORAL_PROFILE, else "default"
    temporal_config_file: Path | None = (
        None  # None: TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml
    )

    # PostgreSQL ledger; empty means the embedded server under data_dir (desk up)
    database_url: str = ""

    # Embedded stack (desk up)
    data_dir: Path = Path(".data")
    temporal_port: int = 7233
    temporal_ui_port: int = 8233

    # Web app (intake API, staff UI, status page)
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"  # used in links sent to customers
    secret_key: str = DEV_SECRET_KEY  # signs CSRF tokens, derives the stand-ins' token; refused outside dev
    demo_users: bool = False  # seed demo logins on an empty ledger; refused outside dev
    dev_mode: bool = False  # allows the built-in secret key and demo users (desk up, tests): core/safety.py
    standins: bool = False  # mount the local stand-ins (/sink, /carrier-sim) in the web app (desk up, tests)
    metrics_token: SecretStr = SecretStr("")  # bearer token for the web app's /metrics; empty: /metrics off
    trusted_proxies: str = "127.0.0.1"  # comma list of proxy IPs whose X-Forwarded-For/-Proto are believed
    session_hours: float = 12.0  # a staff session ends this long after sign-in
    session_idle_minutes: float = 120.0  # … or after this long without a request

    # E-mail intake (desk email-intake, started by desk up): inbound SMTP, each message becomes a complaint
    email_intake_host: str = "127.0.0.1"  # 0.0.0.0 in a container
    email_intake_port: int = 2525
    email_intake_recipients: str = ""  # comma list of accepted addresses (`a@x.com, 投诉@x.com`); empty: any

    # Outside systems; empty means the local stand-ins started by desk up
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    sms_url: str = ""  # generic JSON SMS provider
    push_url: str = ""
    wecom_webhook_url: str = ""
    dingtalk_webhook_url: str = ""
    tracking_api_url: str = ""  # carrier API; empty: the bundled simulator at <web>/carrier-sim
    # Provider details (activities/registry.py); the stand-ins need none of them
    sms_provider: Literal["json", "twilio"] = "json"  # twilio: sms_url is the Twilio API base
    sms_api_key: str = ""
    sms_sender: str = "ComplaintDesk"  # sender id, or the Twilio "From" number
    twilio_account_sid: str = "AC-local"
    twilio_auth_token: str = ""
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    mail_from: str = "Complaint Desk <desk@desk.local>"
    push_api_key: str = ""
    dingtalk_secret: str = ""  # signs DingTalk robot calls when set
    # Messages a minute each group robot takes (WeCom and DingTalk: 20): one budget shared by every worker's
    # relay, which paces and digests to stay within it (activities/notifications/robot_relay.py). 0: no limit.
    robot_messages_per_minute: int = Field(default=20, ge=0)
    # The stand-in robots refuse past this many messages a minute per robot, as the real ones do; 0: never.
    standin_robot_limit_per_minute: int = Field(default=20, ge=0)
    tracking_api_key: str = ""
    notify_routing: str = ""  # JSON overrides of activities.notifications.routing.RoutingConfig
    display_timezone: str = "Asia/Shanghai"  # times in messages, unless the context names another zone
    # The web process sends a new complaint's confirmation at once; the worker's intake step still does if
    # that did not get through (starters/confirmation.py). False keeps customer channels' keys out of web.
    intake_sends_confirmation: bool = True

    # Observability (core/telemetry.py, core/metrics.py)
    service_name: str = "complaint-desk"  # OpenTelemetry resource service.name
    tracing_exporter: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str = (
        ""  # e.g. http://otel-collector:4318/v1/traces; empty: OTEL_EXPORTER_OTLP_* or default
    )
    metrics_port: int = 0  # business metrics (prometheus_client) HTTP port of the worker; 0: off
    sdk_metrics_bind: str = ""  # Temporal SDK metrics Prometheus endpoint, e.g. 0.0.0.0:9464; empty: off
    open_complaints_interval: float = 60.0  # seconds between refreshes of the open-complaints gauge

    # Customer-data protection (core/codec.py, ui/codec_server.py)
    codec_keys: SecretStr = SecretStr(
        ""
    )  # "k2:BASE64,k1:BASE64": first seals, all open; empty: no encryption
    codec_auth_token: SecretStr = SecretStr("")  # bearer token the codec server accepts; empty: sessions only
    codec_cors_origins: str = (
        ""  # comma list of extra Web UI origins; temporal_ui_url's origin is always allowed
    )
    codec_host: str = "127.0.0.1"  # desk codec-server
    codec_port: int = 8089

    # Retention of ledger records (workflows/retention.py), run by a Temporal Schedule
    retention_years: int = 3
    retention_mode: Literal["archive", "purge"] = "archive"
    retention_dry_run: bool = False  # only count what would go
    retention_cron: str = "30 3 * * *"  # in retention_timezone
    retention_timezone: str = "Asia/Shanghai"

    # Worker tuning (the SDK defaults). A complaint evicted from the cache is replayed from its history on
    # its next task; size the cache above the open complaints one worker holds (docs/deployment.md).
    worker_max_cached_workflows: int = 1000
    # Temporal's workflow sandbox (the workflow code passed through: workers/tuning.py). Its cost before that:
    # 2.3x the worker CPU at intake, ~15 % in deadline waves, 1.9x the memory (docs/deployment.md §8). The
    # tests' workers check all workflow code at run time, so turning it off here keeps the check where code
    # changes.
    worker_sandbox: bool = True
    # Workflow activations share one interpreter lock: beyond a few at once they only slow each other down,
    # past the SDK's 2 s deadlock alarm and the 10 s task timeout (docs/benchmarks.md). Scale with processes.
    worker_max_concurrent_workflow_tasks: int | None = 16
    # How long a task waits for the worker that has the complaint cached before another worker replays it.
    # 10 s turned a deadline wave's backlog into ~1,500 timeouts per 1,000 complaints, each a replay from
    # history; 60 s: 31–201 (docs/benchmarks.md). The cost: a task queued for a killed worker waits longer.
    worker_sticky_timeout_seconds: float = 60.0
    worker_max_concurrent_activities: int | None = None
    worker_max_concurrent_local_activities: int | None = None
    # PostgreSQL connections of one worker process. A step holds one for its ledger write and one per
    # notification while the provider answers (up to the step's 3 s budget, activities/step.py): 16 tasks
    # with a breach and an escalation each want ~32, and a slow provider must not make ledger writes wait.
    # (The 1,000 burst was not measurably faster with 32 than with 10: 14.1 against 14–16 s.)
    worker_db_pool_size: int = Field(32, ge=2)

    # Business calendar: admins' holiday corrections in a YAML file (domain/calendar_edits.py), read at
    # start and with the admin page's edits (PostgreSQL); unset: the holiday library and the page only
    calendar_file: Path | None = None

    log_level: str = "INFO"
    log_json: bool | None = None  # None: JSON when stdout is not a terminal


def dial_host(bind_host: str) -> str:
    """The address a client on this machine dials for a server bound to `bind_host` (any-address → loopback)."""
    return "127.0.0.1" if bind_host in ("0.0.0.0", "::", "") else bind_host


@lru_cache
def get_settings() -> Settings:
    return Settings()


def local_base_url(settings: Settings) -> str:
    """Where this machine reaches the web app (which serves the stand-ins in dev: the default provider URLs)."""
    return f"http://{dial_host(settings.web_host)}:{settings.web_port}"


def standin_token(settings: Settings) -> str:
    """The credential the worker's channels present to the stand-ins the web app mounts (bearer key,
    Twilio auth token, robot key): derived from `secret_key`, so only the product's own processes know it."""
    return hmac.new(settings.secret_key.encode(), b"desk-standins", hashlib.sha256).hexdigest()[:40]
