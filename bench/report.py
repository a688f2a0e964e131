"""`docs/benchmarks.md` and its plots, written from a results file (so a report can be rebuilt any time)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from bench.stats import ratio  # noqa: E402
from bench.sustained import P99_LIMIT_S  # noqa: E402


def _f(v, digits: int = 2, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


def _ratio(ours, floor) -> str:
    r = ratio(ours, floor)
    return "–" if r is None else f"{r:.2f}×"


def _order(key: str) -> tuple[int, int]:
    """Result keys are "N" (one worker process) or "N:Kw" (K worker processes)."""
    n, _, k = key.partition(":")
    return int(n), int(k.rstrip("w") or 1)


def _keys(data: dict) -> list[str]:
    return sorted(data, key=_order)


def _label(key: str) -> str:
    n, k = _order(key)
    return f"{n:,}" if k == 1 else f"{n:,} ({k} workers)"


def _trip(entry: dict, key: str) -> str:
    return " / ".join(_f(_lat(entry, key, q), 2) for q in ("p50", "p99", "max"))


def _lat(entry: dict, key: str, q: str):
    return (entry.get("lateness", {}).get(key) or {}).get(q)


# ------------------------------------------------------------------------------------------------- plots
def _plot_lateness(results: dict, img: Path) -> str | None:
    floor, ours = results.get("floor", {}), results.get("lateness", {})
    if not floor and not ours:
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, data, style in (("complaints", ours, "-"), ("engine floor (bare)", floor, "--")):
        for k in sorted({_order(key)[1] for key in data}):
            keys = [key for key in _keys(data) if _order(key)[1] == k]
            tag = label if k == 1 else f"{label}, {k} workers"
            for q, marker in (("p50", "o"), ("p99", "s"), ("max", "^")):
                pts = [(_order(key)[0], _lat(data[key], "action_done_s", q)) for key in keys]
                pts = [p for p in pts if p[1] is not None]
                if pts:
                    ax1.plot(
                        [p[0] for p in pts], [p[1] for p in pts], style, marker=marker, label=f"{tag} {q}"
                    )
        for key in _keys(data):
            qs = data[key].get("done_quantiles") or []
            if qs:
                ax2.plot(qs, [i / 2 for i in range(len(qs))], style, label=f"{label} N={_label(key)}")
    ax1.set_xscale("log")
    ax1.set_xlabel("open complaints whose obligation falls due at the same instant (N)")
    ax1.set_ylabel("lateness of the action, s")
    ax1.set_title("Lateness vs open complaints")
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize=7)
    ax2.set_xlabel("lateness of the action, s")
    ax2.set_ylabel("% of obligations done by then")
    ax2.set_title("Distribution (CDF)")
    ax2.grid(True, alpha=0.3)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    path = img / "lateness_vs_open.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _band_lat(band: dict, key: str, q: str):
    return ((band.get("lateness") or {}).get(key) or {}).get(q)


def _plot_sustained(results: dict, img: Path) -> str | None:
    ours, floor = results.get("sustained", {}), results.get("sustained_floor", {})
    if not ours and not floor:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    series = [("complaints, breach", ours, "bands", "-"), ("complaints, warning", ours, "warning_bands", ":")]
    series.append(("engine floor (bare)", floor, "bands", "--"))
    for label, data, field, style in series:
        for key in _keys(data):
            bands = data[key].get(field) or []
            k = _order(key)[1]
            tag = label if k == 1 else f"{label}, {k} workers"
            for q, marker in (("p50", "o"), ("p99", "s")):
                pts = [(b["rate_per_s"], _band_lat(b, "action_done_s", q)) for b in bands]
                pts = [p for p in pts if p[1] is not None]
                if pts:
                    ax.plot(
                        [p[0] for p in pts], [p[1] for p in pts], style, marker=marker, label=f"{tag} {q}"
                    )
    ax.axhline(P99_LIMIT_S, color="grey", linewidth=0.8, label=f"{P99_LIMIT_S:g} s")
    ax.set_xscale("log", base=2)
    rates = sorted(
        {b["rate_per_s"] for data in (ours, floor) for e in data.values() for b in e.get("bands") or []}
    )
    ax.set_xticks(rates, [f"{r:g}" for r in rates])
    ax.minorticks_off()
    ax.set_yscale("log")
    ax.set_xlabel("deadlines due per second (steady, among the open complaints)")
    ax.set_ylabel("lateness of the action, s")
    ax.set_title("Lateness vs sustained rate")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = img / "lateness_vs_rate.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _plot_memory(results: dict, img: Path) -> str | None:
    series = []
    for label, data in _memory_sources(results):
        for key in _keys(data):
            mem = data[key].get("memory") or []
            if mem:
                series.append(
                    (f"{label}, run N={_label(key)}", [m["open"] for m in mem], [m["rss_mib"] for m in mem])
                )
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, xs, ys in series:
        ax.plot(xs, ys, marker=".", label=label)
    ax.set_xlabel("open workflows")
    ax.set_ylabel("worker resident memory, MiB")
    ax.set_title("Worker memory vs open complaints")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = img / "memory_vs_open.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _plot_intake(results: dict, img: Path) -> str | None:
    intake = results.get("intake") or {}
    qs_start, qs_conf = intake.get("started_quantiles"), intake.get("confirmation_quantiles")
    if not qs_start:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(qs_start, [i / 2 for i in range(len(qs_start))], label="request → workflow started (HTTP 2xx)")
    if qs_conf:
        ax.plot(
            qs_conf, [i / 2 for i in range(len(qs_conf))], label="request → confirmation sent to the customer"
        )
    ax.set_xscale("log")
    ax.set_xlabel("seconds")
    ax.set_ylabel("% of complaints")
    ax.set_title("Intake latency (CDF)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = img / "intake_latency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


# ------------------------------------------------------------------------------------------------ sections
def _machine(results: dict) -> list[str]:
    m = results.get("machine", {})
    return [
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k.replace('_', ' ')} | {v} |" for k, v in m.items()),
        f"| run | {results.get('started_at', '?')} → {results.get('finished_at', '?')} |",
        f"| command | `{results.get('command', '')}` |",
        "",
        *_sources(results),
    ]


def _sources(results: dict) -> list[str]:
    """Which run each part of a merged report came from (they may be days and machines apart)."""
    runs = results.get("runs") or []
    if len(runs) < 2:
        return []
    return [
        "This report merges several runs; the machine above is the first one's:",
        "",
        "| sections | run started | cpu | command |",
        "|---|---|---|---|",
        *(
            f"| {', '.join(r['sections'])} | {r['started_at']} | {r['cpu']} | `{r['command']}` |"
            for r in runs
        ),
        "",
    ]


def _lateness(results: dict, img_rel: str, plot: str | None) -> list[str]:
    floor, ours = results.get("floor", {}), results.get("lateness", {})
    if not floor and not ours:
        return []
    out = [
        "## Timer lateness: N obligations due at the same instant",
        "",
        "Lateness = the moment the work happened − the moment it was due, from each workflow's history. "
        "*Fired* is the TimerFired event that woke the workflow, *action started* / *action done* the "
        "ActivityTaskStarted / ActivityTaskCompleted of the activity that answered. For complaints the due moment "
        "is the one the workflow recorded in the ledger (`obligations.due_at`, `warn_at`) and the answer is the "
        "notification whose idempotency key names that obligation (`<id>:breach:first_response:1`): since the "
        "one-step patch it goes out in the step's `record_step` local activity, *action started* being the start "
        "of its workflow task and *action done* the moment the local activity completed (the `complete_time` "
        "of its marker), having written the ledger and delivered every message; before it, a `notify` activity; "
        "a message that did not settle at once is timed by the retrying `notify` activity that delivered it; "
        "the table shows the breach wave. For complaints *fired* is the last timer that fired before the workflow "
        "scheduled that notification: when the worker is so far behind that it handles the warning and the breach "
        "in one task woken by the warning's timer, that timer fired before the breach was due and the figure is "
        "negative. For the bare workflow the due moment is `WorkflowTaskStarted time + "
        "start_to_fire_timeout` of its TimerStarted event, which matched the moment it was given to within "
        "microseconds. *Timers set before due* counts workflows whose timer existed before the (warning) wave.",
        "",
        "| run | N | started/s | timers set before due | fired p50 / p99 / max (s) | action started p50 / p99 / max (s) | action done p50 / p99 / max (s) | drain (s) |",
        "|---|---:|---:|---:|---|---|---|---:|",
    ]
    ns = sorted(set(floor) | set(ours), key=_order)
    for n in ns:
        for label, data in (("complaints", ours), ("engine floor", floor)):
            e = data.get(n)
            if not e:
                continue
            out.append(
                f"| {label} | {_label(n)} | {_f(e.get('start_rate_per_s'), 0)} | {e.get('started_before_due', '–')} / {e.get('wake_ups', '–')} "
                f"| {_trip(e, 'timer_fired_s')} | {_trip(e, 'action_started_s')} | {_trip(e, 'action_done_s')} | {_f(e.get('drain_seconds'), 1)} |"
            )
    out.append("")
    if ours and floor:
        out += [
            "### Against the engine floor (same run, same machine)",
            "",
            "| N | start rate ours / floor | p50 action done ours / floor | p99 action done ours / floor | p99 fired ours / floor |",
            "|---:|---:|---:|---:|---:|",
        ]
        for n in ns:
            o, f = ours.get(n), floor.get(n)
            if not (o and f):
                continue
            out.append(
                f"| {_label(n)} | {_ratio(o.get('start_rate_per_s'), f.get('start_rate_per_s'))} "
                f"| {_ratio(_lat(o, 'action_done_s', 'p50'), _lat(f, 'action_done_s', 'p50'))} "
                f"| {_ratio(_lat(o, 'action_done_s', 'p99'), _lat(f, 'action_done_s', 'p99'))} "
                f"| {_ratio(_lat(o, 'timer_fired_s', 'p99'), _lat(f, 'timer_fired_s', 'p99'))} |"
            )
        out.append("")
    for n in ns:
        e = ours.get(n)
        if e:
            out += _diagnostics(n, e)
    for label, data in (("complaints", ours), ("engine floor", floor)):
        for n in ns:
            notes = (data.get(n) or {}).get("notes") or []
            if notes:
                out.append(f"- {label}, N={_label(n)}: " + "; ".join(notes))
    if plot:
        out += ["", f"![lateness vs open complaints]({img_rel}/{plot})", ""]
    return out


def _diagnostics(n: str, e: dict) -> list[str]:
    """What the complaint run at N was limited by: its warning wave, its workflow tasks, its CPU."""
    out = [
        f"**Complaints, N={_label(n)}** (first-response window W = {e.get('window_s')} s; warning wave at 0.75·W, breach wave at W):",
        "",
    ]
    if e.get("worker_settings"):
        tuning = ", ".join(f"{k.removeprefix('worker_')}={v}" for k, v in e["worker_settings"].items())
        out.append(f"- worker tuning (DESK_WORKER_*): {tuning}")
    w = e.get("warning_wave") or {}
    if w:
        out.append(
            f"- warning wave: {w.get('wake_ups')} warnings, action done p50 / p99 / max "
            f"{_trip(w, 'action_done_s')} s, drained in {_f(w.get('drain_seconds'), 1)} s"
        )
    t = e.get("wave_workflow_tasks_s") or {}
    if t.get("n"):
        kinds = e.get("wave_workflow_task_timeouts_by_kind") or {}
        by_kind = (
            " (" + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in kinds.items()) + ")" if kinds else ""
        )
        out.append(
            f"- workflow tasks during the waves: {t['n']:,}, duration p50 / p99 / max {_f(t.get('p50'), 3)} / "
            f"{_f(t.get('p99'), 3)} / {_f(t.get('max'), 3)} s; {e.get('wave_workflow_task_timeouts', 0)} timed out"
            f"{by_kind}, {e.get('wave_workflow_task_failures', 0)} failed. A timer counts from the moment its workflow "
            "task completes, so a slow task makes the timers it sets late by its duration."
        )
    if e.get("workflow_task_failure_causes"):
        causes = "; ".join(f"{k} ({v})" for k, v in e["workflow_task_failure_causes"].items())
        out.append(f"- workflow task failures, by cause: {causes}")
    if e.get("idle_wake_ups"):
        out.append(f"- idle wake-ups (timer fired, workflow's own clock said not yet): {e['idle_wake_ups']}")
    for phase, cpu in (e.get("cpu_seconds") or {}).items():
        parts = ", ".join(f"{k} {v}" for k, v in cpu.items() if k != "wall")
        out.append(f"- CPU seconds during {phase} ({cpu.get('wall')} s wall, 2 cores): {parts}")
    delivered = e.get("breach_delivered") or {}
    robot_rows = (delivered.get("lateness", {}).get("robot_s") or {}).get("n")
    if robot_rows:
        out.append(
            f"- breach message sent, per channel row of the outbox (`sent_at` − due): group robots p50 / p99 / max "
            f"{_trip(delivered, 'robot_s')} s ({robot_rows:,} rows; the relay paces each robot to "
            f"its 20 messages a minute and digests what waits: robot messages during the waves "
            f"{delivered.get('robot_messages_in_waves')})"
            + (
                f"; other channels {_trip(delivered, 'other_channels_s')} s"
                if (delivered["lateness"].get("other_channels_s") or {}).get("n")
                else ""
            )
        )
    acts = e.get("actions_per_breach") or {}
    if acts:
        out.append(f"- activities per breach wake-up (timed: the breach notification): {acts}")
    out.append("")
    return out


def _band_trip(band: dict | None, key: str = "action_done_s") -> str:
    if not band:
        return "–"
    return " / ".join(_f(_band_lat(band, key, q), 2) for q in ("p50", "p99", "max"))


def _rate(r) -> str:
    return "none" if r is None else f"{r:g}/s"


def _sustained(results: dict, img_rel: str, plot: str | None) -> list[str]:
    ours, floor = results.get("sustained", {}), results.get("sustained_floor", {})
    if not ours and not floor:
        return []
    out = [
        "## Sustained rate: deadlines due at a steady rate among many open complaints",
        "",
        "All complaints are started once; a subset has its first-response deadlines spread at a steady rate "
        "r per second, one band of rates after another, and the rest fall due long after the run, so they "
        "stay open and pass through the worker's sticky cache as in real load (band members are scattered "
        "through the start order). Lateness is measured as in the burst: the breach notification done "
        "(record_step completed, or its notify activity) − the due moment the workflow recorded in the ledger, per band. Each band "
        "complaint's warning falls (1 − warn ratio)·W before its breach, so the warnings form the same bands "
        "earlier, followed by a quiet gap as long as the bands; they are shown too. The engine floor runs "
        "bare workflows (one timer, one activity) at the same rates among as many open bare workflows.",
        "",
    ]
    for key in sorted(set(ours) | set(floor), key=_order):
        o, f = ours.get(key) or {}, floor.get(key) or {}
        fb = {b["rate_per_s"]: b for b in f.get("bands") or []}
        wb = {b["rate_per_s"]: b for b in o.get("warning_bands") or []}
        rates = [b["rate_per_s"] for b in (o.get("bands") or f.get("bands") or [])]
        ob = {b["rate_per_s"]: b for b in o.get("bands") or []}
        seconds = (o or f).get("rate_seconds")
        out += [
            f"**{_order(key)[0]:,} open{'' if _order(key)[1] == 1 else f', {_order(key)[1]} worker processes'}**, {_f(seconds, 0)} s per rate: highest rate with the action done p99 ≤ "
            f"{P99_LIMIT_S:g} s (that rate and every lower one): complaints **{_rate(o.get('highest_rate_p99_within_1s'))}**"
            f" (warnings {_rate(o.get('warning_highest_rate_p99_within_1s'))}), engine floor "
            f"**{_rate(f.get('highest_rate_p99_within_1s'))}**.",
            "",
            "| rate (/s) | deadlines measured / due | breach notification done p50 / p99 / max (s) | floor action done p50 / p99 / max (s) | p99 ours / floor | warning notification done p50 / p99 / max (s) |",
            "|---:|---:|---|---|---:|---|",
        ]
        for r in rates:
            b = ob.get(r)
            out.append(
                f"| {r:g} | {b.get('measured') if b else '–'} / {b.get('due') if b else '–'} | {_band_trip(b)} "
                f"| {_band_trip(fb.get(r))} "
                f"| {_ratio(_band_lat(b or {}, 'action_done_s', 'p99'), _band_lat(fb.get(r) or {}, 'action_done_s', 'p99'))} "
                f"| {_band_trip(wb.get(r))} |"
            )
        out.append("")
        if o:
            out.append(
                f"- complaints: {o.get('open', 0):,} started in {_f(o.get('start_seconds'), 0)} s "
                f"({_f(o.get('start_rate_per_s'), 0)}/s), intake work settled {_f(o.get('settle_seconds'), 0)} s later; "
                f"{o.get('band_members', 0):,} in the bands; first-response window W = {o.get('window_s')} s, "
                f"warning ratio {o.get('warn_ratio')}; worker RSS with all open {o.get('rss_open_mib')} MiB, "
                f"after the bands {o.get('rss_after_mib')} MiB (sticky cache {_cache(o)})"
            )
            t = o.get("band_workflow_tasks_s") or {}
            if t.get("n"):
                kinds = o.get("band_workflow_task_timeouts_by_kind") or {}
                by_kind = (
                    " (" + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in kinds.items()) + ")"
                    if kinds
                    else ""
                )
                out.append(
                    f"- workflow tasks of the band complaints during the bands: {t['n']:,}, p50 / p99 / max "
                    f"{_f(t.get('p50'), 3)} / {_f(t.get('p99'), 3)} / {_f(t.get('max'), 3)} s; "
                    f"{o.get('band_workflow_task_timeouts', 0)} timed out{by_kind}, {o.get('band_workflow_task_failures', 0)} failed"
                )
            if o.get("idle_wake_ups"):
                out.append(
                    f"- idle wake-ups of the band complaints (timer fired, the workflow's own clock said not yet, "
                    f"it slept again): {o['idle_wake_ups']}"
                )
            for phase, cpu in (o.get("cpu_seconds") or {}).items():
                parts = ", ".join(f"{k} {v}" for k, v in cpu.items() if k != "wall")
                out.append(f"- CPU seconds during {phase} ({cpu.get('wall')} s wall): {parts}")
        if f:
            out.append(
                f"- engine floor: {f.get('open', 0):,} bare workflows started in {_f(f.get('start_seconds'), 0)} s "
                f"({_f(f.get('start_rate_per_s'), 0)}/s); timers set before the first band "
                f"{f.get('started_before_due', '–')} / {f.get('band_members', '–')}"
            )
        for label, e in (("complaints", o), ("engine floor", f)):
            if e.get("notes"):
                out.append(f"- {label}: " + "; ".join(e["notes"]))
        out.append("")
    if plot:
        out += [f"![lateness vs sustained rate]({img_rel}/{plot})", ""]
    return out


def _scale_out(results: dict) -> list[str]:
    """The same measurement with one and with K worker processes, side by side."""
    rows = []
    for label, section in (("complaints", "lateness"), ("engine floor", "floor")):
        data = results.get(section, {})
        for key in _keys(data):
            n, k = _order(key)
            one = data.get(str(n))
            if k == 1 or not one:
                continue
            e = data[key]
            rows.append(
                f"| {label}, {n:,} due at once | {k} | {_f(_lat(one, 'action_done_s', 'p99'), 2)} / {_f(_lat(e, 'action_done_s', 'p99'), 2)} "
                f"| {_ratio(_lat(one, 'action_done_s', 'p99'), _lat(e, 'action_done_s', 'p99'))} "
                f"| {_f(one.get('drain_rate_per_s'), 1)} / {_f(e.get('drain_rate_per_s'), 1)} "
                f"| {_f(one.get('start_rate_per_s'), 0)} / {_f(e.get('start_rate_per_s'), 0)} |"
            )
    for label, section in (("complaints", "sustained"), ("engine floor", "sustained_floor")):
        data = results.get(section, {})
        for key in _keys(data):
            n, k = _order(key)
            one = data.get(str(n))
            if k == 1 or not one:
                continue
            e = data[key]
            rows.append(
                f"| {label}, {n:,} open, steady rates | {k} | highest rate with p99 ≤ {P99_LIMIT_S:g} s: "
                f"{_rate(one.get('highest_rate_p99_within_1s'))} / {_rate(e.get('highest_rate_p99_within_1s'))} | – | – "
                f"| {_f(one.get('start_rate_per_s'), 0)} / {_f(e.get('start_rate_per_s'), 0)} |"
            )
    if not rows:
        return []
    return [
        "## Scale out: one worker process against several",
        "",
        "The same measurement with one worker process and with K (`desk bench --workers 1 K`), each on its own "
        "fresh servers; all processes share the same 2 cores with the Temporal server and PostgreSQL.",
        "",
        "| measurement | K | action done p99, 1 / K processes (s) | speed-up (1 ÷ K) | drained per second, 1 / K | started per second, 1 / K |",
        "|---|---:|---|---:|---|---|",
        *rows,
        "",
    ]


def _mib(v, workers: int = 1) -> str:
    if not isinstance(v, int | float):
        return "–"
    text = f"{v / 1024:.1f} GiB" if v >= 1024 else f"{v:.0f} MiB"
    return text if workers == 1 else f"{text} in all"


def _worker(e: dict) -> str:
    w = e.get("worker_settings") or {}
    k = e.get("workers", 1)
    parts = [f"{k} process{'es' if k > 1 else ''}"]
    if "worker_sandbox" in w:
        parts.append("sandboxed" if w["worker_sandbox"] else "`DESK_WORKER_SANDBOX=false`")
    if w.get("worker_max_concurrent_workflow_tasks"):
        parts.append(f"{w['worker_max_concurrent_workflow_tasks']} activations at once")
    if w.get("worker_max_cached_workflows"):
        parts.append(f"cache {w['worker_max_cached_workflows']:,}")
    return ", ".join(parts)


def sizing_table(runs: dict[str, dict]) -> str:
    """docs/deployment.md's sizing table, every figure read from the given results files (name → results)."""
    rows, lines = [], []
    for name, results in runs.items():
        for key in _keys(results.get("lateness", {})):
            e = results["lateness"][key]
            rows.append(
                f"| {_order(key)[0]:,} open, all due at once | {_worker(e)} | {_f(_lat(e, 'timer_fired_s', 'p99'), 1)} s "
                f"| {_f(_lat(e, 'action_done_s', 'p50'), 0)} s / {_f(_lat(e, 'action_done_s', 'p99'), 0)} s "
                f"| {_mib(e.get('rss_after_wave_mib'), e.get('workers', 1))} | `{name}` |"
            )
        for key in _keys(results.get("sustained", {})):
            e = results["sustained"][key]
            for b in e.get("bands") or []:
                rows.append(
                    f"| {e.get('open', 0):,} open, {b['rate_per_s']:g} due per second | {_worker(e)} "
                    f"| {_f(_band_lat(b, 'timer_fired_s', 'p99'), 1)} s "
                    f"| {_f(_band_lat(b, 'action_done_s', 'p50'), 2)} s / {_f(_band_lat(b, 'action_done_s', 'p99'), 2)} s "
                    f"| {_mib(e.get('rss_after_mib'), e.get('workers', 1))} | `{name}` |"
                )
            f = (results.get("sustained_floor") or {}).get(key) or {}
            lines.append(
                f"- {e.get('open', 0):,} open ({_worker(e)}): the highest steady rate with the breach notification "
                f"done p99 ≤ {P99_LIMIT_S:g} s was {_rate(e.get('highest_rate_p99_within_1s'))}; the engine floor's "
                f"{_rate(f.get('highest_rate_p99_within_1s'))} (`{name}`)."
            )
    return "\n".join(
        [
            "| load | worker | timer fired, p99 | breach notification done, p50 / p99 | worker RSS | results |",
            "|---|---|---:|---:|---:|---|",
            *rows,
            *([""] + lines if lines else []),
        ]
    )


