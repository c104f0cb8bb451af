"""French and English for the wizard and the jobs CLI, with gettext.

The language comes from ``--lang`` when given, else from the locale environment the way
gettext reads it (LANGUAGE, LC_ALL, LC_MESSAGES, LANG): French when it starts with ``fr``,
English otherwise. Source strings are English; ``locale/<lang>/LC_MESSAGES/msde_tui.po`` holds
the translations and the compiled ``.mo`` beside it is committed, so gettext works from a clean
checkout with nothing to build. ``python -m msde_tui.i18n`` recompiles every ``.mo`` from its
``.po`` (pure Python, byte-for-byte reproducible); a test checks the committed files match.

Strings are translated when shown (``_("...")`` at run time), never at import time, so that
switching language in one process (the tests do) changes every label.

The engine's own words (step names, result lines, errors and their hints) are written in
English with their parameters, in the events file of a job or in an exception, and translated
where they are shown: the wizard and the CLI pass them through ``engine.words.shown``, which
finds the ``N_``-marked template each came from and gives it in the user's language with the
same values. That is the one way: a new engine message gets its template in engine/words.py.
Keys shown follow the language too (a French "yes" is ``o``); a key shown is always accepted.
"""

from __future__ import annotations

import ast
import gettext
import os
import struct
import sys
from pathlib import Path

DOMAIN = "msde_tui"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "fr")

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def language_from_env(environ: dict[str, str] | os._Environ[str] | None = None) -> str:
    """``fr`` or ``en`` from LANGUAGE / LC_ALL / LC_MESSAGES / LANG (first one set wins)."""
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            first = value.split(":")[0].strip().lower()
            if first in ("c", "posix"):
                return "en"
            return "fr" if first.startswith("fr") else "en"
    return "en"


def setup(lang: str | None = None) -> str:
    """Choose the language (``lang`` forces it) and return it (``fr`` or ``en``)."""
    global _translations, _language
    chosen = (lang or language_from_env()).lower()[:2]
    if chosen not in LANGUAGES:
        chosen = "en"
    _translations = gettext.translation(
        DOMAIN, localedir=str(LOCALE_DIR), languages=[chosen], fallback=True
    )
    _language = chosen
    return chosen


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """Translate ``message`` into the current language."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for translation without translating it now (translated when shown)."""
    return message


# ---------------------------------------------------------------------------------------------
# .po -> .mo, in pure Python (CI has no msgfmt)


def parse_po(text: str) -> dict[str, str]:
    """Return ``{msgid: msgstr}`` of a .po file (fuzzy entries left out, as msgfmt does)."""
    entries: dict[str, str] = {}
    current: dict[str, list[str]] | None = None
    section = ""
    fuzzy_next = False
    fuzzy = False

    def flush() -> None:
        if current is not None and "str" in current and not fuzzy:
            entries["".join(current["id"])] = "".join(current["str"])

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#,"):
            fuzzy_next = "fuzzy" in line
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            current, section = {"id": [_po_string(line[6:], number)]}, "id"
            fuzzy, fuzzy_next = fuzzy_next, False
        elif line.startswith("msgstr ") and current is not None:
            current["str"], section = [_po_string(line[7:], number)], "str"
        elif line.startswith('"') and current is not None and section in current:
            current[section].append(_po_string(line, number))
        else:
            raise ValueError(f"line {number}: cannot read {line!r}")
    flush()
    return entries


def _po_string(token: str, number: int) -> str:
    token = token.strip()
    if not (token.startswith('"') and token.endswith('"')):
        raise ValueError(f"line {number}: expected a quoted string")
    value = ast.literal_eval(token)
    assert isinstance(value, str)
    return value


