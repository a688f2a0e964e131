"""Payload encryption: round trip, key rotation, tampering, and a real run whose history holds no customer data."""

from __future__ import annotations

import base64
import os
from datetime import timedelta

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from core.codec import ENCODING, KEY_ID, CodecKeyError, EncryptionCodec, generate_key, parse_keys
from core.settings import Settings
from core.temporal import DATA_CONVERTER, data_converter, workflow_id_for
from domain.actions import Acknowledge
from domain.models import Actor, Role
from tests.ops.conftest import client_on, task_queue
from tests.ops.sample_workflow import CUSTOMER, SampleComplaintWorkflow, complaint, notify, start_attributes

K1 = generate_key("k1")
K2 = generate_key("k2")
SECRETS = [
    CUSTOMER.name,
    "Wang Xiaoming",
    "王小明",
    CUSTOMER.phone,
    "138 0013 8000",
    CUSTOMER.email,
    "spoiled fresh",
]


def payload(text: str) -> Payload:
    return DATA_CONVERTER.payload_converter.to_payloads([text])[0]


async def test_round_trip_seals_the_payload_and_restores_it_exactly():
    codec = EncryptionCodec.from_spec(K1)
    original = payload("王小明 +86 138 0013 8000")
    (sealed,) = await codec.encode([original])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"k1"
    assert "王小明".encode() not in sealed.data and b"138 0013" not in sealed.data
    (opened,) = await codec.decode([sealed])
    assert opened == original
    # Same clear text sealed twice differs (fresh nonce), so equal inputs are not recognisable.
    (again,) = await codec.encode([original])
    assert again.data != sealed.data


async def test_rotation_new_key_seals_old_keys_still_open():
    old = EncryptionCodec.from_spec(K1)
    (sealed_old,) = await old.encode([payload("before rotation")])
    rotated = EncryptionCodec.from_spec(f"{K2},{K1}")
    assert rotated.current_key_id == "k2"
    (sealed_new,) = await rotated.encode([payload("after rotation")])
    assert sealed_new.metadata[KEY_ID] == b"k2"
    assert await rotated.decode([sealed_old, sealed_new]) == [
        payload("before rotation"),
        payload("after rotation"),
    ]
    # Once k1 is dropped, its payloads are refused with a message naming the key, not garbage.
    with pytest.raises(CodecKeyError, match="'k1'.*not in DESK_CODEC_KEYS"):
        await EncryptionCodec.from_spec(K2).decode([sealed_old])


async def test_tampered_or_relabelled_payload_is_refused():
    codec = EncryptionCodec.from_spec(f"{K1},{K2}")
    (sealed,) = await codec.encode([payload("x")])
    flipped = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(CodecKeyError, match="failed authentication"):
        await codec.decode([flipped])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"k2"}, data=sealed.data)
    with pytest.raises(CodecKeyError, match="failed authentication"):
        await codec.decode([relabelled])


async def test_unencrypted_payloads_written_before_encryption_still_read():
    codec = EncryptionCodec.from_spec(K1)
    plain = payload("written before encryption was on")
    assert await codec.decode([plain]) == [plain]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "holds no key"),
        ("k1", "entry 1: expected id:base64key"),
        ("k1:not base64!", "'k1': not valid base64"),
        (f"k1:{base64.b64encode(os.urandom(20)).decode()}", "'k1': must be 16, 24 or 32 bytes, got 20"),
        (f"{K1},{K1}", "'k1' appears twice"),
    ],
)
def test_bad_key_configuration_is_refused_with_the_reason(spec, message):
    with pytest.raises(CodecKeyError, match=message):
        parse_keys(spec)


def test_encryption_is_configuration_only():
    assert data_converter(Settings()) is DATA_CONVERTER
    converter = data_converter(Settings(codec_keys=SecretStr(K1)))
    assert isinstance(converter.payload_codec, EncryptionCodec)


def _history_bytes_and_payloads(history):
    # The wire form: payload bytes appear verbatim (the JSON form would hide them in base64).
    raw = b"".join(event.SerializeToString() for event in history.events)
    payloads = []

    def walk(message, path=""):
        for field, value in message.ListFields():
            if hasattr(value, "ListFields"):
                items = [value]
            elif hasattr(value, "values") and callable(value.values):  # map fields
                items = list(value.values())
            elif isinstance(value, (list, tuple)) or type(value).__name__.startswith("Repeated"):
                items = list(value)
            else:
                continue
            for item in items:
                if isinstance(item, Payload):
                    payloads.append((f"{path}.{field.name}", item))
                elif hasattr(item, "ListFields"):
                    walk(item, f"{path}.{field.name}")

    for event in history.events:
        walk(event)
    return raw, payloads


