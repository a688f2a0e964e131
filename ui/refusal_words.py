"""A refusal (domain/refusals.py: a code and its parameters) as one sentence in the reader's language.

The workflow refuses with data; the words are the catalogues' (`refusal.*` keys in ui/locale), filled here
with the parameters translated too (roles, states, departments, actions).
"""

from __future__ import annotations

from domain.models import Locale
from domain.refusals import Refusal, RefusalCode
from ui.i18n import label, t

_ROLE_KINDS = {"role": "role", "holder_role": "role", "state": "state", "tier": "tier", "complaint_type": "type"}


def _join(items: list[str], locale: str) -> str:
    return ("、" if locale == Locale.ZH_CN.value else ", ").join(items)


def refusal_text(r: Refusal, locale: str) -> str:
    """One sentence for a refusal (domain/refusals.py), in the reader's language."""
    p = dict(r.params)
    code = r.code.value
    words: dict[str, object] = {k: label(kind, p[k], locale) for k, kind in _ROLE_KINDS.items() if k in p}
    if "action" in p:
        words["action"] = t(f"action.{p['action']}", locale)
    if "department" in p:
        words["department"] = label("department", p["department"], locale)
    if "departments" in p:
        words["departments"] = _join([label("department", d, locale) for d in p["departments"]], locale)
    if "allowed_roles" in p:
        words["allowed"] = _join([label("role", x, locale) for x in p["allowed_roles"]], locale)
    if "allowed_states" in p:
        words["allowed"] = _join([label("state", x, locale) for x in p["allowed_states"]], locale)
    holder = p.get("holder")
    words["holder"] = holder or t("refusal.nobody", locale)
    if r.code == RefusalCode.NOT_YOURS:
        words["who"] = _join(([holder] if holder else []) + [label("role", x, locale) for x in p.get("allowed_roles", [])], locale)
    for k in ("by", "compensation", "score", "max_length", "min_length", "ge", "le"):
        if k in p:
            words[k] = f"{p[k]:g}" if isinstance(p[k], float) else p[k]
    words.setdefault("by", "—")
    if r.code in (RefusalCode.ALREADY_DONE, RefusalCode.NOTHING_TO_DO):
        key = f"refusal.{code}.{p.get('what')}"
    elif r.code == RefusalCode.FIELD:
        name = str(p.get("name", "?"))
        human = t(f"field.{name}", locale)
        reason_key = f"refusal.reason.{p.get('reason')}"
        reason = t(reason_key, locale)
        reason = t("refusal.reason.invalid", locale) if reason == reason_key else _fill(reason, words)
        return t("error.field", locale, field=human if human != f"field.{name}" else name, msg=reason)
    else:
        key = f"refusal.{code}"
    text = t(key, locale)
    if text == key:
        return t("refusal.unknown", locale, code=code)
    text = _fill(text, words)
    if r.code == RefusalCode.WRONG_STATE and p.get("hint"):
        text += ("" if locale == Locale.ZH_CN.value else " ") + t(f"refusal.hint.{p['hint']}", locale)
    return text


class _Words(dict):
    def __missing__(self, key: str) -> str:  # a placeholder the refusal did not fill reads as a dash
        return "—"


def _fill(text: str, words: dict[str, object]) -> str:
    try:
        return text % _Words(words)
    except (TypeError, ValueError):
        return text
