"""Where a cached complaint's memory goes, at small N (`python -m bench.memory_probe --n 100 300`).

Two ways, on the real product (dev server, embedded PostgreSQL, sinks: bench/product.py):
- default: the worker as `desk worker` in its own process; its resident memory idle and once N complaints
  are open and settled, per complaint. `--cache K` sets DESK_WORKER_MAX_CACHED_WORKFLOWS to see the level
  past the cache.
- `--inside`: the same worker (settings, activities, tuning of workers/main.py) run in this process under
  tracemalloc, so the growth can be split by the source line that allocated it, and the module objects the
  sandbox holds can be counted by name (each cached run imports its own copy of every module that is not
  passed through). It also reads glibc's heap (in use, and freed but kept) and the RSS after a
  `malloc_trim`, to tell memory in use outside Python from memory the allocator keeps.

A probe that prints figures, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import functools
import gc
import os
import sys
import tempfile
import time
import tracemalloc
import types
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psutil
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from activities.registry import build_activities, build_relay
from bench import wave
from bench.complaints import complaint_input, policy_with_window, start_complaint
from bench.product import Product
from core.db import create_pool
from core.settings import Settings
from core.temporal import workflow_id_for
from workers.tuning import worker_tuning
from workflows.registry import WORKFLOWS

MIB = 2**20


async def _history_bytes(product: Product, workflow_id: str) -> None:
    """One complaint's history by event type: what the worker's Rust core keeps per cached run grows with
    the payloads of the commands the run sent (activity inputs, markers, search attributes)."""
    assert product.client is not None
    sizes: collections.Counter = collections.Counter()
    counts: collections.Counter = collections.Counter()
    async for ev in product.client.get_workflow_handle(workflow_id).fetch_history_events():
        name = EventType.Name(ev.event_type).removeprefix("EVENT_TYPE_").lower()
        sizes[name] += ev.ByteSize()
        counts[name] += 1
    print(
        f"  one complaint's history: {sum(counts.values())} events, {sum(sizes.values()) / 1024:.1f} KiB: "
        + ", ".join(f"{k} {counts[k]}x {v / 1024:.1f}" for k, v in sizes.most_common(6))
    )


async def _open(product: Product, n: int, *, window: float, concurrency: int = 16) -> list[str]:
    """Start n complaints whose first deadline is `window` seconds away, and wait until they settled."""
    assert product.client is not None
    t0 = datetime.now(UTC)
    tag = uuid.uuid4().hex[:6]
    policy = policy_with_window(window) if window else None
    await wave.start_all(
        n,
        lambda i: start_complaint(
            product.client, product.task_queue, complaint_input(f"M-{tag}-{i}", t0), policy
        ),
        concurrency=concurrency,
        worker=None,
    )
    return [workflow_id_for(f"M-{tag}-{i}") for i in range(n)]


async def _settle(product: Product, total: int, pids: list[int]) -> None:
    assert product.pool is not None
    deadline = time.monotonic() + max(120.0, total * 1.0)
    while time.monotonic() < deadline:
        n = await product.pool.fetchval("SELECT count(*) FROM complaints")
        pending = await product.pool.fetchval(
            "SELECT count(*) FROM notifications WHERE status IN ('queued', 'sending', 'failed')"
        )
        if (
            n >= total
            and pending == 0
            and await wave.wait_quiet(pids, quiet_cpu=8.0, quiet_for=2.0, timeout=30)
        ):
            return
        await asyncio.sleep(1.0)
    print(f"  (not settled: {n}/{total} complaints in the ledger)")


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


async def probe_process(ns: list[int], workdir: Path, *, cache: int | None, window: float, env: dict) -> None:
    extra = {"DESK_LOG_LEVEL": "WARNING", **env}
    if cache:
        extra["DESK_WORKER_MAX_CACHED_WORKFLOWS"] = str(cache)
    for n in ns:
        product = Product(workdir / f"p{n}", env=extra)
        await product.start(worker=True)
        try:
            assert product.worker is not None
            await asyncio.sleep(2.0)
            idle = product.worker.rss_bytes()
            print(
                f"N={n}: {_load()} at start; worker RSS idle {idle / MIB:.1f} MiB (cache {cache or 'default'})"
            )
            opened = 0
            for step in (n // 2, n - n // 2):
                ids = await _open(product, step, window=window)
                opened += step
                await _settle(product, opened, [*product.worker.pids, product.server.pid])
                rss = product.worker.rss_bytes()
                print(
                    f"  {opened:>5} open: RSS {rss / MIB:.1f} MiB, +{(rss - idle) / MIB:.1f} MiB, "
                    f"{(rss - idle) / opened / 1024:.0f} KiB per complaint = "
                    f"{(rss - idle) / opened * 1000 / MIB:.0f} MiB per 1,000"
                )
            await _history_bytes(product, ids[0])
            print(f"  {_load()} at the end")
        finally:
            await product.stop()


def _pymalloc() -> str:
    """pymalloc's arenas: in use, and free inside them (freed objects whose arena cannot go back to the
    system yet: memory the RSS keeps after a burst of short-lived objects)."""
    r, w = os.pipe()
    saved = os.dup(2)
    os.dup2(w, 2)
    try:
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(w)
        os.close(saved)
    with os.fdopen(r) as f:
        text = f.read()
    stats = {}
    for line in text.splitlines():
        key, _, val = line.rpartition("=")
        if key.strip().startswith("#"):
            stats[key.strip("# ").strip()] = int(val.strip().replace(",", "") or 0)
    used = stats.get("bytes in allocated blocks", 0)
    arenas = stats.get("arenas allocated current", 0)  # 1 MiB each (CPython 3.10+, 64-bit)
    return f"{arenas} arenas, {used / MIB:.1f} MiB in objects, {arenas - used / MIB:.1f} MiB free inside them"


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return None


def _malloc() -> tuple[int, int] | None:
    """glibc's heap (bytes in use, bytes free but kept), mmapped blocks counted as in use. Python's large
    blocks, tracemalloc's traces and the Rust core come from it: in use minus the first two is native."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallinfo2"):  # mallinfo2: glibc 2.33+
        return None
    libc.mallinfo2.restype = _MallInfo2
    m = libc.mallinfo2()
    return m.uordblks + m.hblkhd, m.fordblks


