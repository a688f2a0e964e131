"""Jinja2 rendering shared by the staff pages, the status page and the dashboard.

`render` picks the viewer's language (`?lang=` switches it and is remembered in a cookie), exposes the
translation helpers and the CSRF token to templates, and sets the CSRF cookie when it is new.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from ui import csrf, timeline
from ui.i18n import DEFAULT_ZONE, countdown_words, label, local_time, normalize_locale, translations

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
LANG_COOKIE = "desk_lang"
TZ_COOKIE = "desk_tz"

# Bidi controls (embeddings, overrides, isolates, marks) in a customer's name would reorder what follows it
# on the page (a U+202E turns the phone number around); every value a template prints goes without them.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"))


def without_bidi_controls(value: Any) -> Any:
    """Jinja `finalize`: strings (plain or markup) lose their bidi controls; other values are untouched."""
    if isinstance(value, Markup):
        return Markup(str.translate(value, _BIDI_CONTROLS))
    if isinstance(value, str):
        return value.translate(_BIDI_CONTROLS)
    return value


templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.finalize = without_bidi_controls  # set before the first template is compiled
templates.env.add_extension("jinja2.ext.i18n")


@pass_context
def _gettext(context: Context, key: str) -> Markup:
    """The page's language comes from the render context; the catalogue text is escaped, and Jinja's
    new-style gettext fills `%(name)s` placeholders with escaped values (a <time> tag keeps its markup)."""
    return escape(translations(context.get("locale") or "").gettext(key))


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> Markup:
    return escape(translations(context.get("locale") or "").ngettext(singular, plural, n))


# `_('badge.reopened', n=2)`, `{% trans %}…{% endtrans %}` and `ngettext` in every template.
templates.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]


def iso(dt: datetime | None) -> str:
    if dt is None:
        return ""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def time_tag(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M", zone: tzinfo | None = None) -> Markup:
    """A <time> in the viewer's zone; static/desk.js re-renders it in the browser's own."""
    if dt is None:
        return Markup("")
    return Markup('<time datetime="{}" data-local>{}</time>').format(iso(dt), local_time(dt, fmt, zone))


def countdown(dt: datetime | None, warn: datetime | None = None, *, locale: str, **attrs: str) -> Markup:
    """A live countdown to `dt` as a duration ("还剩 4 分 05 秒", "超时 36 秒"); static/desk.js keeps it ticking."""
    if dt is None:
        return Markup("")
    now = datetime.now(UTC)
    classes = ["countdown"]
    if dt < now:
        classes.append("overdue")
    elif (warn is not None and now >= warn) or (dt - now).total_seconds() < 15 * 60:
        classes.append("soon")
    extra = Markup("").join(Markup(' {}="{}"').format(k.replace("_", "-"), v) for k, v in attrs.items())
    return Markup('<span class="{}" data-due="{}" data-warn="{}"{}>{}</span>').format(
        " ".join(classes), iso(dt), iso(warn), extra, countdown_words(dt, locale, now)
    )


def recipients(to: str, locale: str) -> str:
    """A message's recipients as shown to staff: a chat-group robot (WeCom / DingTalk) is "group" or
    "group:<name>" in the outbox; people and addresses show as they are."""
    words = []
    for r in (x.strip() for x in (to or "").split(",")):
        if r == "group" or r.startswith("group:"):
            r = translations(locale).gettext("message.group")
        if r and r not in words:
            words.append(r)
    return ", ".join(words)


def viewer_zone(request: Request) -> ZoneInfo:
    """The browser's zone (remembered by static/desk.js in a cookie), else Asia/Shanghai."""
    name = unquote(request.cookies.get(TZ_COOKIE, ""))
    if name and len(name) < 64:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return DEFAULT_ZONE


def request_locale(request: Request, default: str | None = None) -> str:
    asked = request.query_params.get("lang")
    if asked:
        return normalize_locale(asked)
    if default:
        return normalize_locale(default)
    return normalize_locale(request.cookies.get(LANG_COOKIE))


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    locale: str | None = None,
) -> HTMLResponse:
    loc = locale or request_locale(request)
    zone = viewer_zone(request)
    ctx: dict[str, Any] = {
        "request": request,
        "locale": loc,
        "other_locale": "en" if loc == "zh-CN" else "zh-CN",
        "L": lambda kind, value: label(kind, value, loc),
        "K": lambda kind: timeline.kind_word(kind, loc),
        "event_text": lambda ev, names=None: timeline.render(ev, loc, zone, names),
        "recipients": lambda to: recipients(to, loc),
        "time": lambda dt, fmt="%Y-%m-%d %H:%M": time_tag(dt, fmt, zone),
        "countdown": lambda dt, warn=None, **attrs: countdown(dt, warn, locale=loc, **attrs),
        "iso": iso,
        "csrf_field": lambda: Markup('<input type="hidden" name="{}" value="{}">').format(
            csrf.FIELD, csrf.csrf_token(request)
        ),
        "csrf_value": lambda: csrf.csrf_token(request),
        "e": escape,
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    csrf.attach_cookie(request, response)
    if request.query_params.get("lang") and locale is None:
        response.set_cookie(LANG_COOKIE, loc, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response
