"""The product as real processes, for benchmarks and fault tests: a dev server, an embedded PostgreSQL
database with the ledger migrated, the local notification sinks, the worker (`python -m desk worker`) and,
when asked, the web app (`python -m desk web`).

The sinks (the HTTP stand-ins of `standins/http.py` and the SMTP sink) run inside the calling process on
free ports, like the outside providers they stand for: they keep running while the worker, the dev server
or PostgreSQL is killed. Everything is configured the way `desk up` configures it, through DESK_ variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client

from bench.processes import DevServer, Postgres, ProcessGroup, PythonProcess, free_port
from core.temporal import DATA_CONVERTER
from ledger.schema import migrate

TASK_QUEUE = "complaints"


class Product:
    def __init__(
        self,
        workdir: Path,
        *,
        pg: Postgres | None = None,
        env: dict[str, str] | None = None,
        task_queue: str = TASK_QUEUE,
        workers: int = 1,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.server = DevServer(workdir / "temporal")
        self._own_pg = pg is None
        self.pg = pg
        self.extra_env = env or {}
        self.task_queue = task_queue
        self.database_url = ""
        self.pool: asyncpg.Pool | None = None
        self.client: Client | None = None
        self.sink_url = ""
        self.smtp_port = 0
        self.web_port = free_port()
        self.workers = workers  # worker processes (replicas), each `python -m desk worker`
        self.worker: ProcessGroup | None = None
        self.web: PythonProcess | None = None
        self._stack = contextlib.AsyncExitStack()

    # -- lifecycle ----------------------------------------------------------------------------------------
    async def start(self, *, worker: bool = True, web: bool = False, temporal: bool = True) -> Product:
        """`temporal=False`: only PostgreSQL and the sinks (the caller brings its own Temporal)."""
        if temporal:
            self.server.start()
        if self.pg is None:
            self.pg = await asyncio.to_thread(Postgres, self.workdir / "pg")
        name = "desk_" + uuid.uuid4().hex[:10]
        self.database_url = await self.pg.create_database(name)
        await migrate(self.database_url)
        self.pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=8)
        await self._start_sinks()
        if not temporal:
            return self
        await self.server.wait_ready()
        self.client = await Client.connect(self.server.address, data_converter=DATA_CONVERTER)
        if worker:
            await self.start_worker()
        if web:
            await self.start_web()
        return self

    async def _start_sinks(self) -> None:
        from fastapi import FastAPI

        from standins import http as standins_http
        from standins.sink import start_smtp_sink

        app = FastAPI()
        # The robots refuse past 20 messages a minute, as WeCom's and DingTalk's do: the burst meets that too.
        app.include_router(standins_http.build_router(robot_limit_per_minute=20))
        app.state.pool = self.pool
        self.sink_url = await self._stack.enter_async_context(standins_http.serve(app))
        self.smtp_port = free_port()
        smtp = await start_smtp_sink("127.0.0.1", self.smtp_port, self.pool)
        self._stack.push_async_callback(_close_server, smtp)

    def env(self) -> dict[str, str]:
        sink_port = self.sink_url.rsplit(":", 1)[-1]
        env = {
            "DESK_TEMPORAL_ADDRESS": self.server.address,
            "DESK_TEMPORAL_ENVCONFIG": "false",
            "DESK_TEMPORAL_NAMESPACE": "default",
            "DESK_TASK_QUEUE": self.task_queue,
            "DESK_DATABASE_URL": self.database_url,
            # The stand-ins' base URL is derived from the web host/port (activities/registry.py).
            "DESK_WEB_HOST": "127.0.0.1",
            "DESK_WEB_PORT": sink_port,
            "DESK_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.web_port}",
            "DESK_SMTP_HOST": "127.0.0.1",
            "DESK_SMTP_PORT": str(self.smtp_port),
            "DESK_LOG_JSON": "true",
            "DESK_DEMO_USERS": "false",
            "DESK_DEV_MODE": "true",  # the built-in secret key is fine for a benchmark on loopback
        }
        env.update(self.extra_env)
        return env

    async def start_worker(
        self, *, extra: dict[str, str] | None = None, ready_timeout: float = 60.0
    ) -> ProcessGroup:
        if self.worker is None:
            env = {**self.env(), **(extra or {})}
            self.worker = ProcessGroup(
                [
                    PythonProcess("desk", ["worker"], env, self.workdir / f"worker{i or ''}.log")
                    for i in range(self.workers)
                ]
            )
        self.worker.start()
        await self.wait_worker_polling(timeout=ready_timeout)
        return self.worker

    async def wait_worker_polling(self, timeout: float = 60.0) -> None:
        """Until the server lists every worker process (identity `pid@host`) among the task queue's pollers."""
        from temporalio.api.enums.v1 import TaskQueueType
        from temporalio.api.taskqueue.v1 import TaskQueue
        from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

        assert self.worker is not None and self.client is not None
        deadline = time.monotonic() + timeout
        prefixes = [f"{pid}@" for pid in self.worker.pids]
        while time.monotonic() < deadline:
            if not self.worker.running():
                raise RuntimeError(f"worker exited: {self.worker.log_tail()}")
            with contextlib.suppress(Exception):  # the server may be restarting too
                resp = await self.client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(
                        namespace="default",
                        task_queue=TaskQueue(name=self.task_queue),
                        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                    )
                )
                if all(any(p.identity.startswith(x) for p in resp.pollers) for x in prefixes):
                    return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"worker not polling after {timeout}s: {self.worker.log_tail()}")

    async def start_web(self, timeout: float = 60.0) -> PythonProcess:
        import httpx

        env = {**self.env(), "DESK_WEB_PORT": str(self.web_port)}
        self.web = PythonProcess(
            "desk",
            ["web", "--host", "127.0.0.1", "--port", str(self.web_port)],
            env,
            self.workdir / "web.log",
        )
        self.web.start()
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if not self.web.running():
                    raise RuntimeError(f"web app exited: {self.web.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (
                        await http.get(f"http://127.0.0.1:{self.web_port}/healthz", timeout=1)
                    ).status_code == 200:
                        return self.web
                await asyncio.sleep(0.2)
        raise TimeoutError(f"web app not answering after {timeout}s: {self.web.log_tail()}")

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by each part: what a benchmark phase was limited by."""
        import os

        import psutil

        def tree(pid: int | None) -> float:
            if not pid:
                return 0.0
            try:
                p = psutil.Process(pid)
                procs = [p, *p.children(recursive=True)]
            except psutil.NoSuchProcess:
                return 0.0
            total = 0.0
            for q in procs:
                try:
                    t = q.cpu_times()
                    total += t.user + t.system
                except psutil.NoSuchProcess:
                    pass
            return total

        me = psutil.Process(os.getpid()).cpu_times()
        return {
            "worker": sum(tree(pid) for pid in (self.worker.pids if self.worker else [])),
            "temporal": tree(self.server.pid),
            "postgres": tree(self.pg.pid if self.pg else None),
            "web": tree(self.web.pid if self.web and self.web.running() else None),
            "bench+sinks": me.user + me.system,
        }

    async def restart_server(self, *, kill: bool = True) -> None:
        """Kill (SIGKILL) or stop the dev server and start it again on the same data file and ports."""
        if kill:
            self.server.kill()
        else:
            self.server.stop()
        self.server.start()
        await self.server.wait_ready()

    async def stop(self) -> None:
        for proc in (self.web, self.worker):
            if proc is not None:
                proc.stop()
        if self.pool is not None:
            await self.pool.close()
        await self._stack.aclose()
        self.server.stop()
        if self._own_pg and self.pg is not None:
            await asyncio.to_thread(self.pg.cleanup)

    async def __aenter__(self) -> Product:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()


async def _close_server(server: Any) -> None:
    server.close()
    with contextlib.suppress(Exception):
        await server.wait_closed()
