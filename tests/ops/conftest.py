"""Helpers for the ops tests: clients on the shared test servers with our interceptors / converters."""

from __future__ import annotations

import io
import json
import logging
import socket
import uuid
from collections.abc import Iterator, Sequence

import pytest
import structlog
from temporalio.client import Client, Interceptor
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment


def client_on(
    env: WorkflowEnvironment,
    *,
    interceptors: Sequence[Interceptor] = (),
    data_converter: DataConverter | None = None,
) -> Client:
    """A client on the env's server; ours go first (outermost), the env's own (time skipping) stay."""
    config = env.client.config()
    config["interceptors"] = [*interceptors, *config["interceptors"]]
    if data_converter is not None:
        config["data_converter"] = data_converter
    return Client(**config)


def task_queue() -> str:
    return f"ops-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LogLines:
    def __init__(self, buffer: io.StringIO) -> None:
        self._buffer = buffer

    def all(self) -> list[dict]:
        out = []
        for line in self._buffer.getvalue().splitlines():
            line = line.strip()
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def find(self, event: str) -> list[dict]:
        return [e for e in self.all() if e.get("event") == event]


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[LogLines]:
    """The real logging set-up (core.logs) in JSON, written to a buffer; restored afterwards."""
    from core.logs import configure_logging

    saved_config = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stderr", buffer)
    configure_logging("INFO", json=True)
    structlog.configure(cache_logger_on_first_use=False)  # don't pin loggers to this buffer for later tests
    try:
        yield LogLines(buffer)
    finally:
        structlog.configure(**saved_config)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
