"""Client settings from Temporal's environment configuration, DESK_ settings as the fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

from core.codec import EncryptionCodec, generate_key
from core.settings import Settings
from core.telemetry import ComplaintContextInterceptor
from core.temporal import connect, connect_options

DEAD = "127.0.0.1:9"  # nothing listens there: a DESK_ fallback that must not be used


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for var in (
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "TEMPORAL_API_KEY",
        "TEMPORAL_PROFILE",
        "TEMPORAL_TLS",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "none.toml"))  # never the user's own file
    return tmp_path


async def test_toml_profile_chooses_the_cluster_and_env_vars_override_it(dev_env, clean_env, monkeypatch):
    address = dev_env.client.service_client.config.target_host
    config = clean_env / "temporal.toml"
    config.write_text(
        f'[profile.staging]\naddress = "{address}"\nnamespace = "default"\n'
        '[profile.cloud]\naddress = "complaints.a1b2c.tmprl.cloud:7233"\nnamespace = "complaints.a1b2c"\n'
        'api_key = "key-from-toml"\n'
    )
    settings = Settings(temporal_address=DEAD, temporal_config_file=config, temporal_profile="staging")
    client = await connect(settings)
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace="default")
    )
    assert described.namespace_info.name == "default"
    assert isinstance(client.config()["interceptors"][0], ComplaintContextInterceptor)

    # Temporal Cloud profile: API key implies TLS.
    cloud = connect_options(Settings(temporal_config_file=config, temporal_profile="cloud"))
    assert cloud == {
        "target_host": "complaints.a1b2c.tmprl.cloud:7233",
        "namespace": "complaints.a1b2c",
        "api_key": "key-from-toml",
        "tls": True,
    }
    # Environment variables beat the file (secrets come from the environment in deployments).
    monkeypatch.setenv("TEMPORAL_API_KEY", "key-from-env")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "complaints-prod.a1b2c")
    from_env = connect_options(Settings(temporal_config_file=config, temporal_profile="cloud"))
    assert from_env["api_key"] == "key-from-env" and from_env["namespace"] == "complaints-prod.a1b2c"


def test_mtls_profile_reads_the_certificates(clean_env):
    (clean_env / "client.pem").write_text("CERT")
    (clean_env / "client.key").write_text("KEY")
    config = clean_env / "temporal.toml"
    config.write_text(
        '[profile.default]\naddress = "temporal.internal:7233"\nnamespace = "complaints"\n'
        f'[profile.default.tls]\nclient_cert_path = "{clean_env / "client.pem"}"\n'
        f'client_key_path = "{clean_env / "client.key"}"\nserver_name = "temporal.internal"\n'
    )
    options = connect_options(Settings(temporal_config_file=config))
    tls = options["tls"]
    assert (tls.client_cert, tls.client_private_key, tls.domain) == (b"CERT", b"KEY", "temporal.internal")


def test_desk_settings_are_the_fallback_and_envconfig_can_be_switched_off(clean_env, monkeypatch):
    assert connect_options(Settings(temporal_address="10.0.0.5:7233", temporal_namespace="desk")) == {
        "target_host": "10.0.0.5:7233",
        "namespace": "desk",
    }
    monkeypatch.setenv("TEMPORAL_ADDRESS", "cluster:7233")
    assert connect_options(Settings(temporal_address="10.0.0.5:7233"))["target_host"] == "cluster:7233"
    # The embedded dev stack ignores the user's Temporal settings: it must talk to its own server.
    assert connect_options(Settings(temporal_address="127.0.0.1:7233", temporal_envconfig=False)) == {
        "target_host": "127.0.0.1:7233",
        "namespace": "default",
    }


def test_a_config_file_that_does_not_exist_is_an_error_not_a_silent_fallback(clean_env):
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        connect_options(Settings(temporal_config_file=clean_env / "missing.toml"))


async def test_connect_turns_on_encryption_from_settings(dev_env, clean_env):
    address = dev_env.client.service_client.config.target_host
    client = await connect(Settings(temporal_address=address, codec_keys=SecretStr(generate_key("k9"))))
    codec = client.data_converter.payload_codec
    assert isinstance(codec, EncryptionCodec) and codec.current_key_id == "k9"
