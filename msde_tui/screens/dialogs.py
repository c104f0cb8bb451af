"""Modal dialogs: help, yes/no confirmation, save to a file, read-only text viewer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static, TextArea

from msde_tui.engine.atomic import write_atomic
from msde_tui.i18n import N_, _
from msde_tui.screens.widgets import WizardFooter, translate_bindings


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("f1,escape,enter,q", "close", N_("Close"), id="help_close", key_display="F1"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        translate_bindings(self)
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="help-body"):
                yield Static(self.text, classes="dialog-text", markup=False)
        yield WizardFooter()

    def on_mount(self) -> None:
        self._fit()
        self.query_one(".help-body").focus()  # arrows and PgUp/PgDn scroll a long help

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The text scrolls within the room the dialog has (90 % of the screen, less its border
        and title): a fixed height let a small terminal cut the help's end unscrollable."""
        room = int(self.app.size.height * 0.9) - 3
        self.query_one(".help-body").styles.max_height = max(3, min(18, room))

    def action_close(self) -> None:
        self.dismiss(None)


# The key for "yes" in the current language (French: ``o`` for "oui"); the footer and the
# question's hint show it, and both ``y`` and ``o`` are accepted whatever the language.
YES_KEY = N_("y")
NO_KEY = N_("n")


class ConfirmScreen(ModalScreen[bool]):
    """Yes / no. ``y`` or ``o`` = yes; ``n`` or Esc = no; Enter = the default."""

    BINDINGS = [
        Binding("y,o", "answer(True)", N_("Yes"), id="confirm_yes"),
        Binding("n,escape", "answer(False)", N_("No"), id="confirm_no"),
        Binding("enter", "default", N_("Default"), id="confirm_default", show=False),
    ]

    def __init__(self, question: str, *, default: bool = False) -> None:
        super().__init__()
        translate_bindings(self)
        shown = {"confirm_yes": _(YES_KEY), "confirm_no": _(NO_KEY)}
        bindings = self._bindings
        for key, items in list(bindings.key_to_bindings.items()):
            bindings.key_to_bindings[key] = [
                dataclasses.replace(item, key_display=shown[item.id])
                if item.id in shown else item for item in items
            ]
        self.question = question
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-text", markup=False)
            hint = _("Yes: press {yes}.  No: press {no}.").format(
                yes=_(YES_KEY), no=_(NO_KEY)) + " " + (
                _("Enter = yes.") if self.default else _("Enter = no.")
            )
            yield Static(hint, classes="dialog-hint")
        yield WizardFooter()

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    def action_default(self) -> None:
        self.dismiss(self.default)


class SaveScreen(ModalScreen[Path | None]):
    """Ask for a file name and write ``text`` there (atomically). Dismisses with the path."""

    BINDINGS = [
        # F2 shown (a bare Esc is never relied on: a slow link fakes it), as every footer does.
        Binding("f2,ctrl+b,escape", "cancel", N_("Cancel"), id="save_cancel", key_display="F2"),
    ]

    def __init__(self, title: str, text: str, default_path: Path) -> None:
        super().__init__()
        translate_bindings(self)
        self.title_text = title
        self.text = text
        self.default_path = default_path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(_("Save to this file (Enter saves):"), classes="dialog-text")
            yield Input(str(self.default_path), id="save-path")
            yield Static("", id="save-message", classes="message")
        yield WizardFooter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        raw = event.value.strip()
        if not raw:
            self.query_one("#save-message", Static).update(_("Type a file name."))
            return
        path = Path(raw).expanduser()
        try:
            if path.is_dir():
                raise IsADirectoryError(str(path))
            write_atomic(path, self.text.encode("utf-8"))
        except OSError as exc:
            self.query_one("#save-message", Static).update(
                _("Cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc)
            )
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextViewScreen(ModalScreen[None]):
    """Read-only text (the T-SQL or file actions of a plan); F4 saves it."""

    BINDINGS = [
        Binding("f2,ctrl+b,f3,escape", "close", N_("Close"), id="view_close", key_display="F2"),
        Binding("f4", "save", N_("Save"), id="view_save", key_display="F4"),
        Binding("f1", "help", N_("Help"), id="view_help", key_display="F1"),
    ]
    HELP = N_(
        "The exact actions the summary's plan will carry out, in order (T-SQL for SQL Server, "
        "file steps for embedded dossiers). Nothing runs from here. The arrows and PgUp/PgDn "
        "scroll; F4 saves the text to a file; F2 (or F3) closes this view."
    )

    def __init__(self, title: str, text: str, default_path: Path) -> None:
        super().__init__()
        translate_bindings(self)
        self.title_text = title
        self.text = text
        self.default_path = default_path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide"):
            yield Static(self.title_text, classes="dialog-title")
            yield TextArea(self.text, read_only=True, id="view-text", soft_wrap=True)
            yield Static("", id="view-message", classes="message")
        yield WizardFooter()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.title_text, _(self.HELP)))

    def action_save(self) -> None:
        def saved(path: Path | None) -> None:
            if path is not None:
                self.query_one("#view-message", Static).update(_("Saved to {path}").format(path=path))

        self.app.push_screen(SaveScreen(self.title_text, self.text, self.default_path), saved)
