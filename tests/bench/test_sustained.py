"""The sustained-rate benchmark's pure parts: how deadlines are placed in bands, and how the report reads
the results. No benchmark runs here and no figure is asserted: these check the arithmetic and the text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench import cli, report, sustained
from bench.histories import WakeUp


def test_bands_follow_one_another_at_their_rates():
    bands = sustained.plan_bands([2, 5], 20)
    assert [(b.rate, b.offset, b.count) for b in bands] == [(2, 0, 40), (5, 20, 100)]
    assert bands[1].due(0) == 20 and bands[1].due(99) == pytest.approx(39.8)
    assert sustained.span(bands) == 40


def test_band_members_are_scattered_among_the_open_complaints_each_deadline_once():
    bands = sustained.plan_bands([2, 5], 20)
    slots = sustained.assign(300, bands)
    members = [s for s in slots if s is not None]
    assert len(slots) == 300 and len(members) == 140
    assert sorted(members) == [(0, k) for k in range(40)] + [(1, k) for k in range(100)]
    first_half = sum(1 for s in slots[:150] if s is not None)
    assert 30 < first_half < 110  # not all at the start or the end of the start order
    assert sustained.assign(300, bands) == slots  # the same places in every run


def test_more_deadlines_than_open_complaints_is_refused():
    with pytest.raises(ValueError, match="raise --open"):
        sustained.assign(100, sustained.plan_bands([5], 60))


def test_window_puts_every_intake_before_t0_and_the_warnings_before_the_breaches():
    bands = sustained.plan_bands([5, 10], 60)
    for lead in (20.0, 5000.0):
        w = sustained.window_for(lead, bands, gap=120)
        ratio = sustained.WARN_RATIO
        # the last band member's breach is lead + (1 - ratio)·W + span after t0; its intake W before that
        assert lead + (1 - ratio) * w + sustained.span(bands) - w <= 1e-9
        # the warning bands (from lead) end a gap before the breach bands (from lead + (1 - ratio)·W)
        assert (1 - ratio) * w >= sustained.span(bands) + 120 - 1e-9


def _wake(wid: str, late: float | None) -> WakeUp:
    due = datetime(2026, 12, 1, tzinfo=UTC)
    done = None if late is None else due + timedelta(seconds=late)
    return WakeUp(workflow_id=wid, timer_id="t", due=due, fired=due, actions_done=done)


def test_band_figures_and_the_highest_rate_within_the_limit():
    bands = sustained.plan_bands([1, 2, 4], 2)
    by_band = {
        0: [_wake("a", 0.2), _wake("b", 0.4)],
        1: [_wake(str(i), 0.5) for i in range(4)],
        2: [_wake(str(i), 3.0) for i in range(8)],
    }
    figs = sustained.band_figures(bands, by_band, datetime(2026, 12, 1, tzinfo=UTC))
    assert [(f["rate_per_s"], f["due"], f["measured"]) for f in figs] == [(1, 2, 2), (2, 4, 4), (4, 8, 8)]
    assert figs[0]["lateness"]["action_done_s"]["p99"] == 0.4
    assert sustained.highest_rate_within(figs) == 2
    figs[0]["measured"] = 1  # a deadline never answered: that rate does not count as kept
    assert sustained.highest_rate_within(figs) is None


def _band(rate: float, p50: float, p99: float, n: int = 10) -> dict:
    lat = {"n": n, "p50": p50, "p99": p99, "max": p99 + 0.1}
    return {
        "rate_per_s": rate,
        "seconds": 2,
        "due": n,
        "measured": n,
        "lateness": {"action_done_s": lat, "timer_fired_s": {**lat, "p99": 0.05}},
    }


FIXTURE = {
    "started_at": "2026-12-01T23:00:00+00:00",
    "command": "desk bench --what sustained --open 300 --rates 2,5 --rate-seconds 20",
    "machine": {"cpu": "test"},
    "sustained": {
        "300": {
            "open": 300,
            "rates_per_s": [2, 5],
            "rate_seconds": 20,
            "bands": [_band(2, 0.3, 0.8), _band(5, 0.9, 2.5)],
            "warning_bands": [_band(2, 0.2, 0.6), _band(5, 0.3, 0.9)],
            "highest_rate_p99_within_1s": 2,
            "warning_highest_rate_p99_within_1s": 5,
            "workers": 1,
            "worker_settings": {"worker_sandbox": True, "worker_max_cached_workflows": 1000},
            "rss_after_mib": 1500.0,
            "memory": [{"open": 0, "rss_mib": 200.0}, {"open": 300, "rss_mib": 260.0}],
        },
        "300:2w": {
            "open": 300,
            "rates_per_s": [2, 5],
            "rate_seconds": 20,
            "bands": [_band(2, 0.2, 0.5), _band(5, 0.4, 0.9)],
            "highest_rate_p99_within_1s": 5,
            "workers": 2,
        },
    },
    "sustained_floor": {
        "300": {
            "open": 300,
            "rates_per_s": [2, 5],
            "bands": [_band(2, 0.05, 0.1), _band(5, 0.06, 0.2)],
            "highest_rate_p99_within_1s": 5,
        }
    },
    "lateness": {
        "100": {"n": 100, "lateness": {"action_done_s": {"p50": 5.0, "p99": 8.0}}, "drain_rate_per_s": 12.0},
        "100:2w": {
            "n": 100,
            "lateness": {"action_done_s": {"p50": 3.0, "p99": 4.0}},
            "drain_rate_per_s": 25.0,
        },
    },
}


def test_report_has_the_sustained_section_plot_and_scale_out_table(tmp_path):
    out = tmp_path / "benchmarks.md"
    report.write(FIXTURE, out)
    text = out.read_text(encoding="utf-8")
    assert "## Sustained rate" in text
    assert "complaints **2/s** (warnings 5/s), engine floor **5/s**" in text
    assert "| 5 | 10 / 10 | 0.90 / 2.50 / 2.60 | 0.06 / 0.20 / 0.30 | 12.50× | 0.30 / 0.90 / 1.00 |" in text
    assert (tmp_path / "img" / "lateness_vs_rate.png").stat().st_size > 0
    assert "## Scale out" in text
    assert "| complaints, 100 due at once | 2 | 8.00 / 4.00 | 2.00× | 12.0 / 25.0 |" in text
    assert "highest rate with p99 ≤ 1 s: 2/s / 5/s" in text
    assert "the breach notification done p99 ≤ 1 s was **2/s** (engine floor: 5/s)" in text


def test_sizing_table_rows_come_from_the_results():
    table = report.sizing_table({"s.json": FIXTURE})
    assert table.splitlines()[0].startswith("| load | worker |")
    assert (
        "| 300 open, 5 due per second | 1 process, sandboxed, cache 1,000 | 0.1 s | 0.90 s / 2.50 s | 1.5 GiB | `s.json` |"
        in table
    )
    assert "| 100 open, all due at once |" in table
    assert "was 2/s; the engine floor's 5/s (`s.json`)" in table


def test_bench_refuses_bands_that_need_more_complaints_than_are_open(capsys):
    assert cli.main(["--what", "sustained", "--open", "10", "--rates", "5", "--rate-seconds", "60"]) == 2
    assert "the bands need 300 deadlines but only 10 complaints are open" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--what", "sustained", "--rates", "5,fast"])
    assert "--rates: not a comma list of numbers: '5,fast'" in capsys.readouterr().err
