"""The secrets `desk up` makes once per data folder: the session key and the payload encryption keys.

`<data>/secrets.json` (mode 0600) is written on the first start and read on every later one, so sessions and
encrypted histories survive a restart. Delete the folder and they go with it. An explicit DESK_SECRET_KEY or
DESK_CODEC_KEYS in the environment wins over the file. To rotate the codec key of a dev stack, put a new key
first in the file's `codec_keys` (`k2:NEW,k1:OLD`, see `core.codec.generate_key`) and start again.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from core.codec import generate_key, parse_keys

FILE_NAME = "secrets.json"


class SecretsFileError(ValueError):
    """The secrets file is there but unusable; the message says which file and what is wrong."""


@dataclass(frozen=True)
class DevSecrets:
    secret_key: str
    codec_keys: str  # DESK_CODEC_KEYS format: "id:base64,..." — the first seals

    @property
    def current_key_id(self) -> str:
        return parse_keys(self.codec_keys)[0]


def load_or_create(data_dir: Path) -> DevSecrets:
    path = data_dir / FILE_NAME
    if not path.exists():
        made = DevSecrets(secret_key=secrets.token_urlsafe(48), codec_keys=generate_key("k1"))
        data_dir.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: of two starts racing, one writes and the other reads what it wrote
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read(path)
        with os.fdopen(fd, "w") as out:
            json.dump({"secret_key": made.secret_key, "codec_keys": made.codec_keys}, out, indent=2)
        return made
    return _read(path)


def _read(path: Path) -> DevSecrets:
    try:
        data = json.loads(path.read_text())
        found = DevSecrets(secret_key=str(data["secret_key"]), codec_keys=str(data["codec_keys"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SecretsFileError(
            f"{path}: unreadable ({e.__class__.__name__}); fix it, or delete it to get new keys "
            "(histories sealed with the old codec keys then become unreadable)"
        ) from None
    if not found.secret_key:
        raise SecretsFileError(f"{path}: secret_key is empty")
    try:
        parse_keys(found.codec_keys)
    except ValueError as e:
        raise SecretsFileError(f"{path}: codec_keys: {e}") from None
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)  # copied around with looser rights: tighten again
    return found