def _trimmed_rss(me: psutil.Process) -> int:
    """RSS once glibc has handed its free pages back (malloc_trim): what the freed memory was holding."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    return me.memory_info().rss


def _modules_held() -> collections.Counter:
    """Module objects alive in the process by name: the sandbox's per-run copies show up as counts > 1."""
    return collections.Counter(o.__name__ for o in gc.get_objects() if isinstance(o, types.ModuleType))


def _types_held() -> collections.Counter:
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


async def probe_inside(n: int, workdir: Path, *, window: float, top: int, cache: int | None) -> None:
    product = Product(workdir / "inside", env={"DESK_LOG_LEVEL": "WARNING"})
    await product.start(worker=False)
    try:
        os.environ.update({k: v for k, v in product.env().items()})
        if cache:
            os.environ["DESK_WORKER_MAX_CACHED_WORKFLOWS"] = str(cache)
        settings = Settings()
        pool = await create_pool(settings.database_url)
        relay = build_relay(settings, pool)  # as workers/main.py: robots are paced, not sent by the steps
        activities = build_activities(settings, pool, relay)
        assert product.client is not None
        worker = Worker(
            product.client,
            task_queue=product.task_queue,
            workflows=list(WORKFLOWS),
            activities=activities,
            activity_executor=ThreadPoolExecutor(max_workers=8),
            **worker_tuning(settings),
        )
        async with relay.running(), worker:
            # one complaint first, so one-off imports and caches are not counted per complaint
            await _open(product, 1, window=window)
            await _settle(product, 1, [os.getpid(), product.server.pid])
            gc.collect()
            me = psutil.Process()
            rss0 = me.memory_info().rss
            mods0, types0 = _modules_held(), _types_held()
            pymalloc0 = _pymalloc()
            malloc0 = _malloc()
            tracemalloc.start(1)
            snap0 = tracemalloc.take_snapshot()
            await _open(product, n, window=window)
            await _settle(product, n + 1, [os.getpid(), product.server.pid])
            gc.collect()
            snap1 = tracemalloc.take_snapshot()
            traced = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            rss1 = me.memory_info().rss
            malloc1 = _malloc()
            print(f"inside, N={n}: {_load()}")
            print(
                f"  RSS +{(rss1 - rss0) / MIB:.1f} MiB ({(rss1 - rss0) / n / 1024:.0f} KiB per complaint, "
                f"tracemalloc overhead included); Python heap traced {traced / MIB:.1f} MiB"
            )
            filt = [tracemalloc.Filter(False, tracemalloc.__file__)]
            stats = snap1.filter_traces(filt).compare_to(snap0.filter_traces(filt), "filename")
            total = sum(s.size_diff for s in stats)
            print(
                f"  Python allocations +{total / MIB:.1f} MiB = {total / n / 1024:.0f} KiB per complaint; by file:"
            )
            for s in stats[:top]:
                print(
                    f"    {s.size_diff / n / 1024:8.1f} KiB/complaint  {s.count_diff / n:8.0f} blocks  {_short(s.traceback[0].filename)}"
                )
            print("  by line:")
            for s in snap1.filter_traces(filt).compare_to(snap0.filter_traces(filt), "lineno")[:top]:
                fr = s.traceback[0]
                print(f"    {s.size_diff / n / 1024:8.1f} KiB/complaint  {_short(fr.filename)}:{fr.lineno}")
            del snap0, snap1, stats  # the snapshots' own objects would count
            gc.collect()
            print(f"  pymalloc: {_pymalloc()} (before: {pymalloc0})")
            if malloc0 and malloc1:
                used = malloc1[0] - malloc0[0]
                print(
                    f"  glibc heap in use +{used / MIB:.1f} MiB = {used / n / 1024:.0f} KiB per complaint "
                    f"(Python raw allocations and tracemalloc's own included; native = this minus the traced "
                    f"heap's large blocks); free but kept {malloc1[1] / MIB:.1f} MiB "
                    f"(before: {malloc0[1] / MIB:.1f})"
                )
            rss2 = _trimmed_rss(me)
            print(
                f"  RSS after malloc_trim: +{(rss2 - rss0) / MIB:.1f} MiB = {(rss2 - rss0) / n / 1024:.0f} KiB "
                f"per complaint (was +{(rss1 - rss0) / MIB:.1f} MiB)"
            )
            mods = _modules_held() - mods0
            print(f"  module objects per complaint: {sum(mods.values()) / n:.1f}; the most copied:")
            for name, c in mods.most_common(top):
                print(f"    {c / n:6.2f}  {name}")
            _instance_breakdown(top)
            tys = _types_held() - types0
            print(f"  objects per complaint: {sum(tys.values()) / n:.0f}; by type:")
            for name, c in tys.most_common(top):
                print(f"    {c / n:8.1f}  {name}")
        await pool.close()
    finally:
        await product.stop()


