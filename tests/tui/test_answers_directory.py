"""The directory step checks the answer where it is given: a directory that cannot take files
is refused there (who cannot write where), "no" to "Create it?" gives the field back, and a
kernel filesystem is no place for backups (not "0 MB free")."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.engine.errors import BadInput
from msde_tui.engine.paths import check_writable_dir
from msde_tui.osdep import current_account
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.dialogs import ConfirmScreen
from msde_tui.screens.dossiers import DossiersScreen
from msde_tui.screens.operation import OperationScreen
from tests.tui.app_support import screen_text, wait_for, wait_screen, wait_text

linux_only = pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc and /sys")


@linux_only
@pytest.mark.parametrize("where", ["/sys/kernel", "/proc"])
def test_kernel_filesystem_is_no_place_for_backups(where: str) -> None:
    with pytest.raises(BadInput, match="not a place for backups"):
        check_writable_dir(Path(where))


def test_unwritable_directory_names_who_and_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(BadInput) as info:
        check_writable_dir(tmp_path)
    assert current_account() in info.value.message and str(tmp_path.resolve()) in info.value.message


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root writes everywhere")
def test_unwritable_directory_for_real(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(BadInput, match="cannot write"):
        check_writable_dir(locked)


def test_writable_directory_is_accepted_and_left_clean(tmp_path: Path) -> None:
    check_writable_dir(tmp_path)
    assert list(tmp_path.iterdir()) == []


async def _operation_screen(pilot: object, app: MsdeApp) -> OperationScreen:
    await wait_screen(pilot, ConnectionScreen)  # type: ignore[arg-type]
    await pilot.press("enter")  # type: ignore[attr-defined]
    screen = await wait_screen(pilot, OperationScreen)  # type: ignore[arg-type]
    field = screen.query_one("#directory", Input)
    await wait_for(pilot, lambda: bool(field.value))  # type: ignore[arg-type]
    return screen


async def _type_directory(pilot: object, screen: OperationScreen, text: str) -> None:
    field = screen.query_one("#directory", Input)
    field.focus()
    field.value = text
    await pilot.press("enter")  # type: ignore[attr-defined]


async def test_no_to_create_returns_to_the_field(home: Path) -> None:
    app = MsdeApp(home=home, lang="en", offer_jobs=False, ansi_theme=True)
    missing = home / "not-yet"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _operation_screen(pilot, app)
        await _type_directory(pilot, screen, str(missing))
        await wait_screen(pilot, ConfirmScreen)
        await wait_text(pilot, "Create it?")
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await wait_text(pilot, "Type another directory")
        assert app.screen is screen
        assert "Checking the directory" not in screen_text(app)
        assert app.focused is screen.query_one("#directory", Input)
        assert not missing.exists()
        # and the field works again: a yes this time goes on
        await pilot.press("enter")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_screen(pilot, DossiersScreen)
    assert missing.is_dir()


@linux_only
async def test_kernel_directory_refused_at_the_step_in_french(home: Path) -> None:
    app = MsdeApp(home=home, lang="fr", offer_jobs=False, ansi_theme=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _operation_screen(pilot, app)
        await _type_directory(pilot, screen, "/sys/kernel")
        await wait_text(pilot, "/sys/kernel")
        await wait_for(pilot, lambda: "back-ups" in screen_text(app) and "/sys/kernel" in screen_text(app))
        await pilot.pause(0.2)
        assert app.screen is screen
        assert "Mo libres" not in screen_text(app) and "MB free" not in screen_text(app)
