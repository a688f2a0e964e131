"""The action table (domain/action_table.py): who may do what, in which state, on which complaint, and the
refusal that says why not — the same answers for the workflow's validators and the UI's buttons."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain import actions as a
from domain.action_table import ACTIONS, CUSTOMER, Situation, allowed, as_markdown, check
from domain.case import CaseState
from domain.models import Actor, Category, ComplaintType, Department, Role, State, Tier
from domain.policy import Anchor, preset
from domain.refusals import RefusalCode
from domain.view import DepartmentFinding, Plan

SPECIALIST = Actor(id="agent-1", role=Role.SPECIALIST, departments=(Department.CUSTOMER_SERVICE,))
SUPERVISOR = Actor(id="sup-1", role=Role.SUPERVISOR)
WAREHOUSE = Actor(id="wang", role=Role.LOGISTICS, departments=(Department.WAREHOUSE,))
ENGINEER = Actor(id="chen", role=Role.ENGINEER, departments=(Department.TECHNICAL,))
LOGISTICS_HEAD = Actor(id="zhou", role=Role.DEPARTMENT_HEAD, departments=(Department.LOGISTICS,))


def case(**kw) -> Situation:
    """A complaint's situation; its departments are its own once assigned (`proposed=True`: only proposed)."""
    if kw.get("departments") and not kw.pop("proposed", False):
        kw.setdefault("anchors", {Anchor.ASSIGNMENT: datetime(2026, 3, 2, 9, 30, tzinfo=UTC)})
    s = CaseState(
        policy=preset("standard"),
        tier=kw.pop("tier", Tier.GENERAL),
        complaint_type=kw.pop("complaint_type", ComplaintType.COMPLAINT),
        category=Category.DAMAGED,
        **kw,
    )
    return Situation.of_case(s, "C-1")


def test_a_department_the_classifier_only_proposed_gives_its_staff_no_rights_yet():
    # issue 11: a logistics specialist not assigned paused the clocks and proposed a plan on a new complaint.
    proposed = case(state=State.RECEIVED, holder=SPECIALIST, departments=[Department.TRANSPORT], proposed=True)
    handed = case(state=State.ASSIGNED, holder=SPECIALIST, departments=[Department.TRANSPORT])
    liu = Actor(id="liu", role=Role.LOGISTICS, departments=(Department.TRANSPORT,))
    plan = a.ProposePlan(actor=liu, plan="补发")
    refused = check(a.UPDATE_PROPOSE_PLAN, liu, proposed, plan)
    assert refused is not None and refused.code.value == "not_yours"
    assert check(a.UPDATE_PROPOSE_PLAN, liu, handed, plan) is None


def test_every_update_has_one_row_in_the_table():
    updates = {v for k, v in vars(a).items() if k.startswith("UPDATE_")}
    assert set(ACTIONS) == updates


def test_front_line_actions_are_for_the_holder_assignees_and_the_complaints_departments():
    held = case(state=State.ASSIGNED, holder=SPECIALIST, departments=[Department.WAREHOUSE], assignees=["li"])
    assert check(a.UPDATE_WAIT, WAREHOUSE, held) is None  # the department's people
    assert check(a.UPDATE_WAIT, Actor(id="li", role=Role.ENGINEER), held) is None  # an assignee
    assert check(a.UPDATE_WAIT, SPECIALIST, held) is None  # the holder
    refused = check(a.UPDATE_WAIT, ENGINEER, held)
    assert refused is not None and refused.code == RefusalCode.NOT_YOURS
    # … and it says who can do it instead.
    assert refused.params["holder"] == "agent-1"
    assert refused.params["allowed_roles"] == ["supervisor", "senior_supervisor", "admin"]


def test_an_engineer_cannot_escalate_a_complaint_that_just_arrived():
    assert check(a.UPDATE_ESCALATE, ENGINEER, case()).code == RefusalCode.NOT_YOURS
    assert check(a.UPDATE_ESCALATE, SPECIALIST, case()) is None
    assert check(a.UPDATE_ESCALATE, SUPERVISOR, case()) is None


def test_department_heads_act_for_their_departments():
    theirs = case(state=State.ASSIGNED, holder=SPECIALIST, departments=[Department.LOGISTICS])
    other = case(state=State.ASSIGNED, holder=SPECIALIST, departments=[Department.SALES])
    arg = a.Reassign(actor=LOGISTICS_HEAD, holder_id="wang", holder_role=Role.LOGISTICS)
    assert check(a.UPDATE_REASSIGN, LOGISTICS_HEAD, theirs, arg) is None
    assert check(a.UPDATE_REASSIGN, LOGISTICS_HEAD, other, arg).code == RefusalCode.NOT_YOURS


