"""The automatic-backup policy (the document's Outils/Options, tab "Générales").

    enabled         "Opérationnelle": automatic backups are on
    keep            number of backups kept before the oldest is overwritten
    every_days      a backup is due when this many calendar days passed (0 = this trigger off)
    max_movements   ... or when this many movements were added since (0 = this trigger off)
    directory       target directory of embedded dossiers' backups ("" = <data dir>/backups)
    server_directory target directory of SQL Server dossiers' backups, a path ON THE SERVER HOST
                    ("" = the instance's default backup directory)
    test_restore    SQL Server dossiers: each new backup is also restored under a scratch name,
                    checked with DBCC CHECKDB and dropped (docs/OPERATIONS.md, "Test restore")

One global default plus per-dossier overrides (by dossier code), kept in the ``[auto]`` table of
``config_dir()/config.toml``::

    [auto]
    enabled = true
    keep = 3
    every_days = 1
    max_movements = 100
    directory = "/srv/msde-backups"

    [auto.dossiers.002SOC]
    keep = 10

Saving rewrites only the ``[auto]`` table (other tables of config.toml are kept) through an
atomic write, so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.errors import BadInput
from msde_tui.engine.naming import parse_code
from msde_tui.engine.paths import APP, config_dir

CONFIG_FILE = "config.toml"
SECTION = "auto"
MAX_KEEP = 999


@dataclass(frozen=True)
class Policy:
    enabled: bool = False
    keep: int = 3
    every_days: int = 1
    max_movements: int = 100
    directory: str = ""
    server_directory: str = ""
    test_restore: bool = False

    def __post_init__(self) -> None:
        check_field("enabled", self.enabled)
        check_field("keep", self.keep)
        check_field("every_days", self.every_days)
        check_field("max_movements", self.max_movements)
        check_field("directory", self.directory)
        check_field("server_directory", self.server_directory)
        check_field("test_restore", self.test_restore)

    def target_dir(self, home: Path) -> Path:
        """Where embedded dossiers' backups go."""
        return Path(self.directory).expanduser() if self.directory else Path(home) / "backups"

    def triggers_text(self) -> str:
        parts = []
        if self.every_days:
            parts.append(f"every {self.every_days} day{'s' if self.every_days != 1 else ''}")
        if self.max_movements:
            parts.append(f"{self.max_movements} new movements")
        return " or ".join(parts) if parts else "no trigger"


FIELD_NAMES = tuple(f.name for f in fields(Policy))


