"""The engine and the packed-file format never load UI code (as Harlequin checks its adapters)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("package", ["msde_tui.engine", "msde_tui.packfmt"])
def test_no_textual_below_the_ui(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'rich', 'typer'))\n"
        "print(','.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"{package} loads UI modules: {result.stdout} {result.stderr}"


# Screens whose module loads before (or just after) the first screen: the SQL engine and
# pyarrow load in the worker that needs them.
LIGHT_SCREENS = [
    "msde_tui.app",
    "msde_tui.screens.auto_screen",
    "msde_tui.screens.lifecycle_screens",
    "msde_tui.screens.pack_screens",
]


def test_the_wizard_and_light_screens_start_without_the_sql_engine() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {LIGHT_SCREENS!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('sqlalchemy', 'pyarrow'))\n"
        "print(','.join(bad[:5]))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"heavy modules loaded at start: {result.stdout} {result.stderr}"


# What the first screen (Connection) needs is loaded before it is painted; these modules load
# later, where they are used (help and question dialogs, the other steps, the jobs list when
# there is a job to show, the backend's types, Textual's TextArea and DataTable).
NOT_BEFORE_THE_FIRST_SCREEN = [
    "msde_tui.engine.backends.mssql.driver",
    "msde_tui.engine.backends.base",
    "msde_tui.screens.backups",
    "msde_tui.screens.browse",
    "msde_tui.screens.dialogs",
    "msde_tui.screens.dossiers",
    "msde_tui.screens.jobs_screen",
    "msde_tui.screens.operation",
    "msde_tui.screens.progress",
    "msde_tui.screens.summary",
    "textual.widgets._data_table",
    "textual.widgets._text_area",
    "sqlalchemy",
    "pyarrow",
]


def test_the_first_screen_is_painted_before_later_modules_load(tmp_path: Path) -> None:
    code = (
        "import asyncio, sys\n"
        "from msde_tui.app import MsdeApp\n"
        "from msde_tui.screens.connection import ConnectionScreen\n"
        "async def main():\n"
        f"    app = MsdeApp(home={str(tmp_path)!r}, lang='en', offer_jobs=True)\n"
        "    async with app.run_test(size=(80, 24)) as pilot:\n"
        "        for _ in range(2000):\n"
        "            if isinstance(app.screen, ConnectionScreen) and app.screen.is_mounted:\n"
        "                break\n"
        "            await asyncio.sleep(0.005)\n"
        "        await pilot.pause()\n"
        "        assert 'Step 1 of 5' in str(app.screen.query_one('#step-title').render())\n"
        "        loaded = set(sys.modules)\n"
        f"    bad = [m for m in {NOT_BEFORE_THE_FIRST_SCREEN!r} if m in loaded]\n"
        "    print(','.join(bad))\n"
        "    sys.exit(1 if bad else 0)\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"loaded before the first screen: {result.stdout} {result.stderr}"


def test_packfmt_stands_alone() -> None:
    """The packed-file format can be read without the rest of msde: no module of
    msde_tui.packfmt imports msde_tui.engine (or the UI), directly or through another."""
    code = (
        "import importlib, pkgutil, sys\n"
        "pkg = importlib.import_module('msde_tui.packfmt')\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.startswith('msde_tui.') and not n.startswith('msde_tui.packfmt'))\n"
        "print(','.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"msde_tui.packfmt loads: {result.stdout} {result.stderr}"


def test_no_zip_or_arrow_in_screens_and_cli() -> None:
    """The CLI and the wizard read packed files through the engine (one reader), never
    opening a ZIP or a Parquet file themselves."""
    root = Path(__file__).resolve().parents[2] / "msde_tui"
    offenders = []
    for folder in ("cli", "screens"):
        for path in sorted((root / folder).glob("*.py")):
            for line in path.read_text(encoding="utf-8").splitlines():
                words = line.strip().split()
                if words[:1] in (["import"], ["from"]) and len(words) > 1 and words[1].split(".")[0] in (
                        "zipfile", "pyarrow"):
                    offenders.append(f"{path.name}: {line.strip()}")
    assert offenders == []


# ``msde`` commands that must answer without the SQL toolkit, Arrow, the drivers or Textual:
# each command's module is imported only when that command runs (msde_tui/cli/lazy.py).
HEAVY_FOR_THE_CLI = ("sqlalchemy", "pyarrow", "numpy", "pymssql", "pyodbc", "adbc_driver_manager",
                     "adbc_driver_sqlite", "textual")
LIGHT_COMMANDS = [  # (arguments, a text the output shows)
    (["--help"], "Commands"), (["list"], "001"), (["--json", "list"], '"fiscal_years": 2'),
    (["jobs"], "20260101-100000"), (["--json", "jobs"], "20260101-100000"), (["log"], "rename"),
    (["--json", "log"], '"rename"'), (["list", "--help"], "Show the dossier list"),
]


@pytest.fixture(scope="module")
def used_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory in use: demo dossiers (fiscal years to count), a log line, a finished job."""
    import json

    from msde_tui.engine import auditlog
    from msde_tui.engine.plans import WizardPlan
    from msde_tui.engine.runs import jobs

    home = tmp_path_factory.mktemp("light-home")
    subprocess.run([sys.executable, "-c", "import sys; from msde_tui.cli import main; "
                    "sys.exit(main())", "--home", str(home), "demo", "--dossiers", "2",
                    "--years", "2", "--lines", "40"], check=True, capture_output=True)
    directory = jobs.jobs_dir(home) / "20260101-100000-aaaa"
    directory.mkdir(parents=True)
    spec = {"id": directory.name, "operation": "backup", "created_at": "2026-01-01T10:00:00",
            "subjects": ["001SOC"], "plan": jobs.plan_to_dict(WizardPlan())}
    (directory / jobs.SPEC).write_text(json.dumps(spec))
    (directory / jobs.EVENTS).touch()
    (directory / jobs.RESULT).write_text(json.dumps({"state": "ok", "dossiers": {}}))
    with auditlog.audited(home, "rename", ["001SOC"]):
        pass
    return home


