"""Maintain the Chinese catalogue with Babel: extract, update, check, apply.

    python tools/i18n.py update            # extract _() strings -> update the .po (keeps translations)
    python tools/i18n.py check             # list msgids with no Chinese yet (exit 1 if any)
    python tools/i18n.py apply FILE.json   # merge {"English": "中文"} into the .po

Extraction uses Babel's Python extractor over app.py, views/, ui/ and resviz/, plus the
strings that reach `_()` through a variable (page titles, family/ordering/data set names),
which the extractor cannot see. Translations are never thrown away: a msgid that disappears
stays in the file as obsolete (#~) and is reused if it comes back.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PO = ROOT / "resviz" / "locale" / "zh" / "LC_MESSAGES" / "resviz.po"
SOURCES = ("app.py", "views", "ui", "resviz")
KEYWORDS = {"_": None, "N_": None}


def source_files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        p = ROOT / name
        files += [p] if p.is_file() else sorted(p.rglob("*.py"))
    return [f for f in files if "__pycache__" not in f.parts]


def dynamic_msgids() -> list[str]:
    """Strings translated via `_(variable)`: the extractor cannot see these."""
    from resviz.data import DATASETS
    from resviz.spec import ACTIVATIONS, FAMILIES, OPTIMIZERS, ORDERINGS
    from ui.nav import PAGES

    found = [p.title for p in PAGES] + list(FAMILIES) + list(ORDERINGS) + list(DATASETS)
    found += list(ACTIVATIONS) + list(OPTIMIZERS)
    return list(dict.fromkeys(found))


def extract() -> Iterator[tuple[str, str, int]]:
    """(msgid, file, line) for every `_("literal")` in the sources, then the dynamic ones."""
    for path in source_files():
        for lineno, msgid, _comments, _ctx in extract_from_file("python", path, keywords=KEYWORDS):
            if isinstance(msgid, str) and msgid:
                yield msgid, str(path.relative_to(ROOT)), lineno
    for msgid in dynamic_msgids():
        yield msgid, "tools/i18n.py", 0


def template() -> Catalog:
    cat = Catalog(project="resviz", version="0.1", charset="utf-8")
    for msgid, path, line in extract():
        cat.add(msgid, locations=[(path, line)] if line else [])
    return cat


def load() -> Catalog:
    if not PO.exists():
        return Catalog(locale="zh", project="resviz", version="0.1", charset="utf-8")
    with PO.open("rb") as f:
        return read_po(f, locale="zh")


def save(cat: Catalog) -> None:
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as f:
        write_po(f, cat, width=100, sort_output=True, include_lineno=False)


def known_translations(cat: Catalog) -> dict[str, str]:
    """Every translation in the file, obsolete ones included."""
    out = {m.id: m.string for m in cat.obsolete.values() if m.id and m.string}
    out.update({m.id: m.string for m in cat if m.id and m.string})
    return out


def update() -> Catalog:
    cat = load()
    known = known_translations(cat)
    cat.update(template(), no_fuzzy_matching=True, update_creation_date=False)
    for msg in cat:
        if msg.id and not msg.string and msg.id in known:
            msg.string = known[msg.id]
    for msgid in [k for k in cat.obsolete if k in cat]:
        del cat.obsolete[msgid]
    save(cat)
    return cat


def fields(text: str) -> list[str]:
    """The `{name:spec}` placeholders of a format string, sorted ('' for positional)."""
    try:
        return sorted(f"{name}:{spec}" for _lit, name, spec, _conv in string.Formatter().parse(text)
                      if name is not None)
    except ValueError:
        return ["<malformed>"]


def problems(cat: Catalog | None = None) -> dict[str, list[str]]:
    """Extracted msgids missing from the catalogue or untranslated, and placeholder mismatches."""
    cat = cat or load()
    wanted = {m for m, _p, _l in extract()}
    missing = sorted(m for m in wanted if m not in cat or not cat[m].string)
    bad = sorted(m.id for m in cat if m.id and m.string and fields(m.id) != fields(m.string))
    return {"missing": missing, "placeholders": bad}


def apply(path: Path) -> int:
    """Merge a JSON {msgid: translation} file into the catalogue; returns how many were set."""
    table = json.loads(path.read_text(encoding="utf-8"))
    cat = load()
    n = 0
    for msgid, text in table.items():
        if msgid in cat and text:
            cat[msgid].string = text
            n += 1
    save(cat)
    return n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=["update", "check", "apply"])
    p.add_argument("file", nargs="?", help="JSON file for apply")
    args = p.parse_args(argv)
    if args.mode == "update":
        cat = update()
        print(f"{PO.relative_to(ROOT)}: {len(cat)} messages")
    if args.mode == "apply":
        if not args.file:
            p.error("apply needs a JSON file")
        print(f"set {apply(Path(args.file))} translations")
    found = problems()
    for msgid in found["missing"]:
        print("missing:", json.dumps(msgid, ensure_ascii=False))
    for msgid in found["placeholders"]:
        print("placeholders differ:", json.dumps(msgid, ensure_ascii=False))
    print(f"{len(found['missing'])} missing, {len(found['placeholders'])} placeholder mismatches")
    return 1 if args.mode == "check" and (found["missing"] or found["placeholders"]) else 0


if __name__ == "__main__":
    sys.exit(main())