async def test_a_real_run_leaves_no_customer_data_readable_on_the_server(ts_env):
    settings = Settings(codec_keys=SecretStr(K1))
    sealed_client = client_on(ts_env, data_converter=data_converter(settings))
    plain_client = ts_env.client  # what the server (and the Web UI without the codec server) sees
    tq = task_queue()
    c = complaint("C-CODEC-1")
    async with Worker(sealed_client, task_queue=tq, workflows=[SampleComplaintWorkflow], activities=[notify]):
        handle = await sealed_client.start_workflow(
            SampleComplaintWorkflow.run,
            c,
            id=workflow_id_for(c.complaint_id),
            task_queue=tq,
            search_attributes=start_attributes(c),
            static_summary="urgent · spoiled",
            memo={"channel": "web"},
        )
        # The engineer with the key reads everything.
        state = await handle.query(SampleComplaintWorkflow.state)
        assert state["customer"]["phone"] == CUSTOMER.phone
        # Without the key, query results are sealed too.
        with pytest.raises(Exception, match="binary/encrypted"):  # noqa: B017 - the SDK raises a bare one
            await plain_client.get_workflow_handle(handle.id).query(SampleComplaintWorkflow.state)
        await ts_env.sleep(timedelta(minutes=1))
        await handle.execute_update(
            SampleComplaintWorkflow.acknowledge,
            Acknowledge(actor=Actor(id="zhang", role=Role.SPECIALIST), note=f"called {CUSTOMER.phone}"),
        )
        assert await handle.result() == "C-CODEC-1 acknowledged by zhang"

    history = await plain_client.get_workflow_handle(handle.id).fetch_history()
    raw, payloads = _history_bytes_and_payloads(history)
    sealed = {path.rsplit(".", 1)[0] for path, p in payloads if p.metadata["encoding"] == ENCODING}
    plain = {path for path, p in payloads if p.metadata["encoding"] != ENCODING}
    # Only search attributes stay readable (the server indexes them); everything else is sealed.
    assert plain and all(".search_attributes." in path for path in plain)
    for kind in (
        "workflow_execution_started_event_attributes.input",
        "user_metadata",
        "memo",
        "activity_task_scheduled_event_attributes.input",
        "update_accepted_event_attributes",
    ):
        assert any(kind in path for path in sealed), f"no sealed payload under {kind}"
    for secret in SECRETS:
        assert secret.encode() not in raw

    # Search attributes are never encrypted, so they must never carry customer data.
    description = await plain_client.get_workflow_handle(handle.id).describe()
    visible = repr(description.raw_description.workflow_execution_info.search_attributes) + repr(
        description.typed_search_attributes
    )
    for secret in SECRETS:
        assert secret not in visible
    assert "C-CODEC-1" in visible  # the complaint number is there for engineers to search on


async def test_failure_messages_are_sealed_too():
    """Update rejections and failures can quote what the customer typed: their text is encrypted as well."""
    converter = data_converter(Settings(codec_keys=SecretStr(K1)))
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"phone {CUSTOMER.phone} is not reachable"), failure)
    assert CUSTOMER.phone.encode() not in failure.SerializeToString()
    restored = await converter.decode_failure(failure)
    assert CUSTOMER.phone in str(restored)


async def test_rotation_on_a_running_complaint_new_key_seals_what_follows_and_the_old_key_still_opens(ts_env):
    """Rolled deploy: a complaint started under k1 is finished by workers holding `k2,k1`."""
    tq = task_queue()
    c = complaint("C-ROTATE-1")
    before = client_on(ts_env, data_converter=data_converter(Settings(codec_keys=SecretStr(K1))))
    # No cache, so no sticky queue: the next worker gets the complaint at once and replays it from history.
    async with Worker(
        before,
        task_queue=tq,
        workflows=[SampleComplaintWorkflow],
        activities=[notify],
        max_cached_workflows=0,
    ):
        handle = await before.start_workflow(
            SampleComplaintWorkflow.run, c, id=workflow_id_for(c.complaint_id), task_queue=tq,
            search_attributes=start_attributes(c),
        )  # fmt: skip
        assert (await handle.query(SampleComplaintWorkflow.state))["customer"]["phone"] == CUSTOMER.phone

    rotated = client_on(ts_env, data_converter=data_converter(Settings(codec_keys=SecretStr(f"{K2},{K1}"))))
    async with Worker(rotated, task_queue=tq, workflows=[SampleComplaintWorkflow], activities=[notify]):
        again = rotated.get_workflow_handle(handle.id)
        # The new worker replays the k1 history and carries on.
        assert (await again.query(SampleComplaintWorkflow.state))["customer"]["phone"] == CUSTOMER.phone
        await again.execute_update(
            SampleComplaintWorkflow.acknowledge, Acknowledge(actor=Actor(id="zhang", role=Role.SPECIALIST))
        )
        assert await again.result() == "C-ROTATE-1 acknowledged by zhang"

    history = await ts_env.client.get_workflow_handle(handle.id).fetch_history()
    _, payloads = _history_bytes_and_payloads(history)
    key_of = {}
    for path, p in payloads:
        if p.metadata["encoding"] == ENCODING:
            key_of.setdefault(path.split(".", 2)[1], set()).add(p.metadata[KEY_ID])
    assert key_of["workflow_execution_started_event_attributes"] == {b"k1"}  # sealed before the rotation
    assert key_of["workflow_execution_completed_event_attributes"] == {b"k2"}  # sealed after it
    # Dropping k1 too early: the old input is refused by name, not read as garbage.
    only_new = client_on(ts_env, data_converter=data_converter(Settings(codec_keys=SecretStr(K2))))
    started = history.events[0].workflow_execution_started_event_attributes.input.payloads
    with pytest.raises(CodecKeyError, match="'k1'.*not in DESK_CODEC_KEYS"):
        await only_new.data_converter.payload_codec.decode(started)
