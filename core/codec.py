"""Payload encryption: customer data never reaches the Temporal server in clear text (rules A §4.2).

Every payload the SDK writes (workflow inputs, Update args and results, query results, activity inputs and
outputs, memo, summaries, failure details) is serialized, then sealed with AES-GCM here. The sealed payload
says `encoding: binary/encrypted` and which key sealed it, so keys can rotate: `DESK_CODEC_KEYS` is a list
`id:base64key,...`; the first key seals new payloads, every listed key opens old ones. Drop an old key only
once no history that still matters (running complaints, namespace retention) carries it.

The key id is bound into the ciphertext as associated data, so a payload cannot be relabelled to another key.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE = 12


class CodecKeyError(ValueError):
    """The key configuration is unusable, or a payload was sealed with a key we do not hold."""


def parse_keys(spec: str) -> tuple[str, dict[str, bytes]]:
    """`"k2:BASE64,k1:BASE64"` → ("k2", {"k2": ..., "k1": ...}); errors name the bad entry, never the key."""
    keys: dict[str, bytes] = {}
    current = ""
    for n, entry in enumerate(e.strip() for e in spec.replace("\n", ",").split(",")):
        if not entry:
            continue
        key_id, sep, b64 = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id or not b64.strip():
            raise CodecKeyError(f"DESK_CODEC_KEYS entry {n + 1}: expected id:base64key")
        try:
            raw = base64.b64decode(b64.strip(), validate=True)
        except (binascii.Error, ValueError) as e:
            raise CodecKeyError(f"DESK_CODEC_KEYS key {key_id!r}: not valid base64") from e
        if len(raw) not in (16, 24, 32):
            raise CodecKeyError(f"DESK_CODEC_KEYS key {key_id!r}: must be 16, 24 or 32 bytes, got {len(raw)}")
        if key_id in keys:
            raise CodecKeyError(f"DESK_CODEC_KEYS key id {key_id!r} appears twice")
        keys[key_id] = raw
        current = current or key_id
    if not keys:
        raise CodecKeyError("DESK_CODEC_KEYS holds no key")
    return current, keys


def generate_key(key_id: str) -> str:
    """A fresh 256-bit key as one `id:base64` entry for DESK_CODEC_KEYS."""
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise CodecKeyError(f"current key {current!r} is not among the keys")
        self._ciphers = {kid: AESGCM(raw) for kid, raw in keys.items()}
        self._current = current
        self._current_id = current.encode()

    @classmethod
    def from_spec(cls, spec: str) -> EncryptionCodec:
        current, keys = parse_keys(spec)
        return cls(keys, current)

    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def seal(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") == ENCODING:
            return payload  # already sealed (e.g. a payload passed through from a decoded-less hop)
        nonce = os.urandom(_NONCE)
        sealed = self._ciphers[self._current].encrypt(nonce, payload.SerializeToString(), self._current_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: self._current_id}, data=nonce + sealed)

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was turned on: readable as it is
        key_id = payload.metadata.get(KEY_ID, b"")
        cipher = self._ciphers.get(key_id.decode(errors="replace"))
        if cipher is None:
            raise CodecKeyError(
                f"payload sealed with key {key_id.decode(errors='replace')!r}, "
                f"which is not in DESK_CODEC_KEYS (known: {', '.join(self._ciphers)})"
            )
        data = payload.data
        try:
            clear = cipher.decrypt(data[:_NONCE], data[_NONCE:], key_id)
        except InvalidTag as e:
            raise CodecKeyError(f"payload sealed with key {key_id.decode()!r} failed authentication") from e
        return Payload.FromString(clear)
