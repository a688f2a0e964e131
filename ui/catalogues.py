"""The UI's gettext catalogues (`ui/locale/<lang>/LC_MESSAGES/messages.po`): reading, checking, importing.

Message ids are stable keys (`state.closed`, `badge.breach` …), the en catalogue is the source text, and
placeholders are python-format (`%(n)s`, `%%` for a percent sign), as gettext tools expect; `check`
compares them across catalogues (Babel flags python-format only on text msgids, not on keys). A language is one directory: the app discovers what is there at start, no compile step.

Maintenance (also `desk i18n …`):
  python -m ui.catalogues check                    every key in every catalogue, placeholders agree
  python -m ui.catalogues import FILE [--update] [--prefix P]
                                                   append the keys of the ZH / EN dicts of a Python file
                                                   (e.g. a branch's old ui/i18n.py: `git show b:ui/i18n.py`)
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE = "en"  # the language every other catalogue translates from
# Web locale (as in <html lang>, the cookie and `?lang=`) ↔ gettext directory name.
DICT_NAMES = {"ZH": "zh-CN", "EN": "en"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_BRACE = re.compile(r"\{(\w+)\}")


def web_locale(directory: str) -> str:
    return directory.replace("_", "-")


def directory_name(locale: str) -> str:
    return locale.replace("-", "_")


def po_path(locale: str, root: Path = LOCALE_DIR) -> Path:
    return root / directory_name(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"


def available(root: Path = LOCALE_DIR) -> list[str]:
    """Web locales with a catalogue, the source language last."""
    found = sorted(web_locale(p.parent.parent.name) for p in root.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return sorted(found, key=lambda loc: loc == SOURCE)


def read(locale: str, root: Path = LOCALE_DIR) -> Catalog:
    with po_path(locale, root).open("rb") as fh:
        return read_po(fh, locale=directory_name(locale), domain=DOMAIN)


def write(catalog: Catalog, locale: str, root: Path = LOCALE_DIR) -> None:
    path = po_path(locale, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=0, sort_output=False, omit_header=False)


def strings(locale: str, root: Path = LOCALE_DIR) -> dict[str, str]:
    """msgid → msgstr of one catalogue; untranslated and fuzzy entries are left out (they fall back)."""
    return {
        m.id: m.string
        for m in read(locale, root)
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def from_brace(text: str) -> str:
    """Today's dict texts use str.format braces; gettext's python-format uses %(name)s (and %% for %)."""
    return _BRACE.sub(r"%(\1)s", text.replace("%", "%%"))


@dataclass
class Problem:
    locale: str
    key: str
    what: str

    def __str__(self) -> str:
        return f"{self.locale}: {self.key}: {self.what}"


def check(required: set[str] | None = None, root: Path = LOCALE_DIR) -> list[Problem]:
    """Every key of the source catalogue (and every `required` key) translated in every catalogue, with the
    same placeholders."""
    source = strings(SOURCE, root)
    keys = set(source) | (required or set())
    problems: list[Problem] = []
    for locale in available(root):
        table = strings(locale, root)
        for key in sorted(keys):
            if key not in table:
                problems.append(Problem(locale, key, "missing"))
            elif key in source and placeholders(table[key]) != placeholders(source[key]):
                problems.append(
                    Problem(
                        locale,
                        key,
                        f"placeholders {sorted(placeholders(table[key]))}"
                        f" differ from {sorted(placeholders(source[key]))}",
                    )
                )
    return problems


def dicts_in(path: Path) -> dict[str, dict[str, str]]:
    """The top-level `ZH = {...}` / `EN: dict[...] = {...}` literals of a Python file, by web locale."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for node in tree.body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id in DICT_NAMES and isinstance(value, ast.Dict):
            out[DICT_NAMES[target.id]] = ast.literal_eval(value)
    return out


def import_dicts(
    path: Path, *, update: bool = False, prefix: str = "", root: Path = LOCALE_DIR
) -> dict[str, list[str]]:
    """Append the dicts' keys missing from the catalogues (`update`: also replace changed texts).
    Returns, per locale, the keys added or changed; texts that differ but were kept are reported too."""
    report: dict[str, list[str]] = {}
    for locale, table in dicts_in(path).items():
        catalog = read(locale, root) if po_path(locale, root).exists() else new_catalog(locale)
        done: list[str] = []
        for key, text in table.items():
            key, text = prefix + key, from_brace(text)
            current = catalog.get(key)
            if current is None:
                catalog.add(key, text)
                done.append(f"+ {key}")
            elif current.string != text:
                if update:
                    current.string = text
                    done.append(f"~ {key}")
                else:
                    done.append(f"! {key} (kept the catalogue's text; --update replaces it)")
        write(catalog, locale, root)
        report[locale] = done
    return report


def new_catalog(locale: str) -> Catalog:
    return Catalog(
        locale=directory_name(locale),
        domain=DOMAIN,
        project="complaint-desk",
        charset="utf-8",
        fuzzy=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="desk i18n", description="the UI's gettext catalogues")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="every key translated in every catalogue, placeholders agree")
    imp = sub.add_parser("import", help="append the keys of the ZH / EN dicts of a Python file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--update", action="store_true", help="also replace texts that differ")
    imp.add_argument("--prefix", default="", help="put before every key (e.g. intake.)")
    args = parser.parse_args(argv)
    if args.command == "import":
        for locale, lines in import_dicts(args.file, update=args.update, prefix=args.prefix).items():
            print(f"{po_path(locale)}: {len(lines)} change(s)")
            for line in lines:
                print("  " + line)
    problems = check()
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{len(available())} catalogue(s): {', '.join(available())}; {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
