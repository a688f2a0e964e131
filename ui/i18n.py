"""User-facing words of the web app, read from the gettext catalogues in `ui/locale/` (see ui/catalogues.py),
and the viewer's time zone.

Keys are message ids (`state.closed`); enum values are translated under `<enum>.<value>` keys. A key missing
from a language falls back to English, then to the key itself (and `desk i18n check` reports it).
Times are rendered server-side in the viewer's zone (the browser tells it in a cookie, else Asia/Shanghai).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.support import NullTranslations, Translations

from domain.models import Locale
from ui import catalogues

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
DEFAULT_LOCALE = Locale.ZH_CN.value


def _compile(locale: str, root: Path) -> Translations:
    """A catalogue compiled in memory: .po files are the only form kept in the repository."""
    buf = io.BytesIO()
    write_mo(buf, catalogues.read(locale, root))
    buf.seek(0)
    return Translations(buf, domain=catalogues.DOMAIN)


def load(root: Path = catalogues.LOCALE_DIR) -> dict[str, NullTranslations]:
    """Every catalogue under ui/locale/, each falling back to the source language (English)."""
    source = _compile(catalogues.SOURCE, root)
    out: dict[str, NullTranslations] = {catalogues.SOURCE: source}
    for locale in catalogues.available(root):
        if locale != catalogues.SOURCE:
            tr = _compile(locale, root)
            tr.add_fallback(source)
            out[locale] = tr
    return out


TRANSLATIONS: dict[str, NullTranslations] = load()
LOCALES: tuple[str, ...] = tuple(sorted(TRANSLATIONS, key=lambda loc: loc != DEFAULT_LOCALE))


def normalize_locale(value: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Accept zh, zh-CN, zh_cn, en, en-US, fr-FR … and return one of LOCALES (exact, then by language)."""
    if not value:
        return default
    v = value.strip().replace("_", "-").lower()
    by_lower = {loc.lower(): loc for loc in LOCALES}
    if v in by_lower:
        return by_lower[v]
    language = v.split("-")[0]
    for loc in LOCALES:
        if loc.lower().split("-")[0] == language:
            return loc
    return default


def translations(locale: str) -> NullTranslations:
    return TRANSLATIONS.get(locale) or TRANSLATIONS[DEFAULT_LOCALE]


def has(key: str, locale: str = catalogues.SOURCE) -> bool:
    return translations(locale).gettext(key) != key


def t(key: str, locale: str = DEFAULT_LOCALE, **kw: object) -> str:
    """The text of `key` in `locale`, placeholders (`%(name)s`) filled from `kw`."""
    text = translations(locale).gettext(key)
    return text % kw if kw else text


def label(kind: str, value: object, locale: str) -> str:
    """Translate an enum value: label('state', State.CLOSED, 'en') → 'Closed'; a value without words (free
    text, a newer code) shows as it is rather than as a key."""
    if value is None or value == "":
        return ""
    raw = getattr(value, "value", value)
    key = f"{kind}.{raw}"
    text = t(key, locale)
    return str(raw) if text == key else text


def local_time(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M", zone: tzinfo | None = None) -> str:
    """`dt` in the viewer's zone (default Asia/Shanghai); the browser re-renders <time> tags in its own."""
    if dt is None:
        return ""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(zone or DEFAULT_ZONE).strftime(fmt)


def duration_words(seconds: float, locale: str) -> str:
    """A span of time as a duration, never like a clock: "4 分 05 秒" / "4 min 05 s", "2 天 3 小时"."""
    s = int(abs(seconds))
    d, h, m, sec = s // 86400, s % 86400 // 3600, s % 3600 // 60, s % 60
    u = {unit: t(f"unit.{unit}", locale) for unit in ("d", "h", "min", "s")}
    if d:
        return f"{d} {u['d']} {h} {u['h']}"
    if h:
        return f"{h} {u['h']} {m:02d} {u['min']}"
    if m:
        return f"{m} {u['min']} {sec:02d} {u['s']}"
    return f"{sec} {u['s']}"


def countdown_words(due: datetime, locale: str, now: datetime | None = None) -> str:
    """ "还剩 4 分 05 秒" / "4 min 05 s left", or "超时 36 秒" / "36 s overdue" once past due."""
    left = (due - (now or datetime.now(UTC))).total_seconds()
    key = "countdown.left" if left >= 0 else "countdown.overdue"
    return t(key, locale, span=duration_words(left, locale))
