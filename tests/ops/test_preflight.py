"""Start-up check against real namespaces: a ready one passes, a bare one fails with a command that fixes it."""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client

from core.temporal import DATA_CONVERTER
from domain import search_attributes
from workers.preflight import PreflightError, check_search_attributes, preflight

TEMPORAL_CLI = str(Path(sys.executable).parent / "temporal")


async def bare_namespace(env) -> Client:
    """A fresh namespace on the dev server, without our search attributes."""
    name = f"ops-bare-{uuid.uuid4().hex[:8]}"
    await env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=name, workflow_execution_retention_period=Duration(seconds=86400))
    )
    client = await Client.connect(
        env.client.service_client.config.target_host, namespace=name, data_converter=DATA_CONVERTER
    )
    for _ in range(100):  # the new namespace reaches the frontend's cache shortly after registration
        try:
            await check_search_attributes(client)
            return client
        except Exception:
            await asyncio.sleep(0.1)
    return client


async def test_ready_namespace_passes(dev_env):
    report = await preflight(dev_env.client)
    assert report is not None and report.ok


async def test_bare_namespace_fails_with_the_command_that_fixes_it(dev_env):
    client = await bare_namespace(dev_env)
    with pytest.raises(PreflightError) as refused:
        await preflight(client)
    message = str(refused.value)
    assert "missing search attributes: ComplaintId, ComplaintTier" in message
    commands = [line.strip() for line in message.splitlines() if line.strip().startswith("temporal operator")]
    assert len(commands) == 1
    assert "tcld namespace search-attributes add" in message

    # Run exactly what was printed, with the real CLI, then the check passes.
    address = dev_env.client.service_client.config.target_host
    for command in commands:
        done = subprocess.run(
            [TEMPORAL_CLI, *shlex.split(command)[1:], "--address", address],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    for _ in range(100):
        report = await check_search_attributes(client)
        if report.ok:
            break
        await asyncio.sleep(0.1)
    assert report.ok, report.message()
    assert (await preflight(client)).ok


async def test_attribute_of_the_wrong_type_is_reported(dev_env):
    client = await bare_namespace(dev_env)
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                search_attributes.BREACH_COUNT.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
            },
        )
    )
    for _ in range(100):
        report = await check_search_attributes(client)
        if report.wrong_type:
            break
        await asyncio.sleep(0.1)
    assert [(k.name, found) for k, found in report.wrong_type] == [("BreachCount", "Keyword")]
    assert search_attributes.BREACH_COUNT not in report.missing
    assert "BreachCount has type Keyword, the desk needs Int" in report.message()