def check_field(name: str, value: Any) -> None:
    """Raise ``BadInput`` when ``value`` is not acceptable for the policy field ``name``."""
    if name in ("enabled", "test_restore"):
        if not isinstance(value, bool):
            raise BadInput(f"'{name}' must be true or false, not {value!r}.")
    elif name in ("keep", "every_days", "max_movements"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadInput(f"'{name}' must be a whole number, not {value!r}.")
        if name == "keep" and not 1 <= value <= MAX_KEEP:
            raise BadInput(
                f"'keep' must be between 1 and {MAX_KEEP}, not {value}.",
                "Keep at least one backup: it is the one a restore needs.",
            )
        if name != "keep" and not 0 <= value <= 1_000_000:
            raise BadInput(f"'{name}' must be between 0 (trigger off) and 1000000, not {value}.")
    elif name in ("directory", "server_directory"):
        if not isinstance(value, str):
            raise BadInput(f"'{name}' must be a text (a directory path), not {value!r}.")
        if "\x00" in value or "\n" in value or "\r" in value:
            raise BadInput(f"'{name}' contains a control character.", "Type a plain directory path.")
    else:
        raise BadInput(
            f"Unknown automatic-backup setting '{name}'.",
            f"Known settings: {', '.join(FIELD_NAMES)}.",
        )


def _check_code(code: str) -> str:
    return parse_code(code).code


@dataclass(frozen=True)
class AutoConfig:
    """The global default policy and the per-dossier overrides (only the fields that differ)."""

    default: Policy = Policy()
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def effective(self, code: str) -> Policy:
        """The policy that applies to dossier ``code``."""
        return replace(self.default, **self.overrides.get(code.upper(), {}))

    def with_default(self, **changes: Any) -> AutoConfig:
        for name, value in changes.items():
            check_field(name, value)
        return replace(self, default=replace(self.default, **changes))

    def with_override(self, code: str, **changes: Any) -> AutoConfig:
        """Set override fields for one dossier (merged into what it already overrides)."""
        code = _check_code(code)
        for name, value in changes.items():
            check_field(name, value)
        merged = {**self.overrides.get(code, {}), **changes}
        replace(self.default, **merged)  # validates the combination
        return replace(self, overrides={**self.overrides, code: merged})

    def without_override(self, code: str, *names: str) -> AutoConfig:
        """Drop some override fields of a dossier (all of them when ``names`` is empty)."""
        code = _check_code(code)
        for name in names:
            if name not in FIELD_NAMES:
                check_field(name, None)  # raises: unknown setting
        current = dict(self.overrides.get(code, {}))
        if names:
            for name in names:
                current.pop(name, None)
        else:
            current = {}
        overrides = {k: v for k, v in self.overrides.items() if k != code}
        if current:
            overrides[code] = current
        return replace(self, overrides=overrides)

    def to_toml_table(self) -> dict[str, Any]:
        table: dict[str, Any] = asdict(self.default)
        if self.overrides:
            table["dossiers"] = {code: dict(self.overrides[code]) for code in sorted(self.overrides)}
        return table

    @classmethod
    def from_toml_table(cls, table: dict[str, Any], *, source: str = CONFIG_FILE) -> AutoConfig:
        try:
            return cls._from_table(table, source)
        except BadInput as exc:
            if source in exc.message:
                raise
            raise BadInput(f"{source}: {exc.message}", exc.hint or _FIX_HINT) from exc

    @classmethod
    def _from_table(cls, table: dict[str, Any], source: str) -> AutoConfig:
        if not isinstance(table, dict):
            raise BadInput(f"[{SECTION}] in {source} is not a table.", _FIX_HINT)
        raw_default = {k: v for k, v in table.items() if k != "dossiers"}
        try:
            default = Policy(**{k: v for k, v in raw_default.items() if _known(k, source)})
        except TypeError as exc:  # pragma: no cover - _known filtered unknown keys
            raise BadInput(f"[{SECTION}] in {source}: {exc}.", _FIX_HINT) from exc
        overrides: dict[str, dict[str, Any]] = {}
        raw_dossiers = table.get("dossiers", {})
        if not isinstance(raw_dossiers, dict):
            raise BadInput(f"[{SECTION}.dossiers] in {source} is not a table.", _FIX_HINT)
        for code, values in raw_dossiers.items():
            try:
                code = _check_code(code)
            except BadInput as exc:
                raise BadInput(f"[{SECTION}.dossiers] in {source}: {exc.message}", _FIX_HINT) from exc
            if not isinstance(values, dict):
                raise BadInput(f"[{SECTION}.dossiers.{code}] in {source} is not a table.", _FIX_HINT)
            clean = {k: v for k, v in values.items() if _known(k, source)}
            replace(default, **clean)  # validates
            if clean:
                overrides[code] = clean
        return cls(default=default, overrides=overrides)


_FIX_HINT = "Fix or remove that part of the file, or set it again with 'msde auto policy set'."


def _known(name: str, source: str) -> bool:
    if name not in FIELD_NAMES:
        raise BadInput(
            f"Unknown automatic-backup setting '{name}' in {source}.",
            f"Known settings: {', '.join(FIELD_NAMES)}. {_FIX_HINT}",
        )
    return True


def config_file(home: Path | None = None) -> Path:
    """``config.toml``: in ``<home>/config`` for a chosen data dir (``MSDE_HOME`` or ``--home``),
    in the user config dir when ``home`` is None or the default data dir."""
    if home is not None and not os.environ.get("MSDE_HOME"):
        default = Path(platformdirs.user_data_dir(APP, appauthor=False)).expanduser()
        if Path(home).expanduser().resolve() == default.resolve():
            home = None
    return config_dir(home) / CONFIG_FILE


def _read_document(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(
            f"The configuration file {path} cannot be read ({exc}).",
            "Fix the TOML syntax or move the file aside; nothing was changed.",
        ) from exc


def load(home: Path | None = None) -> AutoConfig:
    """The policy from ``config.toml`` (defaults when the file or the table is absent)."""
    path = config_file(home)
    document = _read_document(path)
    if SECTION not in document:
        return AutoConfig()
    return AutoConfig.from_toml_table(document[SECTION], source=str(path))


def save(config: AutoConfig, home: Path | None = None) -> Path:
    """Write the ``[auto]`` table into ``config.toml`` atomically, keeping the other tables."""
    path = config_file(home)
    document = _read_document(path)
    document[SECTION] = config.to_toml_table()
    write_atomic(path, tomli_w.dumps(document).encode("utf-8"))
    return path
