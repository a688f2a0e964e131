"""A timeline event in the reader's words, from its kind and data — never from the workflow's `text`.

The workflow writes a short English summary into `TimelineEvent.text` for engineers (Temporal Web UI, logs);
for events a person caused, `text` is that person's own words (a note, a reason, findings) and is shown as
written. Everything else on the line — what happened, which clock, which departments, which roles, when
it was due — is rendered here from the event's kind and data, in the page's language and the viewer's zone.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from markupsafe import Markup, escape

from domain.events import EventKind
from domain.messages import TimelineEvent, TrackingStatus
from domain.models import Channel, ComplaintType, Department, ObligationName, Role, Tier
from ui.i18n import label, local_time, t

# Every kind the workflow records (domain/events.py); each has words under `event.<kind>`.
EVENT_KINDS: tuple[str, ...] = tuple(k.value for k in EventKind)

# Parsers for the few facts only the engineer's summary carries (older histories recorded no data for them).
_RECEIVED = re.compile(r"^(\w+) (\w+) via (\w+)$")
_AFTER_BREACH = re.compile(r"after the (\w+) breach$")
_DEPT_REPORT_DUE = re.compile(r"^(\w+) report was due")
_NOT_DELIVERED = re.compile(r" to (customer|staff) not delivered$")


def _enum(enum: type, raw: Any) -> Any:
    try:
        return enum(raw)
    except ValueError:
        return None


def kind_word(kind: str, locale: str) -> str:
    """What happened, in a word or two; an unknown kind (a newer workflow) shows as itself."""
    key = f"event.{kind}"
    text = t(key, locale)
    return kind.replace("_", " ") if text == key else text


# Kinds whose `text` the workflow always composes itself, whoever the actor (e.g. a person meeting a clock).
SUMMARY_KINDS = frozenset(
    {
        "received",
        "sla_warning",
        "sla_breach",
        "obligation_met",
        "tracking_linked",
        "tracking_failed",
        "notification_failed",
        "investigation_started",
        "progress_report",
        "customer_update",
        "closed",
        "survey_sent",
    }
)
_SYSTEM_SENTENCES = frozenset({"all departments reported"})


def person_words(ev: TimelineEvent) -> str:
    """The text a person wrote (note, reason, findings …); the system's summaries are for engineers."""
    if ev.actor.role == Role.SYSTEM or ev.kind in SUMMARY_KINDS or ev.text in _SYSTEM_SENTENCES:
        return ""
    return str((ev.data or {}).get("text") or ev.text)  # replies, notes, messages: in full in the data


def _list(kind: str, values: list[Any], locale: str) -> str:
    sep = "、" if locale.startswith("zh") else ", "
    return sep.join(label(kind, v, locale) for v in values)


def _name(staff_id: str | None, names: dict[str, str]) -> str:
    return names.get(staff_id or "", staff_id or "—")


