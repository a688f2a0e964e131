"""The SDK payload fast path (workers/sdk_fastpath.py): on for the locked SDK, skips the serialization-context
lookup only when no codec and no external storage could use it, and leaves a codec's path to the SDK."""

from __future__ import annotations

import dataclasses

from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext
from temporalio.worker._workflow import _CommandAwareDataConverter

from core.codec import EncryptionCodec, generate_key
from core.temporal import DATA_CONVERTER
from workers import sdk_fastpath

WORKFLOW = WorkflowSerializationContext(namespace="default", workflow_id="complaint-C-1")
ACTIVITY = ActivitySerializationContext(
    namespace="default",
    workflow_id="complaint-C-1",
    workflow_type="ComplaintWorkflow",
    activity_type="notify",
    activity_id="1",
    activity_task_queue="desk",
    is_local=False,
)


class _Instance:
    """The workflow side of the lookup: counts the sandbox round trips the SDK would make."""

    def __init__(self) -> None:
        self.lookups = 0

    def get_serialization_context(self, command_info: object) -> ActivitySerializationContext:
        self.lookups += 1
        return ACTIVITY


def _converter(dc) -> tuple[_CommandAwareDataConverter, _Instance]:
    instance = _Instance()
    return (
        _CommandAwareDataConverter.create(
            instance=instance,  # type: ignore[arg-type]
            context_free_dc=dc,
            workflow_context_dc=dc.with_context(WORKFLOW),
            workflow_context=WORKFLOW,
        ),
        instance,
    )


def _payloads():
    return DATA_CONVERTER.payload_converter.to_payloads(["王小明", {"due_at": "2026-12-02T09:00:00Z"}])


def test_it_applies_to_the_locked_sdk_and_is_on():
    # Fails after an SDK upgrade that changed the internals: look again whether the lookup still costs.
    assert sdk_fastpath.applies()
    assert sdk_fastpath.install() and sdk_fastpath.installed()


async def test_without_codec_the_payloads_pass_unchanged_with_no_lookup():
    converter, instance = _converter(DATA_CONVERTER)
    payloads = _payloads()
    assert await converter._encode_payload_sequence(payloads) == payloads
    assert await converter._external_store_payload_sequence(payloads) == payloads
    assert await converter._decode_payload_sequence(payloads) == payloads
    assert instance.lookups == 0


async def test_with_a_codec_the_sdk_path_runs_with_the_commands_context():
    sealed_dc = dataclasses.replace(
        DATA_CONVERTER, payload_codec=EncryptionCodec.from_spec(generate_key("k1"))
    )
    converter, instance = _converter(sealed_dc)
    payloads = _payloads()
    sealed = await converter._encode_payload_sequence(payloads)
    assert instance.lookups == 1
    assert sealed != payloads and all(p.metadata["encoding"] != b"json/plain" for p in sealed)
    assert await converter._decode_payload_sequence(sealed) == payloads
    assert instance.lookups == 2
