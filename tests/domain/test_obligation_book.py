"""The obligation book (domain/obligation_book.py): the bookkeeping of all of a complaint's clocks, pure, over
its CaseState — what the workflow used to do in its handlers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.case import CaseState
from domain.models import (
    Actor,
    Category,
    ComplaintType,
    Department,
    ObligationName,
    ObligationStatus,
    Role,
    State,
    Tier,
)
from domain.obligation_book import ObligationBook, progress_starts_handling
from domain.policy import Anchor, preset
from domain.view import DepartmentFinding

SH = ZoneInfo("Asia/Shanghai")
N, S = ObligationName, ObligationStatus
MONDAY_9 = datetime(2026, 3, 2, 9, tzinfo=SH)
AGENT = Actor(id="agent-1", role=Role.SPECIALIST)


def book(tier: Tier = Tier.URGENT, **kw) -> ObligationBook:
    b = ObligationBook(
        CaseState(
            policy=preset("standard"),
            tier=tier,
            complaint_type=ComplaintType.COMPLAINT,
            category=Category.LOST,
            **kw,
        )
    )
    b.happen(Anchor.INTAKE, MONDAY_9)
    return b


def test_intake_opens_the_clocks_anchored_on_it():
    b = book()
    assert {N.FIRST_RESPONSE, N.SUPERVISOR_ACK, N.RESOLUTION} <= {o.name for o in b.s.obligations.values()}


def test_an_acknowledgement_meets_the_first_response_and_says_so():
    b = book()
    met = b.happen(Anchor.ACKNOWLEDGED, MONDAY_9 + timedelta(minutes=2), AGENT)
    assert [(m.name, m.status, m.met_by) for m in met] == [(N.FIRST_RESPONSE, S.MET, "agent-1")]
    assert b.happen(Anchor.ACKNOWLEDGED, MONDAY_9 + timedelta(minutes=3), AGENT) == []  # nothing twice


def test_a_manual_post_resets_the_report_period():
    b = book(Tier.IMPORTANT)
    b.happen(Anchor.HANDLING_STARTED, MONDAY_9 + timedelta(minutes=20), AGENT)
    post = MONDAY_9 + timedelta(minutes=40)
    b.reset_periods(post, AGENT, to_customer=False)
    report = b.s.obligations[N.PROGRESS_REPORT.value]
    assert report.started_at == post and report.occurrence == 2
    assert [o.status for o in b.s.past if o.name == N.PROGRESS_REPORT] == [S.MET]


def test_the_customer_update_period_resets_only_when_the_post_went_to_the_customer():
    b = book(Tier.URGENT)
    due = b.s.obligations[N.CUSTOMER_UPDATE.value].due_at
    post = MONDAY_9 + timedelta(minutes=10)
    b.reset_periods(post, AGENT, to_customer=False)
    assert b.s.obligations[N.CUSTOMER_UPDATE.value].due_at == due
    b.reset_periods(post, AGENT, to_customer=True)
    assert b.s.obligations[N.CUSTOMER_UPDATE.value].started_at == post


def test_a_breach_counts_and_escalates_one_level():
    b = book()
    ob = b.s.obligations[N.FIRST_RESPONSE.value]
    breach = b.breach(ob, ob.due_at, escalate=True)
    assert breach.escalated and (breach.from_role, breach.to_role) == (Role.SPECIALIST, Role.SUPERVISOR)
    assert b.s.breach_count == 1 and b.s.breached == ["first_response"] and b.s.last_breach_at == ob.due_at
    again = b.breach(b.s.obligations[N.SUPERVISOR_ACK.value], ob.due_at, escalate=False)
    assert not again.escalated and b.s.breach_count == 2


def test_a_late_department_report_is_counted_like_any_breach_once():
    b = book()
    b.s.investigation_round = 1
    ob = b.open_department(Department.DELIVERY, MONDAY_9)
    b.s.investigation.append(DepartmentFinding(department=Department.DELIVERY, due_at=ob.due_at))
    assert b.department_overdue(Department.DELIVERY, 2, ob.due_at) is None  # an old round's signal
    late = b.department_overdue(Department.DELIVERY, 1, ob.due_at)
    assert late is not None and late.status == S.BREACHED and late.escalation_level == 1
    assert b.s.breach_count == 1 and "department_report" in b.s.breached
    assert b.department_overdue(Department.DELIVERY, 1, ob.due_at) is None  # not counted twice


def test_waiting_on_the_customer_pauses_and_resuming_gives_back_the_time_left():
    b = book()
    res = b.s.obligations[N.RESOLUTION.value]
    b.pause_all(MONDAY_9 + timedelta(hours=1))
    assert b.s.obligations[N.RESOLUTION.value].status == S.PAUSED
    b.resume_all(MONDAY_9 + timedelta(hours=3))
    assert b.s.obligations[N.RESOLUTION.value].due_at == res.due_at + timedelta(hours=2)


def test_the_reopen_hands_it_to_a_senior_supervisor_and_runs_the_resolution_again():
    b = book(holder=AGENT)
    b.happen(Anchor.RESOLVED, MONDAY_9 + timedelta(hours=2), AGENT)
    before = b.reopen(MONDAY_9 + timedelta(hours=3))
    assert before == Role.SPECIALIST and b.s.holder_role == Role.SENIOR_SUPERVISOR and b.s.holder is None
    res = b.s.obligations[N.RESOLUTION.value]
    assert res.status == S.OPEN and res.occurrence == 2 and b.s.reopen_count == 1


def test_first_progress_from_the_department_starts_handling():
    case = book(state=State.ASSIGNED, assignees=["wang"]).s
    assert progress_starts_handling(Actor(id="wang", role=Role.LOGISTICS), case)
    assert progress_starts_handling(Actor(id="x", role=Role.ENGINEER), case)
    assert not progress_starts_handling(AGENT, case)  # the front desk posting is not the department starting
    case.state = State.IN_PROGRESS
    assert not progress_starts_handling(Actor(id="wang", role=Role.LOGISTICS), case)
