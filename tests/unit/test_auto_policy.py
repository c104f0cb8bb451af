"""The automatic-backup policy: defaults, overrides, TOML round trip, bad values refused."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from msde_tui.engine.auto import policy
from msde_tui.engine.auto.policy import AutoConfig, Policy
from msde_tui.engine.errors import BadInput


def test_defaults_when_no_file(home: Path) -> None:
    config = policy.load(home)
    assert config == AutoConfig()
    assert config.effective("001SOC") == Policy()
    assert config.default.enabled is False  # "Opérationnelle" is unticked until asked


def test_round_trip_keeps_other_tables(home: Path) -> None:
    cfg_file = policy.config_file(home)
    cfg_file.write_text('[profiles.office]\nhost = "sql01"\nuser = "sa"\n', encoding="utf-8")
    config = (
        AutoConfig()
        .with_default(enabled=True, keep=3, every_days=1, max_movements=100, directory="/srv/b")
        .with_override("002soc", keep=10, enabled=False)
    )
    policy.save(config, home)
    document = tomllib.loads(cfg_file.read_text(encoding="utf-8"))
    assert document["profiles"] == {"office": {"host": "sql01", "user": "sa"}}
    assert document["auto"]["keep"] == 3
    assert document["auto"]["dossiers"]["002SOC"] == {"keep": 10, "enabled": False}
    loaded = policy.load(home)
    assert loaded == config
    assert loaded.effective("002SOC") == Policy(
        enabled=False, keep=10, every_days=1, max_movements=100, directory="/srv/b"
    )
    assert loaded.effective("001SOC").keep == 3


def test_override_merge_and_removal() -> None:
    config = AutoConfig().with_override("001SOC", keep=5).with_override("001SOC", every_days=7)
    assert config.overrides == {"001SOC": {"keep": 5, "every_days": 7}}
    config = config.without_override("001SOC", "keep")
    assert config.overrides == {"001SOC": {"every_days": 7}}
    assert config.without_override("001SOC").overrides == {}


@pytest.mark.parametrize(
    ("name", "value"),
    [("keep", 0), ("keep", 1000), ("keep", "3"), ("every_days", -1), ("max_movements", True),
     ("enabled", "yes"), ("directory", "a\nb"), ("colour", 1)],
)
def test_bad_values_refused(name: str, value: object) -> None:
    with pytest.raises(BadInput):
        AutoConfig().with_default(**{name: value})


def test_bad_dossier_code_refused() -> None:
    with pytest.raises(BadInput):
        AutoConfig().with_override("../etc", keep=2)


@pytest.mark.parametrize(
    "text",
    ["[auto\nkeep = 3", "[auto]\nkeep = 0\n", "[auto]\nfrequency = 2\n",
     "[auto.dossiers.XYZ]\nkeep = 2\n", "[auto.dossiers.001SOC]\nkeep = 'x'\n"],
)
def test_broken_file_is_reported_not_overwritten(home: Path, text: str) -> None:
    cfg_file = policy.config_file(home)
    cfg_file.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput) as info:
        policy.load(home)
    assert "config.toml" in info.value.message
    if text.startswith("[auto\n"):  # unreadable TOML: saving refuses too, the file stays
        with pytest.raises(BadInput):
            policy.save(AutoConfig(), home)
    assert cfg_file.read_text(encoding="utf-8") == text
