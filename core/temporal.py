"""The one place that connects to Temporal: client factory, data converter, workflow ids.

Where to connect comes from Temporal's environment configuration, so the same build runs on the dev server,
a self-hosted cluster and Temporal Cloud: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS*, TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE (TOML profiles). What it leaves unset falls back to
DESK_TEMPORAL_ADDRESS / DESK_TEMPORAL_NAMESPACE. On top: payload encryption when DESK_CODEC_KEYS is set,
tracing when DESK_TRACING_EXPORTER is set, the SDK's Prometheus endpoint when DESK_SDK_METRICS_BIND is set.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
)
from temporalio.envconfig import ClientConfigProfile
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime

from core.codec import EncryptionCodec
from core.settings import Settings
from core.telemetry import ComplaintContextInterceptor, runtime_for, setup_tracing, tracing_interceptor


class _RefusingJSONConverter(PydanticJSONPlainPayloadConverter):
    """Pydantic JSON; a value whose type says how to refuse a bad payload (an Update input's
    `payload_refusal`) is refused that way — a code and parameters the UI words — instead of failing with
    pydantic's validation dump."""

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        try:
            return super().from_payload(payload, type_hint)
        except ValidationError as e:
            hook = getattr(type_hint, "payload_refusal", None)
            if hook is None:
                raise
            code, message, params = hook(e)
            raise ApplicationError(message, params, type=code, non_retryable=True) from None


# The SDK builds a payload converter for every workflow run it loads: these parts are stateless (the JSON
# part's cache of pydantic TypeAdapters is thread-safe), so every run shares one set, and each payload type
# gets one TypeAdapter per process instead of one per cached complaint (`bench.memory_probe --inside`).
_PARTS = tuple(
    _RefusingJSONConverter() if isinstance(c, PydanticJSONPlainPayloadConverter) else c
    for c in PydanticPayloadConverter().converters.values()
)


class PayloadConverter(CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(*_PARTS)


# Without encryption: tests and tools that read plain histories. Processes use data_converter(settings).
DATA_CONVERTER = DataConverter(payload_converter_class=PayloadConverter)


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic converter, plus the encryption codec when keys are configured. Failure messages and stack
    traces are then encrypted too (they can quote customer input), at the price of the Web UI showing them
    only through the codec server."""
    spec = settings.codec_keys.get_secret_value()
    if not spec.strip():
        return DATA_CONVERTER
    return dataclasses.replace(
        DATA_CONVERTER,
        payload_codec=EncryptionCodec.from_spec(spec),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def connect_options(settings: Settings) -> dict[str, Any]:
    """`Client.connect` keyword arguments for where and how to connect (address, namespace, TLS, API key,
    gRPC metadata): Temporal's environment configuration first, DESK_ settings as fallback."""
    options: dict[str, Any] = {}
    if settings.temporal_envconfig:
        if settings.temporal_config_file is not None and not settings.temporal_config_file.is_file():
            # Temporal's loader would quietly fall back to the defaults and connect somewhere else.
            raise FileNotFoundError(
                f"DESK_TEMPORAL_CONFIG_FILE {settings.temporal_config_file} does not exist"
            )
        profile = ClientConfigProfile.load(
            profile=settings.temporal_profile,
            config_source=settings.temporal_config_file,
        )
        options.update(profile.to_client_connect_config())
    options.setdefault("target_host", settings.temporal_address)
    options.setdefault("namespace", settings.temporal_namespace)
    return options


def interceptors(settings: Settings) -> list[Interceptor]:
    """Complaint context first (so its baggage is in place when the tracing span is made), then tracing."""
    chain: list[Interceptor] = [ComplaintContextInterceptor()]
    provider = setup_tracing(settings)
    if provider is not None:
        chain.append(tracing_interceptor(provider))
    return chain


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """The client for workers, the web app and tools. Workers built on it inherit its interceptors."""
    return await Client.connect(
        **connect_options(settings),
        data_converter=data_converter(settings),
        interceptors=interceptors(settings),
        runtime=runtime or runtime_for(settings),
    )


def workflow_id_for(complaint_id: str) -> str:
    return f"complaint-{complaint_id}"


def dedupe_workflow_id(dedupe_key: str) -> str:
    """Same customer + order + issue while open → same workflow id, so update-with-start joins it."""
    return "complaint-d-" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:24]
