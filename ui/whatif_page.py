"""The dashboard's what-if page (issue 17): the form of `desk what-if`, the same replay (ledger/whatif.py reads,
domain/whatif.py replays, ui/whatif_report.py shows), for supervisors. The replay is CPU work: it runs in a
thread so the web app keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from domain.policy import PRESETS, Policy, preset
from domain.whatif import LOCAL, Staffing, WhatIf, against_policy, in_force, percent, what_if
from ledger.whatif import period
from ui import whatif_report
from ui.auth import StaffUser, require_role
from ui.csrf import verify_csrf
from ui.dashboard import DASHBOARD_ROLES
from ui.templating import render, request_locale

router = APIRouter(include_in_schema=False)
ROLES = require_role(*DASHBOARD_ROLES)
MAX_POLICY_CHARS = 200_000
MAX_DAYS = 92


class FormProblem(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def _day(form, name: str) -> date:
    try:
        return date.fromisoformat(str(form.get(name, "")).strip())
    except ValueError:
        raise FormProblem(name, "a date, YYYY-MM-DD") from None


def _policy(text: str) -> Policy:
    """A preset's name, or a policy document in YAML or JSON (JSON is YAML too)."""
    text = text.strip()
    if not text:
        raise FormProblem("policy", "required: a preset name or a policy document")
    if len(text) > MAX_POLICY_CHARS:
        raise FormProblem("policy", f"at most {MAX_POLICY_CHARS} characters")
    if text in PRESETS:
        return preset(text)
    try:
        return Policy.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as e:
        raise FormProblem("policy", f"not YAML or JSON ({str(e).splitlines()[0]})") from None
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        raise FormProblem("policy", f"{where}: {first['msg']}") from None


def _inputs(form) -> dict:
    start, end = _day(form, "from"), _day(form, "to")
    if end < start:
        raise FormProblem("to", "not before the first day")
    if (end - start).days > MAX_DAYS:
        raise FormProblem("to", f"at most {MAX_DAYS} days after the first day")
    against = str(form.get("against", "")).strip() or None
    if against is not None and against not in PRESETS:
        raise FormProblem("against", f"one of {', '.join(PRESETS)}, or empty")
    try:
        faster = percent(str(form.get("faster", "0") or "0"))
    except ValueError:
        raise FormProblem("faster", "a percentage between 0 and 95") from None
    try:
        extra = int(str(form.get("extra_staff", "0") or "0"))
    except ValueError:
        raise FormProblem("extra_staff", "a whole number") from None
    if not 0 <= extra <= 50:
        raise FormProblem("extra_staff", "between 0 and 50")
    proposed = _policy(str(form.get("policy", "")))
    return {
        "start": start,
        "end": end,
        "against": against,
        "staffing": Staffing(faster, extra),
        "proposed": proposed,
    }


async def run(request: Request, i: dict) -> WhatIf:
    from_ = datetime.combine(i["start"], time(0), LOCAL).astimezone(UTC)
    to = datetime.combine(i["end"] + timedelta(days=1), time(0), LOCAL).astimezone(UTC)
    records = await period(request.app.state.ctx.pool, from_, to)
    against, label = against_policy(i["against"])
    return await asyncio.to_thread(
        what_if,
        records,
        i["proposed"],
        against,
        start=i["start"],
        end=i["end"],
        as_of=datetime.now(UTC),
        against_label=label,
        staffing=i["staffing"],
        in_force=in_force,
    )


def _page(request: Request, user: StaffUser, status_code: int = 200, **extra) -> Response:
    form = extra.pop("form", {})
    return render(
        request,
        "whatif.html",
        {"user": user, "nav": "whatif", "presets": list(PRESETS), "form": form, **extra},
        status_code=status_code,
    )


@router.get("/dashboard/what-if", response_class=HTMLResponse)
async def whatif_form(request: Request, user: StaffUser = Depends(ROLES)) -> Response:
    today = datetime.now(UTC).date()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    form = {
        "from": last_month_end.replace(day=1).isoformat(),
        "to": last_month_end.isoformat(),
        "policy": "standard",
    }
    return _page(request, user, form=form)


@router.post("/dashboard/what-if", response_class=HTMLResponse, dependencies=[Depends(verify_csrf)])
async def whatif_run(request: Request, user: StaffUser = Depends(ROLES)) -> Response:
    form = await request.form()
    kept = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        i = _inputs(form)
    except FormProblem as e:
        return _page(request, user, 422, form=kept, error=str(e), error_field=e.field)
    report = await run(request, i)
    body = whatif_report.body(report, request_locale(request))
    return _page(request, user, form=kept, report=report, body=body)


@router.post("/dashboard/what-if.csv", dependencies=[Depends(verify_csrf)])
async def whatif_csv(request: Request, user: StaffUser = Depends(ROLES)) -> Response:
    form = await request.form()
    try:
        i = _inputs(form)
    except FormProblem as e:
        return Response(str(e), status_code=422, media_type="text/plain; charset=utf-8")
    report = await run(request, i)
    name = f"what-if-{i['start']}-{i['end']}.csv"
    return Response(
        whatif_report.csv_text(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
