"""Refuse to run outside dev with dev defaults: one check for `desk web`, `desk worker` and the web app.

The built-in `secret_key` is public (it is in this repository), so a cookie or CSRF token signed with it can
be forged by anyone; demo users all have the password `demo`. Both are for a laptop only: they are allowed
when `DESK_DEV_MODE=true` (`desk up` and the tests set it), never by accident.
"""

from __future__ import annotations

from core.settings import DEV_SECRET_KEY, Settings

MIN_SECRET_KEY_LENGTH = 16


class UnsafeSettings(RuntimeError):
    """The settings would run a public service with a public secret or public passwords."""


def unsafe_defaults(settings: Settings) -> list[str]:
    """What is unsafe about these settings outside dev, each with what to set instead (empty: safe)."""
    if settings.dev_mode:
        return []
    problems = []
    key = settings.secret_key
    if key == DEV_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            "DESK_SECRET_KEY is the built-in development key (or shorter than "
            f"{MIN_SECRET_KEY_LENGTH} characters): set it to a random value, e.g. "
            '`python -c "import secrets; print(secrets.token_urlsafe(32))"`'
        )
    if settings.demo_users:
        problems.append(
            "DESK_DEMO_USERS=true seeds logins whose password is `demo`: set DESK_DEMO_USERS=false "
            "and create real users"
        )
    return problems


def check_safe(settings: Settings) -> None:
    """Raise `UnsafeSettings` naming every problem and the dev switch; call before serving anything."""
    problems = unsafe_defaults(settings)
    if problems:
        raise UnsafeSettings(
            "refusing to start with development defaults:\n  - "
            + "\n  - ".join(problems)
            + "\n(on a development machine only, DESK_DEV_MODE=true allows them)"
        )


# Outside systems whose URL, when empty, points at the dev stand-ins (activities/registry.py).
_OUTSIDE = {
    "sms_url": "SMS",
    "push_url": "app push",
    "wecom_webhook_url": "WeCom group robot",
    "dingtalk_webhook_url": "DingTalk group robot",
    "tracking_api_url": "carrier tracking",
}


def unconfigured_outside_systems(settings: Settings) -> list[str]:
    """Outside systems left on their dev stand-in while no stand-ins are mounted: what they send will fail
    (and be retried, never failing a complaint). Empty in dev, or when every system has its URL."""
    if settings.standins:
        return []
    return [
        f"{what}: DESK_{name.upper()} is not set, so its messages cannot be delivered"
        for name, what in _OUTSIDE.items()
        if not getattr(settings, name)
    ]
