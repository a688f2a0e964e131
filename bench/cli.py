"""`desk bench`: run the benchmarks, save JSON results, write the Markdown report with plots.

    desk bench                                  # everything, N = 1,000 and 10,000
    desk bench --n 1000 --what floor,lateness   # a subset
    desk bench --report-only bench/results/latest.json   # several files: merged into one report

Each measurement starts its own dev server (SQLite, WAL) and embedded PostgreSQL on free ports with
temporary data, so a run never touches `desk up`'s data folder. A measurement that cannot run (a part of
the product not there yet, a failure) is recorded as skipped with the reason, and the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import machine, sustained
from bench.processes import REPO
from bench.progress import Progress

WHAT = ("floor", "lateness", "memory", "sustained", "intake", "cost")
RESULTS_DIR = REPO / "bench" / "results"
SUSTAINED = ("sustained", "sustained_floor")  # results sections: ours and the engine floor's, per "open[:Kw]"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="desk bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--n",
        type=int,
        nargs="+",
        default=[1000, 10000],
        help="open complaints per wave (default: 1000 10000)",
    )
    p.add_argument("--what", default=",".join(WHAT), help=f"comma list of {', '.join(WHAT)} (default: all)")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md", help="Markdown report")
    p.add_argument(
        "--results", type=Path, default=None, help="JSON results file (default: bench/results/<time>.json)"
    )
    p.add_argument(
        "--open",
        type=int,
        default=10000,
        help="sustained: open complaints (and bare workflows for its floor) (default: 10000)",
    )
    p.add_argument(
        "--rates",
        type=_rates,
        default=[5.0, 10.0, 20.0, 40.0],
        help="sustained: deadlines due per second, one band per rate, comma separated (default: 5,10,20,40)",
    )
    p.add_argument(
        "--rate-seconds", type=float, default=60.0, help="sustained: seconds each rate lasts (default: 60)"
    )
    p.add_argument(
        "--sizing",
        action="store_true",
        help="with --report-only: print the sizing table of docs/deployment.md from the results files",
    )
    p.add_argument("--intake-count", type=int, default=1000, help="complaints filed through the HTTP API")
    p.add_argument("--intake-concurrency", type=int, default=16, help="HTTP requests in flight")
    p.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="worker processes for the floor and lateness runs; several values run each N with each (default: 1)",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep servers' data and logs here (default: a temp folder, deleted)",
    )
    p.add_argument(
        "--report-only",
        type=Path,
        nargs="+",
        default=None,
        help="rewrite the report from results files (several: merged, e.g. a run with --workers 2), run nothing",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar (CI logs)")
    return p


def _rates(text: str) -> list[float]:
    try:
        rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma list of numbers: {text!r}") from None
    if not rates or any(r <= 0 for r in rates):
        raise argparse.ArgumentTypeError(f"every rate must be a positive number: {text!r}")
    return rates


def merge(runs: list[dict]) -> dict:
    """Several results files as one report: the first run's machine and header, every run's figures."""
    out = dict(runs[0])
    if len(runs) == 1 and "runs" in out:  # an earlier merge, saved: keep the runs it names
        return out
    out["runs"] = [
        {
            "sections": [k for k in ("floor", "lateness", *SUSTAINED, "intake", "cost") if run.get(k)],
            "started_at": run.get("started_at", "?"),
            "cpu": (run.get("machine") or {}).get("cpu", "?"),
            "command": run.get("command", ""),
        }
        for run in runs
    ]
    for run in runs[1:]:
        for section in ("floor", "lateness", *SUSTAINED):
            out.setdefault(section, {}).update(run.get(section, {}))
        for section in ("intake", "cost"):
            if section in run and section not in out:
                out[section] = run[section]
        out["skipped"] = {**out.get("skipped", {}), **run.get("skipped", {})}
        out["command"] = f"{out.get('command', '')}; {run.get('command', '')}"
        out["finished_at"] = run.get("finished_at", out.get("finished_at"))
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from bench import report

    if args.report_only:
        runs = [json.loads(p.read_text(encoding="utf-8")) for p in args.report_only]
        if args.sizing:
            print(report.sizing_table({p.name: run for p, run in zip(args.report_only, runs, strict=True)}))
            return 0
        results = merge(runs)
        report.write(results, args.out)
        print(f"report written: {args.out}")
        return 0

    what = [w.strip() for w in args.what.split(",") if w.strip()]
    unknown = sorted(set(what) - set(WHAT))
    if unknown:
        print(
            f"--what: unknown measurement(s) {', '.join(unknown)}; choose from {', '.join(WHAT)}",
            file=sys.stderr,
        )
        return 2
    if any(n < 1 for n in args.n) or any(k < 1 for k in args.workers):
        print("--n, --workers: every value must be at least 1", file=sys.stderr)
        return 2
    if "sustained" in what:
        try:
            sustained.assign(args.open, sustained.plan_bands(args.rates, args.rate_seconds))
        except ValueError as e:
            print(f"--open, --rates, --rate-seconds: {e}", file=sys.stderr)
            return 2

    keep = args.workdir is not None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="desk-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    results: dict = {
        "started_at": started.isoformat(),
        "command": "desk bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine.describe(),
        "what": what,
        "n": sorted(args.n),
        "workers": sorted(set(args.workers)),
        **(
            {"open": args.open, "rates": args.rates, "rate_seconds": args.rate_seconds}
            if "sustained" in what
            else {}
        ),
        "skipped": {},
    }
    results_path = args.results or RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        results["finished_at"] = datetime.now(UTC).isoformat()
        text = json.dumps(results, indent=1, ensure_ascii=False, default=str)
        results_path.write_text(text, encoding="utf-8")
        (RESULTS_DIR / "latest.json").write_text(text, encoding="utf-8")

    try:
        with Progress(enabled=not args.no_progress) as progress:
            asyncio.run(_run_all(what, args, workdir, results, progress, save))
    except KeyboardInterrupt:
        results["skipped"]["rest"] = "interrupted (Ctrl-C)"
    finally:
        save()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    report.write(results, args.out)
    print(f"results: {results_path}\nreport:  {args.out}")
    return 0


async def _run_all(what: list[str], args, workdir: Path, results: dict, progress: Progress, save) -> None:
    from bench import cost, floor, intake, lateness

    async def guarded(key: str, coro_factory) -> None:
        t0 = time.monotonic()
        try:
            await coro_factory()
        except lateness.NotReady as e:
            results["skipped"][key] = f"not run: {e}"
            progress.log(f"[yellow]{key}: not run: {e}")
        except Exception as e:  # noqa: BLE001 - one failed measurement must not lose the others
            results["skipped"][key] = f"failed: {e!r}"
            progress.log(f"[red]{key} failed: {e!r}\n{traceback.format_exc()}")
        finally:
            results.setdefault("durations_s", {})[key] = round(time.monotonic() - t0, 1)
            save()

    for n in sorted(args.n):
        for k in sorted(set(args.workers)):
            key = str(n) if k == 1 else f"{n}:{k}w"
            if "floor" in what:

                async def do_floor(n=n, k=k, key=key) -> None:
                    r = await floor.run(n, workdir / f"floor-{key}", progress, workers=k)
                    results.setdefault("floor", {})[key] = r.to_json() | {"workers": k}

                await guarded(f"floor N={key}", do_floor)
            if "lateness" in what or "memory" in what:

                async def do_lateness(n=n, k=k, key=key) -> None:
                    r = await lateness.run(n, workdir / f"lateness-{key}", progress, workers=k)
                    results.setdefault("lateness", {})[key] = r

                await guarded(f"lateness N={key}", do_lateness)
    if "sustained" in what:
        how = (args.open, args.rates, args.rate_seconds)
        for k in sorted(set(args.workers)):
            key = str(args.open) if k == 1 else f"{args.open}:{k}w"

            async def do_floor_s(k=k, key=key) -> None:
                r = await sustained.run_floor(*how, workdir / f"sustained-floor-{key}", progress, workers=k)
                results.setdefault("sustained_floor", {})[key] = r

            async def do_sustained(k=k, key=key) -> None:
                r = await sustained.run(*how, workdir / f"sustained-{key}", progress, workers=k)
                results.setdefault("sustained", {})[key] = r

            await guarded(f"sustained floor open={key}", do_floor_s)
            await guarded(f"sustained open={key}", do_sustained)
    if "intake" in what:

        async def do_intake() -> None:
            results["intake"] = await intake.run(
                args.intake_count, args.intake_concurrency, workdir / "intake", progress
            )

        await guarded("intake", do_intake)
    if "cost" in what:

        async def do_cost() -> None:
            results["cost"] = await cost.run(workdir / "cost", progress)

        await guarded("cost", do_cost)


if __name__ == "__main__":
    raise SystemExit(main())
