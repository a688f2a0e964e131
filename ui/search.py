"""The staff search page: every complaint, open or closed, found by number, phone, e-mail, name, waybill or
words, with filters and sort orders. The box in every staff page's header sends its words here.

The query string is validated by the ledger's `SearchQuery`; a bad value is answered 422 with the field
named, on the same page. Dates are days in the viewer's zone, the "to" day included. The SQL is in
`ledger/search.py`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from domain.models import Channel, ComplaintType, Department, State, Tier
from ledger.search import LedgerSearch, SearchQuery, Sort
from ui.actions import validation_message
from ui.auth import StaffUser, list_staff, require_staff
from ui.templating import render, request_locale, viewer_zone

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_PAGE = 1000
SORTS: tuple[str, ...] = Sort.__args__  # type: ignore[attr-defined]
# Query-string names of the form → SearchQuery fields.
_FIELDS = {"q": "q", "status": "status", "tier": "tier", "type": "complaint_type", "channel": "channel",
           "department": "department", "holder": "person", "sort": "sort"}  # fmt: skip


def _day(value: str, request: Request, *, end: bool = False) -> datetime:
    """'2026-12-01' → the start of that day (of the next one for an end) in the viewer's zone."""
    day = date.fromisoformat(value)
    return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=viewer_zone(request))


def form_values(request: Request) -> dict[str, str]:
    """The form's values as typed, to show them back."""
    return {k: request.query_params.get(k, "")[:200] for k in (*_FIELDS, "state", "from", "to", "page")}


def page_number(form: dict[str, str]) -> int:
    return max(1, min(int(form["page"]), MAX_PAGE)) if form["page"].isdigit() else 1


def parse_query(form: dict[str, str], request: Request) -> SearchQuery:
    """The validated query; pydantic's ValidationError names the field that is wrong."""
    data: dict[str, object] = {field: form[k] for k, field in _FIELDS.items() if form[k]}
    if "tier" in data:
        data["tier"] = [data["tier"]]
    if form["state"]:
        data["state"] = [form["state"]]
    for key, field, end in (("from", "received_from", False), ("to", "received_to", True)):
        if form[key]:
            try:
                data[field] = _day(form[key], request, end=end)
            except ValueError:
                data[field] = form[key]  # not a day: pydantic names the field and the reason
    data["offset"] = (page_number(form) - 1) * PAGE_SIZE
    data["limit"] = PAGE_SIZE
    return SearchQuery.model_validate(data)


@router.get("/staff/search", response_class=HTMLResponse)
async def search_page(request: Request, user: StaffUser = Depends(require_staff)) -> Response:
    ctx = request.app.state.ctx
    locale = request_locale(request)
    staff = await list_staff(ctx.pool)
    error = None
    result = None
    form = form_values(request)
    try:
        query = parse_query(form, request)
    except ValidationError as e:
        error = validation_message(e, locale)
    else:
        if any(form[k] for k in form if k not in ("sort", "page")):  # an empty form shows no list
            result = await LedgerSearch(ctx.pool).search(query)
    page = page_number(form)

    def page_url(n: int) -> str:
        return "/staff/search?" + urlencode({**{k: v for k, v in form.items() if v}, "page": n})

    return render(
        request,
        "search.html",
        {
            "user": user,
            "nav": "search",
            "form": form,
            "result": result,
            "error": error,
            "page": page,
            "page_url": page_url,
            "names": {u.username: u.display_name for u in staff},
            "staff": staff,
            "states": list(State),
            "tiers": list(Tier),
            "types": list(ComplaintType),
            "channels": list(Channel),
            "departments": list(Department),
            "sorts": SORTS,
            "page_size": PAGE_SIZE,
        },
        status_code=422 if error else 200,
    )
