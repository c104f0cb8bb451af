"""Errors of the packed-file format, with no dependency on the rest of msde.

``MsdeError`` is the base of every error msde reports to a technician (a plain sentence and
what to do about it). It lives here, in the format's own package, so that the format can be
read without the engine; ``msde_tui.engine.errors`` re-exports these classes and derives the
engine's own errors from the same base, so one ``except MsdeError`` catches both.
"""

from __future__ import annotations


class MsdeError(Exception):
    """Base of every error the tool reports to a technician.

    ``hint`` says what to do in the CLI's words (it may name a command or a flag);
    ``wizard_hint``, when the two differ, says the same in the wizard's words (a field, a
    checkbox, an operation of the menu). The wizard shows ``wizard_hint or hint``.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str = "", *, wizard_hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.wizard_hint = wizard_hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class PackError(MsdeError):
    """A packed file (PBF/PTF/PAF) is corrupt, truncated, of the wrong kind or version."""


class DiskFull(MsdeError):
    """No space left where the tool writes."""


class UnsafePath(MsdeError):
    """A file msde was about to create is already there, or is a link: nothing was written."""
