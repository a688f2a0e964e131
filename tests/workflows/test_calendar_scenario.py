"""`desk simulate` across a year whose holiday schedule is not confirmed says so (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.simulate import load_scenario, run_scenario
from domain.public_holidays import official_year

SCENARIO = Path(__file__).parent.parent / "scenarios" / "general_spring_festival_2027.yaml"


@pytest.mark.skipif(official_year("CN", 2027).confirmed, reason="the holiday library now carries 2027")
async def test_a_2027_spring_festival_scenario_warns_that_its_deadlines_may_be_wrong(ts_env):
    result = await run_scenario(load_scenario(SCENARIO), ts_env, base_dir=SCENARIO.parent)
    assert result["failures"] == [], "\n".join(result["failures"])
    # The days the run meets, not the whole year's.
    assert result["warnings"] == [
        "2027 holiday schedule not yet confirmed — deadlines on 2027-02-05 – 02-10 may be wrong"
    ]


async def test_a_scenario_far_from_an_unconfirmed_year_has_no_warning(ts_env):
    path = SCENARIO.parent / "general_assigned.yaml"  # March 2026: announced
    result = await run_scenario(load_scenario(path), ts_env, base_dir=path.parent)
    assert result["warnings"] == []
