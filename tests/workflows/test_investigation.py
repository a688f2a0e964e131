"""Joint investigation (B §1.3): one child per department, each with its own report deadline on the
complaint's calendar; a missing report escalates to that department's head; the complaint waits for all
reports or a supervisor's override."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain import actions as a
from domain.messages import Audience, TemplateKey
from domain.models import Category, Department, ObligationName, ObligationStatus, Role, State, Tier
from tests.workflows.harness import HEAD, LOGISTICS, MONDAY_9, SPECIALIST, SUPERVISOR, Desk
from workflows.investigation import DepartmentInvestigationWorkflow, investigation_id

N, S = ObligationName, ObligationStatus
M, H = timedelta(minutes=1), timedelta(hours=1)
JOINT = [Department.WAREHOUSE, Department.TRANSPORT, Department.DELIVERY]


def child_id(c, dept: Department, rnd: int = 1) -> str:
    return investigation_id(c.handle.id, dept, rnd)



def refusal(err: WorkflowUpdateFailedError) -> tuple[str, dict]:
    """The refusal's code and parameters (domain/refusals.py)."""
    return err.cause.type, dict(err.cause.details[0]) if err.cause.details else {}

async def test_lost_goods_open_one_investigation_per_department_and_a_late_one_escalates_to_its_head(
    desk: Desk,
):
    c = await desk.start(tier=Tier.IMPORTANT, category=Category.LOST, order_number="SF0000001")
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SUPERVISOR))
    await c.until(20 * M)
    res = await c.do(a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.WAREHOUSE]))
    assert "joint investigation: warehouse, transport, delivery" in res.message
    view = await c.view()
    assert [f.department for f in view.investigation] == JOINT
    reports = {o.department: o for o in view.obligations if o.name == N.DEPARTMENT_REPORT}
    assert set(reports) == set(JOINT)
    # 4 h of business time from Monday 09:20
    assert all(o.due_at == MONDAY_9 + 20 * M + 4 * H for o in reports.values())

    await c.until(1 * H)
    await c.do(a.UPDATE_START_HANDLING, a.StaffAction(actor=LOGISTICS))
    await c.do(
        a.UPDATE_DEPARTMENT_REPORT,
        a.DepartmentReport(
            actor=LOGISTICS, department=Department.WAREHOUSE, findings="出库记录正常", responsible=False
        ),
    )
    await c.do(
        a.UPDATE_DEPARTMENT_REPORT,
        a.DepartmentReport(
            actor=LOGISTICS, department=Department.TRANSPORT, findings="中转站扫描缺失", responsible=True
        ),
    )
    # The warehouse child ends with its finding; the complaint cannot be resolved while delivery is missing.
    done = await desk.client.get_workflow_handle_for(
        DepartmentInvestigationWorkflow.run, child_id(c, Department.WAREHOUSE)
    ).result()
    assert done.reported and not done.overdue
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await c.handle.execute_update(
            a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="c", solution="s"), result_type=a.ActionResult
        )
    assert refusal(refused.value) == ("investigation_pending", {"action": "resolve", "departments": ["delivery"]})

    await c.until(4 * H + 21 * M)  # past delivery's deadline (13:20)
    view = await c.view()
    delivery = next(o for o in view.obligations if o.department == Department.DELIVERY)
    assert delivery.status == S.BREACHED and view.breach_count == 1
    assert next(f for f in view.investigation if f.department == Department.DELIVERY).escalated
    heads = [
        n
        for n in desk.world.sent(TemplateKey.ESCALATION, Audience.STAFF, c.id)
        if n.departments == [Department.DELIVERY]
    ]
    assert heads and heads[0].roles == [Role.DEPARTMENT_HEAD]
    assert view.holder_role == Role.SPECIALIST  # the department's head was escalated to, not the complaint
    warned = [
        n
        for n in desk.world.sent(TemplateKey.WARNING, Audience.STAFF, c.id)
        if n.departments == [Department.DELIVERY]
    ]
    assert warned  # at 75 % of its window

    # The late report still arrives; the investigation completes and the complaint moves on.
    await c.do(
        a.UPDATE_DEPARTMENT_REPORT,
        a.DepartmentReport(actor=HEAD, department=Department.DELIVERY, findings="快递员误投"),
    )
    view = await c.view()
    assert next(o for o in view.obligations if o.department == Department.DELIVERY).status == S.MET_LATE
    assert any(e.kind == "investigation_complete" for e in view.timeline)
    late = await desk.client.get_workflow_handle_for(
        DepartmentInvestigationWorkflow.run, child_id(c, Department.DELIVERY)
    ).result()
    assert late.reported and late.overdue
    res = await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SPECIALIST, cause="误投", solution="已找回"))
    assert res.state == State.AWAITING_RATING.value


async def test_supervisor_overrides_a_stuck_investigation(desk: Desk):
    c = await desk.start(tier=Tier.URGENT, category=Category.LOST)
    await c.do(a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.LOGISTICS]))
    assert len((await c.view()).investigation) == 4  # warehouse, transport, delivery and the named logistics
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await c.handle.execute_update(
            a.UPDATE_OVERRIDE_INVESTIGATION,
            a.OverrideInvestigation(actor=SPECIALIST, reason="等不及"),
            result_type=a.ActionResult,
        )
    assert refusal(refused.value)[:1] == ("wrong_role",)
    assert refusal(refused.value)[1]["allowed_roles"] == ["supervisor", "senior_supervisor", "admin"]
    await c.do(
        a.UPDATE_OVERRIDE_INVESTIGATION, a.OverrideInvestigation(actor=SUPERVISOR, reason="客户急需结果")
    )
    view = await c.view()
    assert not view.investigation or all(
        o.status == S.WAIVED for o in view.obligations if o.name == N.DEPARTMENT_REPORT
    )
    stopped = await desk.client.get_workflow_handle_for(
        DepartmentInvestigationWorkflow.run, child_id(c, Department.TRANSPORT)
    ).result()
    assert stopped.stopped and not stopped.reported
    res = await c.do(a.UPDATE_RESOLVE, a.Resolve(actor=SUPERVISOR, cause="丢失", solution="全额赔付"))
    assert res.state == State.AWAITING_RATING.value


async def test_an_assignment_to_several_departments_works_the_same_way(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL, category=Category.QUALITY)
    res = await c.do(
        a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.RND, Department.SALES])
    )
    assert "joint investigation: rnd, sales" in res.message
    # A report for a department outside the investigation is refused with the list of those inside.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await c.handle.execute_update(
            a.UPDATE_DEPARTMENT_REPORT,
            a.DepartmentReport(actor=SUPERVISOR, department=Department.WAREHOUSE, findings="x"),
            result_type=a.ActionResult,
        )
    assert refusal(refused.value) == (
        "field",
        {"name": "department", "reason": "not_investigated", "department": "warehouse", "departments": ["rnd", "sales"]},
    )


async def test_a_single_department_assignment_needs_no_investigation(desk: Desk):
    c = await desk.start(tier=Tier.GENERAL, category=Category.QUALITY)
    await c.do(a.UPDATE_ASSIGN, a.Assign(actor=SPECIALIST, departments=[Department.RND]))
    assert (await c.view()).investigation == []
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await c.handle.execute_update(
            a.UPDATE_DEPARTMENT_REPORT,
            a.DepartmentReport(actor=SUPERVISOR, department=Department.RND, findings="x"),
            result_type=a.ActionResult,
        )
    assert refusal(refused.value) == ("nothing_to_do", {"what": "investigation"})
