from __future__ import annotations

from datetime import datetime

import pytest

from msde_tui.engine import naming
from msde_tui.engine.errors import BadInput

WHEN = datetime(2026, 11, 28, 12, 6, 31)


def test_document_examples() -> None:
    assert naming.database_name("001", "SOC") == "PW0001SOC"
    assert naming.embedded_file_name("001SOC") == "001SOC.sqlite"
    assert naming.export_name("001SOC") == "E001SOC"
    assert naming.export_name("PW0001SOC") == "EPW0001SOC"
    assert naming.audit_name("001SOC") == "Admin001SOC"
    assert naming.packed_file_name("001", "SOC", "pbf", WHEN) == "001-SOC_20261128_120631.pbf"
    assert naming.native_backup_name("PW0001SOC", WHEN) == "PW0001SOC_20261128_120631.bak"


def test_parse_round_trips() -> None:
    assert naming.parse_code("001soc").code == "001SOC"
    assert naming.parse_database_name("PW0001SOC") == naming.DossierCode("001", "SOC")
    assert naming.parse_database_name("master") is None
    assert naming.base_of_export("E001SOC") == "001SOC"
    assert naming.base_of_export("EPW0001SOC") == "PW0001SOC"
    assert naming.base_of_export("EXPENSES") is None
    code, when, kind = naming.parse_packed_file_name("001-SOC_20261128_120631.ptf")
    assert (code.code, when, kind) == ("001SOC", WHEN, "ptf")


def test_cut_sequence() -> None:
    assert naming.cut_name("001SOC", []) == "001SOC_CUT001"
    assert naming.cut_name("001SOC", ["001SOC_CUT001", "002X_CUT002"]) == "001SOC_CUT002"


@pytest.mark.parametrize("bad", ["0", "1000", "abc", "", "12a", "-1"])
def test_bad_numbers_are_refused(bad: str) -> None:
    with pytest.raises(BadInput):
        naming.check_number(bad)


@pytest.mark.parametrize("bad", ["", "SO C", "A'B", "X]Y", "A" * 13, "é"])
def test_bad_short_names_are_refused(bad: str) -> None:
    with pytest.raises(BadInput):
        naming.check_short(bad)


def test_first_free_number() -> None:
    assert naming.first_free_number([]) == "001"
    assert naming.first_free_number(["001", "002", "004"]) == "003"
