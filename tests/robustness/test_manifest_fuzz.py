"""A fuzzer over the manifest of a packed file (issue 17, class 3): any field replaced by any
JSON value, or removed, with the checksums an attacker can recompute recomputed. Reading never
crashes (only the domain's ``MsdeError``), and verify and import accept exactly the same files.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msde_tui.engine.accounting import demo
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.errors import MsdeError
from msde_tui.engine.packs import packimport, packinfo, packwrite
from msde_tui.packfmt.manifest import manifest_digest

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from(["PBF", "PTF", "PAF", "2.1", "msde-pack", "0" * 64, ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def small_pbf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("fuzz-home")
    demo.create_demo(home, dossiers=1, years=2, lines=40)
    out = tmp_path_factory.mktemp("fuzz-out")
    return packwrite.export_package(Catalog(home).get("001"), home, out).path


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


def _mutate(doc: dict[str, Any], path: tuple[Any, ...], value: Any, remove: bool) -> None:
    parent: Any = doc
    for step in path[:-1]:
        parent = parent[step]
    if remove and isinstance(parent, dict):
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value


def _outcome(func: Any, *args: Any, **kwargs: Any) -> bool:
    try:
        func(*args, **kwargs)
    except MsdeError as exc:
        assert str(exc)
        return False
    return True


@given(data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
def test_no_manifest_crashes_and_verify_agrees_with_import(small_pbf: Path, data: st.DataObject) -> None:
    with zipfile.ZipFile(small_pbf) as zin:
        members = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    doc = json.loads(members["manifest.json"])
    path = data.draw(st.sampled_from(_paths(doc)), label="field")
    value = data.draw(VALUES, label="value")
    remove = data.draw(st.booleans(), label="remove")
    _mutate(doc, path, value, remove)
    doc["manifest_sha256"] = manifest_digest(doc)
    scratch = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        target = scratch / small_pbf.name
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zout:
            for name, body in members.items():
                if name != "manifest.json":
                    zout.writestr(name, body)
            zout.writestr("manifest.json", json.dumps(doc))
        home = scratch / "home"
        home.mkdir()
        header = _outcome(packinfo.package_header, target)
        verified = _outcome(packinfo.package_info, target, verify=True)
        imported = _outcome(packimport.import_package, target, home)
        assert verified == imported, (path, value, remove, verified, imported)
        assert header or not verified
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
