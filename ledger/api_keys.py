"""API keys per intake system and shared secrets for signed webhooks (`intake_api_keys`,
`intake_webhook_sources`, migration 100_intake.sql).

Keys are shown once at creation; only their SHA-256 is stored. The embedded default (`desk up` with demo
data) gets a dev key and a dev webhook source derived from `DESK_SECRET_KEY`, so they are stable across
restarts and `desk up` can print them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import asyncpg

from core.settings import Settings

KEY_PREFIX = "dk_"
DEV_KEY_NAME = "dev"
DEV_WEBHOOK_SOURCE = "dev-shop"


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    rate_per_minute: int
    burst: int


@dataclass(frozen=True)
class DevIntakeCredentials:
    api_key: str
    webhook_source: str
    webhook_secret: str


def hash_key(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_api_key(
    pool: asyncpg.Pool, name: str, *, rate_per_minute: int = 120, burst: int = 30, raw: str | None = None
) -> str:
    """Create (or, for the same name, replace) an intake system's key; returns the key, shown only now."""
    raw = raw or new_key()
    await pool.execute(
        "INSERT INTO intake_api_keys (name, key_hash, key_prefix, rate_per_minute, burst) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (name) DO UPDATE SET key_hash = EXCLUDED.key_hash, key_prefix = EXCLUDED.key_prefix,"
        " rate_per_minute = EXCLUDED.rate_per_minute, burst = EXCLUDED.burst, revoked_at = NULL",
        name,
        hash_key(raw),
        raw[:10],
        rate_per_minute,
        burst,
    )
    return raw


async def revoke_api_key(pool: asyncpg.Pool, name: str) -> bool:
    done = await pool.execute(
        "UPDATE intake_api_keys SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL", name
    )
    return done.endswith(" 1")


async def find_api_key(pool: asyncpg.Pool, raw: str) -> ApiKey | None:
    row = await pool.fetchrow(
        "SELECT id, name, rate_per_minute, burst FROM intake_api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        hash_key(raw),
    )
    return ApiKey(**dict(row)) if row else None


async def create_webhook_source(
    pool: asyncpg.Pool, source: str, *, channel: str = "ecommerce", secret: str | None = None
) -> str:
    """Register (or re-key) a platform that posts signed webhooks; returns its shared secret."""
    secret = secret or secrets.token_urlsafe(32)
    await pool.execute(
        "INSERT INTO intake_webhook_sources (source, secret, channel) VALUES ($1, $2, $3)"
        " ON CONFLICT (source) DO UPDATE SET secret = EXCLUDED.secret, channel = EXCLUDED.channel, revoked_at = NULL",
        source,
        secret,
        channel,
    )
    return secret


async def find_webhook_source(pool: asyncpg.Pool, source: str) -> tuple[str, str] | None:
    row = await pool.fetchrow(
        "SELECT secret, channel FROM intake_webhook_sources WHERE source = $1 AND revoked_at IS NULL", source
    )
    return (row["secret"], row["channel"]) if row else None


def _derived(settings: Settings, purpose: str) -> str:
    return hmac.new(settings.secret_key.encode(), purpose.encode(), hashlib.sha256).hexdigest()[:40]


async def seed_dev_intake(pool: asyncpg.Pool, settings: Settings) -> DevIntakeCredentials | None:
    """For the embedded default only (`DESK_DEMO_USERS=true`): a dev API key and a dev webhook source.

    `desk up` calls this after migrating and prints the result. Returns None when demo data is off."""
    if not settings.demo_users:
        return None
    api_key = KEY_PREFIX + "dev_" + _derived(settings, "intake-dev-api-key")
    secret = "whsec_dev_" + _derived(settings, "intake-dev-webhook")
    await create_api_key(pool, DEV_KEY_NAME, raw=api_key, rate_per_minute=600, burst=100)
    await create_webhook_source(pool, DEV_WEBHOOK_SOURCE, channel="ecommerce", secret=secret)
    return DevIntakeCredentials(api_key=api_key, webhook_source=DEV_WEBHOOK_SOURCE, webhook_secret=secret)
