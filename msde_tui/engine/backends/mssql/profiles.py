"""SQL Server connection profiles, kept in ``connections.toml`` in the config directory.

A profile is a name, a host (``srv``, ``srv\\SQLEXPRESS``), a port, a user and a driver —
**never a password**. The password comes from ``MSDE_PASSWORD`` or a hidden prompt, lives in
memory only (``plans.Connection.password``) and is never written by this tool. A
``password`` key found in the file (written by hand) is refused, so that nobody believes it
is used.

File layout::

    [connections.office]
    host = "srv\\SQLEXPRESS"
    port = 1433
    user = "backup"
    driver = "pymssql"
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.errors import BadInput
from msde_tui.engine.paths import APP, config_dir
from msde_tui.engine.plans import Connection

PROFILES_FILE = "connections.toml"
SECTION = "connections"
PASSWORD_ENV = "MSDE_PASSWORD"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9_.:\[\]-]+(\\[A-Za-z0-9_$#-]{1,16})?$")


class ProfileNotFound(BadInput):
    """No connection profile with that name."""


class ProfileExists(BadInput):
    """A connection profile with that name is already saved."""


@dataclass(frozen=True)
class Profile:
    name: str
    host: str
    port: int = 1433
    user: str = ""
    driver: str = "pymssql"

    def connection(self, password: str) -> Connection:
        """The in-memory connection settings for this profile (password never stored)."""
        return Connection(
            kind="mssql",
            profile=self.name,
            host=self.host,
            port=self.port,
            user=self.user,
            password=password,
            driver=self.driver,
        )

    def table(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "user": self.user, "driver": self.driver}


def check_profile(name: str, host: str, port: int, user: str, driver: str) -> Profile:
    """A valid ``Profile`` or ``BadInput`` saying what is wrong."""
    if not _NAME_RE.match(name or ""):
        raise BadInput(
            f"'{name}' is not a valid profile name.",
            "Use 1 to 40 letters, digits, '.', '_' or '-', starting with a letter or digit.",
        )
    host = (host or "").strip()
    if not _HOST_RE.match(host):
        raise BadInput(
            f"'{host}' is not a valid server name.",
            "Give a host name or IP address, optionally with an instance: srv or srv\\SQLEXPRESS.",
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise BadInput(
            f"'{port}' is not a valid port.", "Use a number from 1 to 65535 (1433 by default)."
        )
    user = (user or "").strip()
    if not user or len(user) > 128 or "\x00" in user:
        raise BadInput("A SQL Server login name is needed.", "Give it with --user, e.g. --user sa.")
    # the driver layer is loaded only when a profile is checked, not for listing the saved ones
    from msde_tui.engine.backends.mssql.driver import DRIVERS

    if driver not in DRIVERS:
        raise BadInput(f"Unknown driver '{driver}'.", f"Use one of: {', '.join(DRIVERS)}.")
    return Profile(name=name, host=host, port=port, user=user, driver=driver)


def profiles_file(home: Path | None = None) -> Path:
    """``connections.toml``: in ``<home>/config`` for a chosen data dir (``MSDE_HOME`` or
    ``--home``), in the user config dir for the default data dir."""
    if home is not None and not os.environ.get("MSDE_HOME"):
        default = Path(platformdirs.user_data_dir(APP, appauthor=False)).expanduser()
        if Path(home).expanduser().resolve() == default.resolve():
            home = None
    return config_dir(home) / PROFILES_FILE


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(
            f"The connection profiles file {path} cannot be read ({exc}).",
            "Fix its TOML syntax or move it aside.",
        ) from exc
    table = document.get(SECTION, {})
    if not isinstance(table, dict):
        raise BadInput(f"[{SECTION}] in {path} is not a table.", "Fix the file or move it aside.")
    return table


def load(home: Path | None = None) -> dict[str, Profile]:
    """Every saved profile by name."""
    path = profiles_file(home)
    result: dict[str, Profile] = {}
    for name, raw in _read(path).items():
        if not isinstance(raw, dict):
            raise BadInput(f"Profile '{name}' in {path} is not a table.", "Fix the file.")
        if "password" in {str(k).lower() for k in raw}:
            raise BadInput(
                f"Profile '{name}' in {path} holds a password; msde never reads passwords from files.",
                f"Remove the password line, and give the password with {PASSWORD_ENV} or at the prompt.",
            )
        result[name] = check_profile(
            name,
            str(raw.get("host", "")),
            raw.get("port", 1433),
            str(raw.get("user", "")),
            str(raw.get("driver", "pymssql")),
        )
    return result


def _save(profiles: dict[str, Profile], home: Path | None) -> Path:
    path = profiles_file(home)
    document = {SECTION: {name: p.table() for name, p in sorted(profiles.items())}}
    write_atomic(path, tomli_w.dumps(document).encode("utf-8"))
    return path


def get(name: str, home: Path | None = None) -> Profile:
    profiles = load(home)
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none yet"
        raise ProfileNotFound(
            f"No SQL Server connection profile named '{name}' (known: {known}).",
            "Add it with: msde server add NAME --host HOST --user USER",
        )
    return profiles[name]


def add(profile: Profile, home: Path | None = None, *, replace: bool = False) -> Path:
    """Save ``profile``; an existing name is refused unless ``replace``."""
    profiles = load(home)
    if profile.name in profiles and not replace:
        raise ProfileExists(
            f"A connection profile named '{profile.name}' already exists.",
            "Choose another name, or add --replace to change it.",
        )
    profiles[profile.name] = profile
    return _save(profiles, home)


def remove(name: str, home: Path | None = None) -> Profile:
    profiles = load(home)
    removed = get(name, home)
    del profiles[name]
    _save(profiles, home)
    return removed


def password_from_env() -> str | None:
    """The password from ``MSDE_PASSWORD``, or None (then the caller prompts, hidden)."""
    value = os.environ.get(PASSWORD_ENV)
    return value if value else None


def connection(name: str, password: str, home: Path | None = None) -> Connection:
    """The ``Connection`` of a saved profile with a password given in memory."""
    return get(name, home).connection(password)