def test_only_front_line_staff_resolve():
    sit = case(state=State.IN_PROGRESS, holder=SPECIALIST, departments=[Department.WAREHOUSE])
    refused = check(a.UPDATE_RESOLVE, WAREHOUSE, sit)
    assert refused.code == RefusalCode.WRONG_ROLE and "logistics" not in refused.params["allowed_roles"]


def test_a_compensation_above_the_approved_plan_needs_a_supervisor():
    plan = Plan(text="补发", compensation=100, proposed_by=SPECIALIST, approved=True, approved_by=SUPERVISOR)
    sit = case(state=State.IN_PROGRESS, holder=SPECIALIST, plan=plan)
    ok = a.Resolve(actor=SPECIALIST, cause="c", solution="s", compensation=100)
    too_much = a.Resolve(actor=SPECIALIST, cause="c", solution="s", compensation=300)
    assert check(a.UPDATE_RESOLVE, SPECIALIST, sit, ok) is None
    refused = check(a.UPDATE_RESOLVE, SPECIALIST, sit, too_much)
    assert (refused.code, refused.params) == (
        RefusalCode.NEEDS_APPROVAL,
        {"compensation": 300, "approved": 100},
    )
    assert check(a.UPDATE_RESOLVE, SUPERVISOR, sit, too_much.model_copy(update={"actor": SUPERVISOR})) is None


def test_a_low_rating_without_a_demand_is_a_field_refusal():
    sit = case(state=State.AWAITING_RATING)
    refused = check(a.UPDATE_RATE, CUSTOMER, sit, a.Rate(score=2))
    assert (refused.code, refused.params) == (
        RefusalCode.FIELD,
        {"name": "demand", "reason": "demand_needed", "score": 4},
    )
    assert check(a.UPDATE_RATE, CUSTOMER, sit, a.Rate(score=2, demand="退款")) is None


def test_a_finished_complaint_takes_no_action():
    for name in ACTIONS:
        assert check(name, SUPERVISOR, case(state=State.CLOSED)).code == RefusalCode.FINISHED


@pytest.mark.parametrize(
    ("state", "who", "expected"),
    [
        (State.RECEIVED, SPECIALIST, {"acknowledge", "classify", "assign", "escalate", "merge_into"}),
        (State.WAITING_ON_CUSTOMER, SPECIALIST, {"resume", "post_progress", "propose_plan", "classify"}),
        (State.IN_PROGRESS, ENGINEER, set()),  # not on this complaint: no buttons at all
    ],
)
def test_the_buttons_are_what_the_table_allows(state: State, who: Actor, expected: set[str]):
    sit = case(state=state, holder=SPECIALIST if state != State.RECEIVED else None)
    shown = set(allowed(who, sit))
    assert expected <= shown if expected else shown == set()
    assert a.UPDATE_APPROVE not in shown  # no plan to approve, and not a supervisor
    assert a.UPDATE_RESOLVE not in shown or state != State.WAITING_ON_CUSTOMER


def test_a_department_head_reports_only_for_their_own_department():
    findings = [DepartmentFinding(department=d) for d in (Department.WAREHOUSE, Department.TRANSPORT)]
    sit = case(
        state=State.ASSIGNED, holder=SPECIALIST, departments=[Department.WAREHOUSE], investigation=findings
    )
    head = Actor(id="wh-head", role=Role.DEPARTMENT_HEAD, departments=(Department.WAREHOUSE,))
    own = a.DepartmentReport(actor=head, department=Department.WAREHOUSE, findings="出库正常")
    other = a.DepartmentReport(actor=head, department=Department.TRANSPORT, findings="代填")
    assert check(a.UPDATE_DEPARTMENT_REPORT, head, sit, own) is None
    assert check(a.UPDATE_DEPARTMENT_REPORT, head, sit, other).code == RefusalCode.NOT_YOURS
    assert (
        check(a.UPDATE_DEPARTMENT_REPORT, SUPERVISOR, sit, other.model_copy(update={"actor": SUPERVISOR}))
        is None
    )


def test_the_documented_table_is_the_table():
    """docs/actions.md is generated from the table (`python -m domain.action_table`): it cannot drift."""
    doc = (Path(__file__).parents[2] / "docs" / "actions.md").read_text(encoding="utf-8")
    assert as_markdown() in doc