_STOP = (types.ModuleType, type, types.FunctionType, types.CodeType, types.BuiltinFunctionType)


def _reachable(root: object) -> set[int]:
    """Ids of the objects reachable from root, not going into modules, classes, functions or code."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        o = todo.pop()
        if id(o) in seen or isinstance(o, _STOP):
            continue
        seen.add(id(o))
        todo.extend(gc.get_referents(o))
    return seen


def _own_size(root: object, others: set[int], objs: dict[int, object]) -> int:
    return sum(sys.getsizeof(objs[i]) for i in _reachable(root) - others if i in objs)


def _instance_breakdown(top: int) -> None:
    """What one cached complaint holds that no other does: its workflow instance, attribute by attribute."""
    impls = [o for o in gc.get_objects() if type(o).__name__ == "_WorkflowInstanceImpl"]
    impls = [i for i in impls if type(getattr(i, "_object", None)).__name__ == "ComplaintWorkflow"]
    if len(impls) < 2:
        print("  (fewer than two complaint instances in memory)")
        return
    a, b = impls[0], impls[1]
    objs = {id(o): o for o in gc.get_objects()}
    for o in list(objs.values()):  # untracked leaves (str, int, datetime) too
        for r in gc.get_referents(o):
            objs.setdefault(id(r), r)
    shared = _reachable(b)
    print(f"  one complaint's own objects: {_own_size(a, shared, objs) / 1024:.1f} KiB (sys.getsizeof, deep)")
    for label, obj in (("instance", a), ("workflow object", a._object)):
        sizes = sorted(((_own_size(v, shared, objs), k) for k, v in vars(obj).items()), reverse=True)
        print(
            f"    {label} attributes:",
            ", ".join(f"{k} {sz / 1024:.1f}" for sz, k in sizes[:top] if sz >= 512),
        )
    state = getattr(a._object, "s", None)
    if state is not None:
        sizes = sorted(
            ((_own_size(getattr(state, k), shared, objs), k) for k in type(state).model_fields), reverse=True
        )
        print(
            "    CaseState fields:", ", ".join(f"{k} {sz / 1024:.1f}" for sz, k in sizes[:top] if sz >= 256)
        )


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/wt/memory/", "lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[100, 300])
    ap.add_argument("--inside", action="store_true", help="run the worker in this process, under tracemalloc")
    ap.add_argument("--cache", type=int, default=None, help="max_cached_workflows (default: the setting's)")
    ap.add_argument(
        "--window", type=float, default=3600.0, help="seconds to the first deadline (0: the preset)"
    )
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the worker")
    args = ap.parse_args(argv)
    env = dict(kv.split("=", 1) for kv in args.env)
    workdir = Path(tempfile.mkdtemp(prefix="memory-probe-"))
    if args.inside:
        os.environ.update(env)
        for n in args.n:
            asyncio.run(probe_inside(n, workdir, window=args.window, top=args.top, cache=args.cache))
    else:
        asyncio.run(probe_process(args.n, workdir, cache=args.cache, window=args.window, env=env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
