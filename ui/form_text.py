"""Words of the intake forms: the `intake.*` entries of the web app's gettext catalogues (ui/locale/)."""

from __future__ import annotations

from ui.i18n import t


def ft(key: str, locale: str) -> str:
    return t(f"intake.{key}", locale)
