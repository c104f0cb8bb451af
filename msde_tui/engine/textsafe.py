"""Text from data made safe for a terminal (issue: terminal injection).

Company names, codes and file names come from dossiers, backups, packed files and SQL Server:
anyone who can write one of those can put escape sequences in them, which a terminal would
obey (clear the screen, retitle the window, rewrite earlier lines). Wherever such text is
shown, its control characters (C0 but newline and tab, DEL, C1) and the bidirectional
overrides are replaced by a visible escape such as ``\\x1b``.
"""

from __future__ import annotations

import re

_BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` with every control character escaped; newlines and tabs kept."""
    return _UNSAFE.sub(_escape, str(text))


def one_line(text: object) -> str:
    """``text`` for one line of a list: newlines and tabs escaped too."""
    return _UNSAFE_LINE.sub(_escape, str(text))


def escape_json_controls(text: str) -> str:
    """JSON text (``ensure_ascii=False``) with C1 controls and bidi overrides written as
    ``\\u`` escapes (``json`` escapes C0 itself): the same data, harmless on a terminal."""
    return re.sub(f"[\x7f-\x9f{_BIDI}]", lambda m: f"\\u{ord(m.group()):04x}", text)
