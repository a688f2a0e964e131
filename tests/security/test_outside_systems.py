"""Outside the dev stack, an outside system left without its URL is named at worker start (not silently sent
to a stand-in that is not there)."""

from __future__ import annotations

from core.safety import unconfigured_outside_systems
from core.settings import Settings


def test_providers_left_on_their_stand_in_are_named_outside_dev():
    problems = unconfigured_outside_systems(Settings(_env_file=None, sms_url="https://sms.example/send"))
    joined = " ".join(problems)
    assert "DESK_PUSH_URL" in joined and "DESK_TRACKING_API_URL" in joined and "DESK_SMS_URL" not in joined


def test_nothing_to_say_when_the_stand_ins_are_mounted():
    assert unconfigured_outside_systems(Settings(_env_file=None, standins=True)) == []