def _memory_sources(results: dict) -> list[tuple[str, dict]]:
    return [
        ("complaint worker", results.get("lateness", {})),
        ("complaint worker, sustained run", results.get("sustained", {})),
        ("bare worker (floor)", results.get("floor", {})),
        ("bare worker (floor), sustained run", results.get("sustained_floor", {})),
    ]


def _memory(results: dict, img_rel: str, plot: str | None) -> list[str]:
    rows = []
    for label, data in _memory_sources(results):
        for n in _keys(data):
            e = data[n]
            mem = e.get("memory") or []
            if not mem:
                continue
            base, top = mem[0]["rss_mib"], mem[-1]["rss_mib"]
            per_k = (top - base) / (mem[-1]["open"] / 1000) if mem[-1]["open"] else None
            after = e.get("rss_after_wave_mib", e.get("rss_after_mib", "–"))
            rows.append(
                f"| {label} | {_label(n)} | {base} | {top} | {_f(per_k, 1)} | {after} | {_cache(e)} |"
            )
    if not rows:
        return []
    out = [
        "## Worker memory",
        "",
        "Resident set size (psutil, the worker process and its children) sampled while the N workflows were "
        "being started, and once more after the wave. The Python SDK keeps up to `max_cached_workflows` "
        "workflows in its sticky cache; beyond that it evicts and replays from history when a workflow wakes up, "
        "so memory should level off past the cache size.",
        "",
        "| worker | N | RSS idle (MiB) | RSS with N open (MiB) | MiB per 1,000 open | RSS after the wave (MiB) | sticky cache (max_cached_workflows) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    if plot:
        out += [f"![worker memory vs open complaints]({img_rel}/{plot})", ""]
    return out


def _intake(results: dict, img_rel: str, plot: str | None) -> list[str]:
    i = results.get("intake")
    if not i:
        return []
    s, c = i.get("started_s") or {}, i.get("confirmation_s") or {}
    out = [
        "## Intake through the HTTP API",
        "",
        i.get("method", ""),
        "",
        "| complaints | in flight | accepted/s | errors | to workflow started p50 / p99 / max (s) | to confirmation p50 / p99 / max (s) | confirmations found |",
        "|---:|---:|---:|---:|---|---|---:|",
        f"| {i.get('count')} | {i.get('concurrency')} | {_f(i.get('accepted_per_s'), 1)} | {i.get('errors')} "
        f"| {_f(s.get('p50'), 3)} / {_f(s.get('p99'), 3)} / {_f(s.get('max'), 3)} "
        f"| {_f(c.get('p50'), 3)} / {_f(c.get('p99'), 3)} / {_f(c.get('max'), 3)} | {i.get('confirmations', '–')} |",
        "",
    ]
    cpu = (i.get("cpu_seconds") or {}).get("until_settled")
    if cpu and i.get("accepted"):
        n = i["accepted"]
        out += [
            f"- CPU until every confirmation went out ({_f(i.get('until_settled_seconds'), 1)} s wall): "
            + ", ".join(f"{k} {v:.1f} s ({1000 * v / n:.0f} ms per complaint)" for k, v in cpu.items()),
            "",
        ]
    if i.get("notes"):
        out += [f"- {n}" for n in i["notes"]] + [""]
    if plot:
        out += [f"![intake latency]({img_rel}/{plot})", ""]
    return out


def _cost(results: dict) -> list[str]:
    c = results.get("cost")
    if not c:
        return []
    out = [
        "## Cost per complaint lifecycle",
        "",
        c.get("method", ""),
        "",
        "| lifecycle | runs (continue-as-new) | history events | billable actions (from history) | + rejected Updates | + Queries | breakdown of actions |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, e in c.get("lifecycles", {}).items():
        brk = ", ".join(
            f"{k.lower()} {v}" for k, v in sorted(e.get("actions_by_type", {}).items(), key=lambda kv: -kv[1])
        )
        out.append(
            f"| {name} | {e.get('runs')} | {e.get('events')} | {e.get('actions')} | {e.get('rejected_updates', 0)} | {e.get('queries', 0)} | {brk} |"
        )
    out += ["", "Billing rules applied (one Action each unless stated):", ""]
    out += [f"- `{k}`: {v}" for k, v in (c.get("rules") or {}).items()]
    out += ["", c.get("source", ""), ""]
    if c.get("notes"):
        out += [f"- {n}" for n in c["notes"]] + [""]
    return out


def _headline(results: dict) -> list[str]:
    out = ["## Headline", ""]
    ours, floor = results.get("lateness", {}), results.get("floor", {})
    if ours:
        one = [k for k in ours if _order(k)[1] == 1] or list(ours)
        key = max(one, key=_order)
        n = _order(key)[0]
        e = ours[key]
        f = floor.get(key)
        line = (
            f"- With **{n:,} open complaints** whose obligation fell due at the same instant, the answering action "
            f"was done **p99 {_f(_lat(e, 'action_done_s', 'p99'), 2)} s** late (p50 {_f(_lat(e, 'action_done_s', 'p50'), 2)} s, "
            f"max {_f(_lat(e, 'action_done_s', 'max'), 2)} s); the timer itself fired p99 {_f(_lat(e, 'timer_fired_s', 'p99'), 2)} s late."
        )
        if f:
            line += (
                f" The engine floor at the same N: p99 {_f(_lat(f, 'action_done_s', 'p99'), 2)} s → ratio "
                f"**{_ratio(_lat(e, 'action_done_s', 'p99'), _lat(f, 'action_done_s', 'p99'))}**; start rate "
                f"{_f(e.get('start_rate_per_s'), 0)}/s vs {_f(f.get('start_rate_per_s'), 0)}/s "
                f"(**{_ratio(e.get('start_rate_per_s'), f.get('start_rate_per_s'))}**)."
            )
        out.append(line)
    elif floor:
        key = max(floor, key=_order)
        n = _order(key)[0]
        f = floor[key]
        out.append(
            f"- Engine floor only (the complaint workflow could not run): {n:,} bare timers due at once were acted on "
            f"p99 {_f(_lat(f, 'action_done_s', 'p99'), 2)} s late; {_f(f.get('start_rate_per_s'), 0)} workflows started per second."
        )
    sustained, sfloor = results.get("sustained", {}), results.get("sustained_floor", {})
    if sustained or sfloor:
        data = sustained or sfloor
        key = max([k for k in data if _order(k)[1] == 1] or list(data), key=_order)
        o, f = sustained.get(key) or {}, sfloor.get(key) or {}
        rates = ", ".join(f"{r:g}" for r in (o or f).get("rates_per_s") or [])
        out.append(
            f"- With **{_label(key)} open**, deadlines due at a steady {rates} per second: the highest rate with the "
            f"breach notification done p99 ≤ {P99_LIMIT_S:g} s was **{_rate(o.get('highest_rate_p99_within_1s'))}**"
            f" (engine floor: {_rate(f.get('highest_rate_p99_within_1s'))})."
        )
    c = results.get("cost")
    if c and c.get("lifecycles"):
        out.append(
            "- History events (billable actions) per lifecycle: "
            + "; ".join(f"{k} {v.get('events')} ({v.get('actions')})" for k, v in c["lifecycles"].items())
            + "."
        )
    i = results.get("intake")
    if i:
        out.append(
            f"- Intake: {_f(i.get('accepted_per_s'), 1)} complaints/s through the HTTP API, p99 to a started workflow "
            f"{_f((i.get('started_s') or {}).get('p99'), 3)} s, to the customer's confirmation {_f((i.get('confirmation_s') or {}).get('p99'), 3)} s."
        )
    if results.get("skipped"):
        out.append(
            "- Not measured in this run: " + "; ".join(f"**{k}**: {v}" for k, v in results["skipped"].items())
        )
    out.append("")
    return out


def _cache(e: dict) -> object:
    """The sticky cache size a run used (older results files carry it as a note)."""
    return (e.get("worker_settings") or {}).get(
        "worker_max_cached_workflows", e.get("max_cached_workflows", "–")
    )


def _limits(results: dict) -> list[str]:
    """What limited the figures, read off the results (nothing here is asserted without its number)."""
    ours, floor = results.get("lateness", {}), results.get("floor", {})
    out: list[str] = []
    for key in _keys(ours):
        e = ours[key]
        waves = (e.get("cpu_seconds") or {}).get("waves") or {}
        intake = (e.get("cpu_seconds") or {}).get("intake") or {}
        n, k = _order(key)
        if waves:
            total = sum(v for name, v in waves.items() if name != "wall")
            out.append(
                f"- N={_label(key)}: CPU seconds in the wave phase: worker {waves.get('worker')} of {total:.1f} in all "
                f"(temporal {waves.get('temporal')}, postgres {waves.get('postgres')}, bench and sinks {waves.get('bench+sinks')}); "
                f"per complaint {1000 * waves.get('worker', 0) / n:.0f} ms of worker CPU in the wave phase (warning, breach, escalation), "
                f"{1000 * intake.get('worker', 0) / n:.0f} ms for its intake. {k} worker process{'es' if k > 1 else ''}: "
                "workflow code and activities of one process share one Python interpreter lock, so one process "
                "uses at most one core."
            )
        t = e.get("wave_workflow_tasks_s") or {}
        bad = (e.get("wave_workflow_task_timeouts") or 0) + (e.get("wave_workflow_task_failures") or 0)
        if t.get("n"):
            out.append(
                f"- N={_label(key)}: workflow tasks in the waves took p99 {_f(t.get('p99'), 2)} s; {bad} of {t['n']:,} "
                "timed out (10 s: a task that ran too long, or one that waited longer than the sticky timeout for the "
                "worker holding its complaint) or failed (the SDK fails an activation that does not yield within 2 s "
                'of wall time: "potential deadlock"); each is handed out again and adds seconds to what it carries.'
            )
    idle = sum((e.get("idle_wake_ups") or 0) for e in ours.values())
    spread = [n for e in ours.values() for n in (e.get("notes") or []) if "spread over" in n]
    if idle or spread:
        out.append(
            "- The complaint workflow rounds its clock down to whole seconds (`_now()` in workflows/complaint.py): "
            + (
                f'{idle} timer firings found the moment "not yet come" and slept again (up to 1 s more), and the '
                if idle
                else "the "
            )
            + "intake moment can be set up to 1 s before the customer filed (the due moments the workflows recorded "
            "were spread over up to a second for complaints filed at one instant)."
        )
    nondet = {
        key: sum(
            v for c, v in (e.get("workflow_task_failure_causes") or {}).items() if "NON_DETERMINISTIC" in c
        )
        for key, e in ours.items()
    }
    for key, count in nondet.items():
        if count:
            out.append(
                f"- N={_label(key)}: {count} workflow tasks failed with a nondeterminism error on replay "
                "(UpsertWorkflowSearchAttributes vs TimerStarted): with more open complaints than the worker's "
                "sticky cache holds, woken complaints are replayed from history, and some replays did not produce "
                "the commands of the first run. The tasks were retried and every breach was sent in the end, but a "
                "replay that disagrees with its history is a workflow bug for the replay tests to pin down."
            )
    if floor:
        rows = []
        for key in _keys(floor):
            f = floor[key]
            missed = int(f.get("n", 0)) - int(f.get("started_before_due") or 0)
            rows.append(
                f"N={_label(key)}: p99 {_f(_lat(f, 'action_done_s', 'p99'), 1)} s"
                + (f" ({missed:,} timers set only after the due moment)" if missed > 0 else "")
            )
        caches = sorted({str(_cache(e)) for e in ours.values()}) or ["1000"]
        out.append(
            "- The engine floor (its worker tuned exactly like ours: `workers/tuning.py`, sticky cache "
            f"{' / '.join(caches)}): "
            + "; ".join(rows)
            + ". Past the cache, a woken workflow is replayed from "
            "its history first."
        )
    runs = [*ours.values(), *(results.get("sustained") or {}).values()]
    loads = [e.get("loadavg_before") for e in runs if e.get("loadavg_before")]
    if loads:
        out.append(
            "- The machine was shared with other work during the run (load average before the complaint runs: "
            + ", ".join(f"{x[0]:.1f}" for x in loads)
            + " on 2 cores), so absolute seconds vary from run to run; the floor, measured minutes apart, absorbs only part of it."
        )
    if not out:
        return []
    return ["## What limited these figures", "", *out, ""]


RERUN = [
    "## Rerun",
    "",
    "```",
    "desk bench                                   # everything, N = 1,000 and 10,000, sustained rates (over an hour on 2 cores)",
    "desk bench --n 1000 --what floor,lateness    # a quick subset",
    "desk bench --what sustained --open 10000 --rates 5,10,20,40 --rate-seconds 60   # the sustained rates (about 50 min)",
    "desk bench --report-only bench/results/latest.json   # rebuild this page from saved results",
    "```",
    "",
    "Every run starts its own Temporal dev server (SQLite in WAL mode) and embedded PostgreSQL on free ports with ",
    "temporary data; JSON results go to `bench/results/`, this page to `docs/benchmarks.md`, plots to `docs/img/`.",
    "",
]


def write(results: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    img = out.parent / "img"
    img.mkdir(parents=True, exist_ok=True)
    img_rel = "img"
    lat_plot = _plot_lateness(results, img)
    mem_plot = _plot_memory(results, img)
    intake_plot = _plot_intake(results, img)
    rate_plot = _plot_sustained(results, img)
    lines = [
        "# Benchmarks: exact deadlines at scale",
        "",
        "Figures from a real run of `desk bench` on the embedded default (Temporal CLI dev server with SQLite "
        "in WAL mode, embedded PostgreSQL). Nothing here is estimated unless it says so. Our figures are set "
        "against the *engine floor* — bare workflows with one timer and one activity, measured in the same run "
        "— so the ratios, not the absolute seconds, are what carries over to another machine.",
        "",
        *_headline(results),
        *_lateness(results, img_rel, lat_plot),
        *_sustained(results, img_rel, rate_plot),
        *_scale_out(results),
        *_memory(results, img_rel, mem_plot),
        *_intake(results, img_rel, intake_plot),
        *_cost(results),
        *_limits(results),
        *_machine(results),
        *RERUN,
    ]
    out.write_text("\n".join(lines), encoding="utf-8")
