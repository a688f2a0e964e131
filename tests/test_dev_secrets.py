"""The secrets `desk up` makes in its data folder: made once, private, read back, explicit values win."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.codec import EncryptionCodec, generate_key
from core.settings import Settings
from desk import dev_secrets
from desk.stack import Display, Stack, StartupError


def test_made_once_private_and_the_same_on_every_later_start(tmp_path: Path):
    first = dev_secrets.load_or_create(tmp_path / "data")
    path = tmp_path / "data" / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 40 and first.secret_key != Settings().secret_key
    assert EncryptionCodec.from_spec(first.codec_keys).current_key_id == "k1"
    assert dev_secrets.load_or_create(tmp_path / "data") == first
    # Another folder, other keys.
    assert dev_secrets.load_or_create(tmp_path / "other").codec_keys != first.codec_keys


def test_a_loosened_file_is_made_private_again_and_a_broken_one_is_named(tmp_path: Path):
    made = dev_secrets.load_or_create(tmp_path)
    path = tmp_path / "secrets.json"
    os.chmod(path, 0o644)
    assert dev_secrets.load_or_create(tmp_path) == made
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text(json.dumps({"secret_key": "x", "codec_keys": "k1:not-base64!"}))
    with pytest.raises(
        dev_secrets.SecretsFileError, match=r"secrets.json: codec_keys: .*'k1': not valid base64"
    ):
        dev_secrets.load_or_create(tmp_path)


def _stack(tmp_path: Path, **given) -> Stack:
    return Stack(Settings(data_dir=tmp_path, **given), Display())


def test_desk_up_children_get_the_folders_keys_demo_logins_and_the_dev_switches(tmp_path: Path):
    stack = _stack(tmp_path)
    stack.settings = stack._with_dev_secrets(stack.settings)
    env = stack._child_env()
    made = dev_secrets.load_or_create(tmp_path)
    assert env["DESK_SECRET_KEY"] == made.secret_key
    assert env["DESK_CODEC_KEYS"] == made.codec_keys  # the value, not pydantic's "**********"
    assert (env["DESK_DEMO_USERS"], env["DESK_DEV_MODE"], env["DESK_STANDINS"]) == ("true", "true", "true")
    assert stack._codec_endpoint() == f"{stack.cfg.web_url}/codec"


def test_explicit_keys_and_demo_switch_win_over_the_folder(tmp_path: Path):
    mine = generate_key("prod1")
    stack = _stack(
        tmp_path, secret_key="s3cret-from-the-environment", codec_keys=SecretStr(mine), demo_users=False
    )
    stack.settings = stack._with_dev_secrets(stack.settings)
    env = stack._child_env()
    assert (env["DESK_SECRET_KEY"], env["DESK_CODEC_KEYS"]) == ("s3cret-from-the-environment", mine)
    assert env["DESK_DEMO_USERS"] == "false"


def test_a_broken_secrets_file_stops_desk_up_with_a_message(tmp_path: Path):
    (tmp_path / "secrets.json").write_text("{")
    stack = _stack(tmp_path)
    with pytest.raises(StartupError, match="secrets.json: unreadable"):
        stack._with_dev_secrets(stack.settings)