def details(
    ev: TimelineEvent, locale: str, zone: tzinfo | None = None, names: dict[str, str] | None = None
) -> str:
    """The facts of the event in words (empty when the kind says it all)."""
    names = names or {}
    d = ev.data or {}
    kw: dict[str, Any] = {}

    def when(dt: datetime | str | None) -> str:
        if isinstance(dt, str):
            try:
                dt = datetime.fromisoformat(dt)
            except ValueError:
                return dt
        return local_time(dt, "%Y-%m-%d %H:%M", zone)

    def line(key: str, **values: Any) -> str:
        return t(f"timeline.{key}", locale, **values)

    k = ev.kind
    obligation = label("obligation", ev.obligation, locale) if ev.obligation else ""
    if k == "received":
        m = _RECEIVED.match(ev.text or "")  # older histories: only the summary names them
        raw = (
            (d.get("tier"), d.get("complaint_type"), d.get("channel")) if d.get("tier") else m and m.groups()
        )
        tier, ctype, channel = (
            (_enum(Tier, raw[0]), _enum(ComplaintType, raw[1]), _enum(Channel, raw[2]))
            if raw
            else (None,) * 3
        )
        if tier and ctype and channel:
            return line(
                "received",
                tier=label("tier", tier, locale),
                type=label("type", ctype, locale),
                channel=label("channel", channel, locale),
            )
        return ""
    if k == "sla_warning":
        return line("sla_warning", obligation=obligation, due=when(ev.due_at)) if ev.due_at else ""
    if k == "sla_breach":
        parsed = _DEPT_REPORT_DUE.match(ev.text or "")
        dept = _enum(Department, d.get("department") or (parsed[1] if parsed else ""))
        if dept:
            kw["obligation"] = f"{obligation} · {label('department', dept, locale)}"
        else:
            kw["obligation"] = obligation
        out = line("sla_breach", due=when(ev.due_at), **kw) if ev.due_at else ""
        if d.get("to_role") and d.get("from_role") and d["to_role"] != d["from_role"]:
            out += line("now_held_by", role=label("role", d["to_role"], locale))
        return out
    if k == "escalated":
        kw = {
            "from_role": label("role", d.get("from_role"), locale),
            "to_role": label("role", d.get("to_role"), locale),
        }
        after = _AFTER_BREACH.search(ev.text or "") if ev.actor.role == Role.SYSTEM else None
        lapsed = d.get("obligation") or (after[1] if after else None)  # older histories: in the summary
        if lapsed and _enum(ObligationName, lapsed):
            return line("escalated_breach", obligation=label("obligation", lapsed, locale), **kw)
        if d.get("from_role") or d.get("to_role"):
            return line("escalated", **kw)
        return ""
    if k == "obligation_met":
        status = d.get("obligation_status")
        return (
            line("obligation_met", obligation=obligation, status=label("ostatus", status, locale))
            if status
            else ""
        )
    if k in ("progress_report", "customer_update") and ev.actor.role == Role.SYSTEM:
        return line(f"automatic_{k}") + (line("no_progress") if d.get("no_progress") else "")
    if k == "notification_failed":
        audience = _NOT_DELIVERED.search(ev.text or "")
        return line(
            "notification_failed",
            template=label("template", d.get("template"), locale),
            audience=label("audience", audience[1], locale) if audience else "",
        )
    if k == "tracking_failed":
        return line("tracking_failed")
    if k == "tracking_linked":
        parts = []
        if d.get("found") is False:
            parts.append(line("waybill_unknown"))
        elif _enum(TrackingStatus, ev.text):
            parts.append(label("tracking", ev.text, locale))
        if d.get("anomalies"):
            parts.append(line("anomalies", anomalies=_list("anomaly", d["anomalies"], locale)))
        return " · ".join(parts)
    if k == "investigation_started" and d.get("departments"):
        return line("departments", departments=_list("department", d["departments"], locale))
    if k == "investigation_complete" and ev.text == "all departments reported":
        return line("all_reported")
    if k == "assigned" and d.get("departments"):
        out = line("departments", departments=_list("department", d["departments"], locale))
        if d.get("assignees"):
            out += " · " + line("assignees", assignees=", ".join(_name(a, names) for a in d["assignees"]))
        return out
    if k == "classified" and d.get("tier"):
        return line(
            "classified",
            tier=label("tier", d["tier"], locale),
            type=label("type", d.get("complaint_type"), locale),
        ) + (line("replanned") if d.get("replanned") else "")
    if k == "department_report" and d.get("department"):
        out = label("department", d["department"], locale)
        if d.get("responsible") is True:
            out += " · " + line("responsible")
        elif d.get("responsible") is False:
            out += " · " + line("not_responsible")
        return out
    if k in ("rated", "reopened") and d.get("score") is not None:
        return line("score", score=d["score"])
    if k == "reassigned" and d.get("to"):
        return line(
            "reassigned",
            to=_name(d["to"], names),
            role=label("role", d.get("to_role"), locale),
        )
    if k in ("plan_proposed", "resolved") and d.get("compensation") is not None:
        return line("compensation", amount=f"{float(d['compensation']):.2f}")
    if k == "closed":
        return line("closed_rated") if d.get("rated") else line("closed_unrated")
    if k == "customer_message":
        out = line("via", channel=label("channel", d["channel"], locale)) if d.get("channel") else ""
        if d.get("attachments"):
            out += " · " + line(
                "attachments",
                names="、".join(d["attachments"]) if locale.startswith("zh") else ", ".join(d["attachments"]),
            )
        return out
    if k == "resumed" and d.get("by_customer"):
        return line("resumed_by_customer")
    if k == "duplicate_report" and d.get("channel"):
        return line("via", channel=label("channel", d["channel"], locale))
    if k in ("merged", "cancelled") and ev.actor.role == Role.SYSTEM:
        return ""
    return ""


def render(
    ev: TimelineEvent, locale: str, zone: tzinfo | None = None, names: dict[str, str] | None = None
) -> Markup:
    """The event's facts line plus the person's own words, escaped, for the timeline template."""
    facts = details(ev, locale, zone, names)
    words = person_words(ev)
    if ev.kind == "merged" and words.startswith("merged into "):
        words = t("timeline.merged_into", locale, target=words.removeprefix("merged into "))
    out = Markup("")
    if facts:
        out += Markup('<div class="facts">{}</div>').format(facts)
    if words:
        out += Markup('<div style="white-space:pre-wrap">{}</div>').format(escape(words))
    return out
