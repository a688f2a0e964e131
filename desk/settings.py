"""All configuration, from environment variables prefixed `DESK_` (see `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_", env_file=".env", extra="ignore")

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "complaints"
    temporal_ui_url: str = "http://127.0.0.1:8233"

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
    secret_key: str = "dev-only-change-me"  # signs sessions and CSRF tokens
    demo_users: bool = True  # seed demo logins on an empty ledger

    # Outside systems; empty means the local stand-ins started by desk up
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    sms_url: str = ""  # generic JSON SMS provider
    push_url: str = ""
    wecom_webhook_url: str = ""
    dingtalk_webhook_url: str = ""
    tracking_api_url: str = ""  # carrier API; empty: the bundled simulator at <web>/carrier-sim

    log_level: str = "INFO"
    log_json: bool | None = None  # None: JSON when stdout is not a terminal


@lru_cache
def get_settings() -> Settings:
    return Settings()
