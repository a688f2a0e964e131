"""Each preset's rules, as the running workflow opens them: the clocks anchored at intake, with the due
moments the policy data gives, for every tier of standard, after-sales and logistics."""

from __future__ import annotations

import pytest

from domain.clocks import open_clock
from domain.models import ComplaintType, ObligationStatus, Tier
from domain.policy import Anchor, preset
from tests.workflows.harness import Desk


@pytest.mark.parametrize("tier", list(Tier))
@pytest.mark.parametrize("name", ["standard", "after-sales", "logistics"])
async def test_workflow_opens_the_presets_intake_clocks_with_their_deadlines(
    desk: Desk, name: str, tier: Tier
):
    policy = preset(name)
    c = await desk.start(tier=tier, policy_name=name)
    view = await c.view()
    assert view.policy == name
    opened = {o.name: o.due_at for o in view.obligations if o.status == ObligationStatus.OPEN}
    expected = {
        r.name: open_clock(r, policy, tier, c.at).due_at
        for r in policy.rules_for(tier, ComplaintType.COMPLAINT)
        if r.anchor == Anchor.INTAKE
    }
    assert opened == expected