def compile_mo(entries: dict[str, str]) -> bytes:
    """GNU .mo bytes for ``entries`` (keys sorted; untranslated entries left out)."""
    items = sorted((k, v) for k, v in entries.items() if v or k == "")
    ids = b""
    strs = b""
    offsets: list[tuple[int, int, int, int]] = []
    for key, value in items:
        kb, vb = key.encode("utf-8"), value.encode("utf-8")
        offsets.append((len(ids), len(kb), len(strs), len(vb)))
        ids += kb + b"\0"
        strs += vb + b"\0"
    count = len(items)
    key_table = 7 * 4
    value_table = key_table + count * 8
    ids_start = value_table + count * 8
    strs_start = ids_start + len(ids)
    key_index: list[int] = []
    value_index: list[int] = []
    for id_off, id_len, str_off, str_len in offsets:
        key_index += [id_len, ids_start + id_off]
        value_index += [str_len, strs_start + str_off]
    header = struct.pack("<7I", 0x950412DE, 0, count, key_table, value_table, 0, 0)
    body = struct.pack(f"<{len(key_index)}I", *key_index)
    body += struct.pack(f"<{len(value_index)}I", *value_index)
    return header + body + ids + strs


PACKAGE_DIR = Path(__file__).resolve().parent
# where the translated strings are, relative to the package (bootstrap.py: in a checkout only)
SOURCES = ("app.py", "screens", "cli", "engine/runs/basicops.py", "engine/packs/packops.py",
           "engine/lifecycle/lifeops.py", "engine/words.py", "engine/errorwords.py", "engine/packwords.py",
           "engine/auto/autoops.py", "engine/auto/schedule.py",
           "engine/backends/mssql/directories.py", "engine/backends/access/accessops.py", "launch.py",
           "../bootstrap.py")


def source_files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = PACKAGE_DIR / name
        if not path.exists():
            continue
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def extract(files: list[Path] | None = None) -> list[str]:
    """Every literal given to ``_``, ``N_`` or ``ngettext`` in the sources, in first-seen order."""
    found: dict[str, None] = {}
    for path in files or source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            if node.func.id not in ("_", "N_", "ngettext"):
                continue
            for arg in node.args[: 2 if node.func.id == "ngettext" else 1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.setdefault(arg.value, None)
    return list(found)


def _po_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def render_po(language: str, messages: list[str], translations: dict[str, str]) -> str:
    """A .po file for ``messages`` (in order) keeping the known ``translations``."""
    header = (
        "Project-Id-Version: msde-tui\n"
        f"Language: {language}\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        f"Plural-Forms: nplurals=2; plural={'(n > 1)' if language == 'fr' else '(n != 1)'};\n"
    )
    out = [f"# msde-tui messages ({language}). Edit msgstr, then: python -m msde_tui.i18n", ""]
    out += ['msgid ""', f"msgstr {_po_quote(header)}", ""]
    for message in messages:
        out.append(f"msgid {_po_quote(message)}")
        out.append(f"msgstr {_po_quote(translations.get(message, ''))}")
        out.append("")
    return "\n".join(out)


def update_po() -> list[Path]:
    """Rewrite each .po with the messages found in the sources (known translations kept)."""
    messages = extract()
    written = []
    for language in LANGUAGES:
        po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        known = parse_po(po.read_text(encoding="utf-8")) if po.exists() else {}
        po.parent.mkdir(parents=True, exist_ok=True)
        po.write_text(render_po(language, messages, known), encoding="utf-8")
        written.append(po)
    return written


def po_files() -> list[Path]:
    return sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def compile_all() -> list[Path]:
    """Write every ``.mo`` from its ``.po``; return the files written."""
    written = []
    for po in po_files():
        mo = po.with_suffix(".mo")
        mo.write_bytes(compile_mo(parse_po(po.read_text(encoding="utf-8"))))
        written.append(mo)
    return written


if __name__ == "__main__":
    if sys.argv[1:] == ["extract"]:
        for path in update_po():
            print(path, file=sys.stderr)
    for path in compile_all():
        print(path, file=sys.stderr)
