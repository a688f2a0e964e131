"""Skip the SDK's per-payload converter lookup when it cannot change anything: no payload codec, no external
storage (DESK_CODEC_KEYS unset: production without payload encryption, and the benchmarks; `desk up` seals
customer data with a dev key, so it takes the SDK's own path).

temporalio 1.35 passes every workflow activation and completion through up to six payload passes (codec,
external storage, storage references, each way). Before each one it asks the workflow for the serialization
context of the command the payloads belong to (`_CommandAwareDataConverter._get_current_dc`, and the store
context for external storage), which under the sandbox runs code inside it with its import guards applied,
once per list of payloads and pass: 28–41 % of the CPU of a replayed complaint's workflow tasks
(`python -m bench.replay_cost`). Each pass then calls a method that reads only the converter's codec and
external storage, and with neither returns the payloads unchanged, whatever context the converter was given.
So with neither set the lookup is skipped; with either set the SDK's own path runs (tests/ops/test_codec.py
runs workflows that way).

It patches a private SDK class, so it checks the shape it expects and leaves the SDK alone (with a warning)
when that changed; tests/workers/test_sdk_fastpath.py fails on the locked SDK if it no longer applies.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import structlog
from temporalio.worker import _workflow as sdk_workflow

log = structlog.get_logger()

_CLASS = getattr(sdk_workflow, "_CommandAwareDataConverter", None)
_ORIGINAL = {
    name: getattr(_CLASS, name, None) for name in ("_get_current_dc", "_external_store_payload_sequence")
}
_FIELDS = ("_ca_workflow_context_dc", "payload_codec", "external_storage")


def _get_current_dc(self: Any) -> Any:
    if self.payload_codec is None and self.external_storage is None:
        return self._ca_workflow_context_dc  # every pass is the identity: any converter will do
    return _ORIGINAL["_get_current_dc"](self)  # type: ignore[misc]


async def _external_store_payload_sequence(self: Any, payloads: Sequence[Any]) -> list[Any]:
    if self.external_storage is None:  # the SDK's own answer then, without asking for a store context
        return list(payloads)
    return await _ORIGINAL["_external_store_payload_sequence"](self, payloads)  # type: ignore[misc]


_FAST = {
    "_get_current_dc": _get_current_dc,
    "_external_store_payload_sequence": _external_store_payload_sequence,
}


def applies() -> bool:
    """Whether the SDK still has the shape this was written for."""
    fields = getattr(_CLASS, "__dataclass_fields__", {})
    return (
        all(f in fields for f in _FIELDS)
        and all(m is not None for m in _ORIGINAL.values())
        and [list(inspect.signature(m).parameters) for m in _ORIGINAL.values()]
        == [["self"], ["self", "payloads"]]
    )


def install() -> bool:
    """Once per process, before workers start (again: a no-op); True when the fast path is on."""
    if installed():
        return True
    if not applies():
        log.warning("temporalio changed its data converter internals: the payload fast path is off")
        return False
    for name, fast in _FAST.items():
        setattr(_CLASS, name, fast)
    return True


def installed() -> bool:
    return all(getattr(_CLASS, name, None) is fast for name, fast in _FAST.items())


def uninstall() -> None:
    """The SDK's own path again (`bench.replay_cost` measures both)."""
    for name, original in _ORIGINAL.items():
        setattr(_CLASS, name, original)
