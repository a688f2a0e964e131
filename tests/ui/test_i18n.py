"""The UI's words live in gettext catalogues: every key in every language, every enum value named, a third
language is one more .po file, and the maintenance command folds a branch's dict keys into the catalogues."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from domain.messages import Audience, TemplateKey, TrackingAnomaly, TrackingStatus
from domain.models import (
    Category,
    Channel,
    ComplaintType,
    Department,
    ObligationName,
    ObligationStatus,
    Role,
    State,
    Tier,
)
from ui import catalogues, i18n
from ui.timeline import EVENT_KINDS

ROOT = Path(__file__).resolve().parents[2]

# key prefix → the enum whose every value needs words (add the refusal codes' enum here once it exists).
ENUM_KEYS = {
    "tier": Tier,
    "type": ComplaintType,
    "channel": Channel,
    "category": Category,
    "role": Role,
    "department": Department,
    "state": State,
    "obligation": ObligationName,
    "ostatus": ObligationStatus,
    "template": TemplateKey,
    "audience": Audience,
    "tracking": TrackingStatus,
    "anomaly": TrackingAnomaly,
}


def required_keys() -> set[str]:
    keys = {f"{prefix}.{v.value}" for prefix, enum in ENUM_KEYS.items() for v in enum}
    keys |= {f"event.{kind}" for kind in EVENT_KINDS}
    keys |= {f"status.state.{s.value}" for s in State}
    return keys


def test_every_key_and_every_enum_value_has_zh_cn_and_en_text():
    problems = catalogues.check(required_keys())
    assert not problems, "\n".join(map(str, problems))
    assert set(catalogues.available()) >= {"zh-CN", "en"}


def test_the_check_fails_on_a_missing_key(tmp_path):
    root = tmp_path / "locale"
    shutil.copytree(catalogues.LOCALE_DIR, root)
    zh = catalogues.read("zh-CN", root)
    zh.delete("state.closed")
    catalogues.write(zh, "zh-CN", root)
    en = catalogues.read("en", root)
    en["badge.reopened"].string = "reopened"  # placeholder dropped
    catalogues.write(en, "en", root)
    problems = {(p.locale, p.key, p.what.split()[0]) for p in catalogues.check(required_keys(), root)}
    assert ("zh-CN", "state.closed", "missing") in problems
    assert ("zh-CN", "badge.reopened", "placeholders") in problems
    assert ("zh-CN", "tier.vip_gold", "missing") in {
        (p.locale, p.key, p.what) for p in catalogues.check({"tier.vip_gold"}, root)
    }


def test_a_third_language_is_one_more_po_file(tmp_path, monkeypatch):
    root = tmp_path / "locale"
    shutil.copytree(catalogues.LOCALE_DIR, root)
    fr = catalogues.new_catalog("fr")
    fr.add("state.closed", "Clôturée")
    fr.add("badge.reopened", "rouverte ×%(n)s")
    catalogues.write(fr, "fr", root)
    loaded = i18n.load(root)
    monkeypatch.setattr(i18n, "TRANSLATIONS", loaded)
    monkeypatch.setattr(i18n, "LOCALES", tuple(loaded))
    assert i18n.normalize_locale("fr-FR") == "fr"
    assert i18n.t("state.closed", "fr") == "Clôturée"
    assert i18n.t("badge.reopened", "fr", n=2) == "rouverte ×2"
    assert i18n.t("state.received", "fr") == "Received"  # not yet translated: English, never the key
    assert i18n.t("state.closed", "zh-CN") == "已结案"
    # …and the tool lists what the new language still lacks.
    missing = {p.key for p in catalogues.check(root=root) if p.locale == "fr"}
    assert "state.received" in missing and "state.closed" not in missing


def test_import_folds_a_branchs_dict_keys_into_the_catalogues(tmp_path):
    root = tmp_path / "locale"
    shutil.copytree(catalogues.LOCALE_DIR, root)
    branch = tmp_path / "i18n_from_branch.py"
    branch.write_text(
        'ZH: dict[str, str] = {"zz_branch.title": "搜索 {n} 件", "state.closed": "已结案"}\n'
        'EN = {"zz_branch.title": "Search {n} complaints", "state.closed": "Done and dusted"}\n',
        encoding="utf-8",
    )
    report = catalogues.import_dicts(branch, root=root)
    assert "+ zz_branch.title" in report["zh-CN"] and "+ zz_branch.title" in report["en"]
    assert any(line.startswith("! state.closed") for line in report["en"])  # kept, reported
    assert catalogues.strings("zh-CN", root)["zz_branch.title"] == "搜索 %(n)s 件"
    assert catalogues.strings("en", root)["state.closed"] == "Closed"
    catalogues.import_dicts(branch, update=True, root=root)
    assert catalogues.strings("en", root)["state.closed"] == "Done and dusted"
    assert not catalogues.check(root=root)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_templates_translate_through_jinjas_i18n_extension(locale):
    from ui.templating import templates

    env = templates.env
    assert "jinja2.ext.InternationalizationExtension" in env.extensions
    out = env.from_string(
        "{{ _('badge.reopened', n=2) }}|{% trans %}Plain words{% endtrans %}|{{ _('state.closed') }}"
    ).render(locale=locale)
    assert out.split("|") == [
        i18n.t("badge.reopened", locale, n=2),
        "Plain words",
        i18n.t("state.closed", locale),
    ]
