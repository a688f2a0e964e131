"""Every scenario file in tests/scenarios/ runs through the real workflow on the time-skipping server and
meets its own expectations (format: docs/scenarios.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from desk.simulate import load_scenario, run_scenario

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))


def test_there_is_a_scenario_for_every_tier():
    tiers = {load_scenario(p).complaint.tier for p in SCENARIOS}
    assert {"general", "important", "urgent"} <= {t.value for t in tiers if t}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario(ts_env, path: Path):
    scenario = load_scenario(path)
    result = await run_scenario(scenario, ts_env, base_dir=path.parent)
    assert result["failures"] == [], "\n".join(result["failures"])
    assert result["events"], "a run always has a timeline"
    assert not [e for e in result["events"] if e["kind"] == "rejected" and not _expected_refusal(scenario, e)]


def _expected_refusal(scenario, event) -> bool:
    """A refusal is fine when the scenario says it expects one at that moment."""
    return any(
        s.expect is not None and s.expect.rejected and s.after.total_seconds() == event["at_s"]
        for s in scenario.steps
    )


README = Path(__file__).parent.parent.parent / "README.md"
README_EXAMPLES = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_shows_a_scenario_for_every_tier():
    tiers = {yaml.safe_load(text)["complaint"]["tier"] for text in README_EXAMPLES}
    assert tiers == {"general", "important", "urgent"}


@pytest.mark.parametrize("text", README_EXAMPLES, ids=lambda t: t.split("\n", 1)[0][2:30])
async def test_readme_scenario_runs_as_written(ts_env, text: str, tmp_path: Path):
    path = tmp_path / "readme.yaml"
    path.write_text(text, encoding="utf-8")
    result = await run_scenario(load_scenario(path), ts_env, base_dir=tmp_path)
    assert result["failures"] == [], "\n".join(result["failures"])
