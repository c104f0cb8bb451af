"""The engine's words, translated where they are shown.

The engine says what happens in English with its parameters (a step name, a result message,
an error and its hint): a job runs in its own process and its events file is read later,
perhaps by a user of another language, so the words are put in that user's language when they
are shown, never when they are written. Every such English text is listed here, marked with
``N_`` (so ``python -m msde_tui.i18n extract`` puts it in the catalogues): step names
exactly, messages as templates whose ``{placeholders}`` stand for the values the engine put
in. ``shown(text)`` finds the template a text was made from and gives it in the current
language with the same values; a text made of several sentences is translated one sentence at
a time; a text no template matches is shown as it is (the pseudo-locale test,
tests/tui/test_pseudo_locale.py, finds any that a walk of the wizard shows).
"""

from __future__ import annotations

import re
from functools import lru_cache

from msde_tui.i18n import N_, _

# Step names (``events.Step.step``) and their usual details.
STEPS = (
    N_("backup"), N_("verify"), N_("restore"), N_("safety copy"), N_("read"), N_("copy"),
    N_("server"), N_("integrity check"), N_("check"), N_("write"), N_("replace"),
    N_("commit"), N_("done"), N_("remove"), N_("fec"), N_("pack"), N_("export"),
    N_("import"), N_("apply"), N_("archive"), N_("unarchive"), N_("cut"), N_("audit"),
    N_("off"), N_("skip"), N_("SHA-256 checksum"), N_("checking"), N_("checking the package"),
    N_("comparing the dossier with the package's base"), N_("checking the result"), N_("the dossier is in use; copying it in one pass"),
    N_("integrity check (already passed by these exact bytes)"),
    N_("convert"),
)

# Messages, results, errors and hints, as templates.
TEMPLATES = (
    N_("{file} restored as dossier {code} ({company})."),
    N_("The replaced file {files} was removed; its verified safety copy is {copies}."),
    N_("It is a copy of {origin} with an identity of its own (internal code {code})."),
    N_("This user cannot write in {directory}."),
    N_("Choose a directory you can write to, or fix its permissions."),
    N_("The directory {directory} does not exist."),
    N_("Create it first or choose another directory."),
    N_("{directory} is not a directory."),
    N_("Choose a directory."),
    N_("The backup {file} is damaged: the integrity check found {count} problem(s), first: {first}."),
    N_("Use another backup; this one cannot be restored."),
    N_("Use another backup; this one cannot be trusted."),
    N_("{size} MB"),
    N_("Backed up to {path} and verified."),
    N_("Backed up to {path}."),
    N_("{file} is intact: dossier {code}, {count} entries, taken {when}."),
    N_("{file} is intact: {kind} of dossier {code}."),
    N_("{years} archived in {file}."),
    N_("{code}: {years} back from {file}."),
    N_("{years} moved to {cut} (dossier {number}, verified); {code} keeps {kept}."),
    N_("{count} unused third parties deleted."),
    N_("tax-audit copy {copy} written and verified."),
    N_("This tax-audit copy is for the tax administration only; the tool never restores or imports it."),
    N_("{kind} {file} written and verified ({size})."),
    N_("Export copy {target} written and checked ({rows} rows)."),
    N_("Imported as {code} ({company}); every row was checked."),
    N_("{code} is up to date with {file}: {upserted} rows written, {deleted} deleted."),
    N_("{count} dossier(s) looked at."),
    N_("Unexpected error: {error}"),
    N_("The {operation} ended without a result."),
    N_("Do not rely on it; run it again."),
    N_("backup: no verified backup yet"),
    N_("backup: no trigger set: every run backs up"),
    N_("off: automatic backups are off for this dossier"),
    N_("automatic backups are off for this dossier"),
    N_("no verified backup yet"),
    N_("no trigger set: every run backs up"),
    N_("The backup was made but could not be verified."),
    N_("No previous PBF/PTF of {code} is known here: a full PBF is written instead."),
    N_("Access {format} dossier {label} converted into {code} ({where}): {tables} tables, {rows} rows, "
       "every table's rows equal to the Access file's (row digests compared)."),
    N_("The Access file was only read."),
    N_("{count} tables read back, row digests compared"),
    N_("{source} -> {target} (embedded)"),
    N_("{source} -> {target} (SQL Server)"),
)

_PLACEHOLDER = re.compile(r"\{([a-z_]*)\}")
_VALUE = r"(?:(?![.!?]\s+[A-Z(]).)+?"  # a value never runs over the end of a sentence
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z(])")


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...]:
    compiled = []
    for template in TEMPLATES:
        names: list[str] = []
        pattern = ""
        last = 0
        for match in _PLACEHOLDER.finditer(template):
            pattern += re.escape(template[last:match.start()])
            pattern += f"(?P<g{len(names)}>{_VALUE})"
            names.append(match.group(1))
            last = match.end()
        pattern += re.escape(template[last:])
        compiled.append((re.compile(pattern, re.DOTALL), template, tuple(names)))
    return tuple(compiled)


def _one(text: str) -> str | None:
    if text in STEPS:
        return _(text)
    for pattern, template, names in _patterns():
        match = pattern.fullmatch(text)
        if match is not None:
            values = {name: match.group(f"g{i}") for i, name in enumerate(names)}
            return _(template).format(**values)
    return None


def shown(text: str) -> str:
    """``text`` (English, from the engine) in the current language, as far as it is known."""
    if not text:
        return text
    whole = _one(text.strip())
    if whole is not None:
        return whole
    sentences = _SENTENCE_END.split(text.strip())
    if len(sentences) == 1:
        return text
    return " ".join(_one(s) or s for s in sentences)