@pytest.mark.parametrize(("args", "shown"), LIGHT_COMMANDS, ids=[" ".join(a) for a, _ in LIGHT_COMMANDS])
def test_light_msde_commands_do_not_load_heavy_modules(
    args: list[str], shown: str, used_home: Path
) -> None:
    code = (
        "import sys\n"
        "from msde_tui.cli import main\n"
        "try:\n"
        "    code = main(sys.argv[1:])\n"
        "finally:\n"
        f"    bad = sorted({{n.split('.')[0] for n in sys.modules}} & set({HEAVY_FOR_THE_CLI!r}))\n"
        "    print('HEAVY:' + ','.join(bad), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, "--home", str(used_home), *args],
                            capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    assert "HEAVY:\n" in result.stderr, f"msde {' '.join(args)} loaded {result.stderr}"
    assert shown in result.stdout


def test_bootstrap_s_launcher_learns_that_dossiers_exist_without_the_sql_engine(
    used_home: Path,
) -> None:
    """``bootstrap.py run`` -> ``msde_tui.launch``: reading the list, not a second ``msde``."""
    code = (
        "import sys\n"
        "from msde_tui.launch import demo_if_empty\n"
        f"assert demo_if_empty({str(used_home)!r}) is False\n"
        f"bad = sorted({{n.split('.')[0] for n in sys.modules}} & set({HEAVY_FOR_THE_CLI!r}))\n"
        "print(','.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"loaded: {result.stdout} {result.stderr}"
    assert result.stdout.strip() == ""


# -- the import graph, read from the sources (every import, also inside functions; not those
#    under ``if TYPE_CHECKING:``, which never run)

PACKAGE = Path(__file__).resolve().parents[2] / "msde_tui"
UI_LAYERS = ("msde_tui.screens", "msde_tui.cli", "msde_tui.app")
NOT_IN_THE_UI = ("sqlite3", "sqlalchemy", "pymssql", "pyodbc", "mssql_python", "zipfile", "pyarrow",
                 "adbc_driver_sqlite", "adbc_driver_manager")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: frozenset[str] = frozenset()) -> set[str]:
    """Absolute names this module imports: ``from a import b`` gives ``a.b`` when that is one of
    ``modules`` (a submodule: the package's ``__init__`` is not a dependency then), else ``a``."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    names: set[str] = set()
    module = _module_name(path)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for a in node.names:
                names.add(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base)
    return names


@functools.cache
def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    names = frozenset(modules)
    return {name: {i for i in _imports(path, names) if i in modules and i != name}
            for name, path in modules.items()}


def test_screens_and_cli_never_touch_databases_files_insides_or_drivers() -> None:
    bad = []
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        if not module.startswith(UI_LAYERS):
            continue
        for name in _imports(path):
            if name.split(".")[0] in NOT_IN_THE_UI:
                bad.append(f"{module} imports {name}")
    assert not bad, "\n".join(sorted(bad))


def test_packfmt_imports_nothing_outside_packfmt() -> None:
    graph = _graph()
    bad = [f"{m} imports {i}" for m, deps in graph.items() if m.startswith("msde_tui.packfmt")
           for i in deps if not i.startswith("msde_tui.packfmt")]
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_graph_reader_sees_imports_inside_functions() -> None:
    graph = _graph()
    # backends/__init__ (or backends.py) loads the embedded backend inside open_backend only
    opener = next(m for m in graph if m.endswith("engine.backends"))
    assert any("embedded" in dep for dep in graph[opener])
