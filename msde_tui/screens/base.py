"""The frame of every wizard step: "Step n of N", the choices so far, keys, inline messages.

A step is a ``Screen[StepResult]``: it receives the immutable plan and dismisses with a new one
(``dataclasses.replace``) for Next, or for Back with ``Back(plan)``, the plan holding what the
screen shows (``answers``: by default a draft of its fields, see drafts.py). Enter = Next (it presses a
focused button instead), F2 or Ctrl+B = Back (never a bare Esc: an arrow key split by a slow
link arrives as Esc), F1 = help for the screen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Static

from msde_tui.engine.errors import MsdeError
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _
from msde_tui.screens import drafts, registry
from msde_tui.screens.context import WizardContext
from msde_tui.screens.steps import Back, StepPosition, StepResult
from msde_tui.screens.widgets import WizardFooter, translate_bindings

KEYS_HELP = N_(
    "Keys: Enter = Next (or press the focused button), Tab / Shift+Tab = move between "
    "fields, F2 or Ctrl+B = Back (your answers are kept), F1 = this help, Ctrl+Q = quit, "
    "F5 = jobs running in the background."
)


def connection_label(connection: Connection) -> str:
    if connection.is_embedded:
        return _("Local (embedded)")
    where = f"{connection.user}@{connection.host}:{connection.port}"
    return f"{connection.profile} ({where})" if connection.profile else where


def operation_label(plan: WizardPlan) -> str:
    op = registry.get(plan.operation)
    text = _(op.label)
    if op.asks_verify and plan.verify_after:
        text += " " + _("+ verify")
    return text


def selection_label(plan: WizardPlan, limit: int = 4) -> str:
    if plan.op is not None:
        from msde_tui.engine.runs import registry as runner

        names = list(runner.subjects(plan.op))
        scope = runner.of_plan(plan.op).scope
        if not names and scope:
            return _(scope)  # e.g. the automatic run: every dossier of the list
    elif plan.operation == "backup":
        names = [d.code for d in plan.dossiers]
    else:
        names = [
            f"{i.number}{i.short}" if plan.operation == "restore" else _basename(i.source)
            for i in plan.restore_items
        ]
    if not names:
        return "-"
    shown = ", ".join(names[:limit])
    return shown + (f" +{len(names) - limit}" if len(names) > limit else "")


def _basename(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").split("/")[-1]


def choices_text(plan: WizardPlan, index: int) -> str:
    """The choices made before step ``index`` (1-based), on one or two short lines."""
    parts: list[str] = []
    if index > 1:
        parts.append(_("Connection: {value}").format(value=connection_label(plan.connection)))
    if index > 2:
        parts.append(operation_label(plan))
        if plan.directory:
            parts.append(_("Directory: {value}").format(value=plan.directory))
    if index > 3:
        parts.append(_("Chosen: {value}").format(value=selection_label(plan)))
    return " | ".join(parts)


class StepScreen(Screen[StepResult]):
    """Base of the wizard steps. Subclasses give TITLE, HELP and ``compose_body``/``next_plan``."""

    TITLE = N_("Step")
    HELP = ""
    BINDINGS = [
        Binding("enter", "next", N_("Next"), id="next", key_display="Enter", priority=True),
        Binding("f2,ctrl+b", "back", N_("Back"), id="back", key_display="F2", priority=True),
        Binding("f1", "help", N_("Help"), id="help", key_display="F1"),
    ]

    def __init__(self, ctx: WizardContext, plan: WizardPlan, position: StepPosition) -> None:
        super().__init__()
        translate_bindings(self)
        self.ctx = ctx
        self.plan = plan
        self.position = position
        self.busy_reason: str | None = None

    # -- layout

    def compose(self) -> ComposeResult:
        title = _("Step {n} of {total}: {title}").format(
            n=self.position.index, total=self.position.total, title=_(self.TITLE)
        )
        yield Static(title, id="step-title")
        choices = choices_text(self.plan, self.position.index)
        if choices:
            yield Static(choices, id="choices", markup=False)
        with Vertical(id="body"):
            yield from self.compose_body()
        yield Static("", id="message", markup=False)
        yield WizardFooter()

    def compose_body(self) -> Iterable[Widget]:
        return []

    # -- messages

    def say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#message", Static)
        prefix = _("ERROR:") + " " if error and text else ""
        message.update(prefix + text)
        message.set_class(error, "error")

    def say_error(self, exc: MsdeError) -> None:
        text = shown(exc.message)
        hint = exc.wizard_hint or exc.hint  # the wizard's words, not the CLI's flags
        if hint:
            text += " " + _("What to do:") + " " + shown(hint)
        self.say(text, error=True)

    # -- actions

    def action_help(self) -> None:
        from msde_tui.screens.dialogs import HelpScreen  # not needed before the first F1

        text = self.help_text()
        text = (text + "\n\n" if text else "") + _(KEYS_HELP)
        self.app.push_screen(HelpScreen(_(self.TITLE), text))

    def help_text(self) -> str:
        """What F1 says of this screen (a screen tells of what it shows, and only of that)."""
        return _(self.HELP).strip() if self.HELP else ""

    def on_mount(self) -> None:
        # After the subclass's own on_mount (Textual calls each class's, the subclass's first):
        # the fields it filled get what they held when the user went Back from here.
        draft = drafts.of(self.plan, self.draft_key)
        if draft:
            drafts.show(self, draft)

    @property
    def draft_key(self) -> str:
        return type(self).__name__

    def answers(self) -> WizardPlan:
        """The plan with what this screen holds now, checked or not (for Back)."""
        return drafts.with_draft(self.plan, self.draft_key, drafts.take(self))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back" and self.position.index <= 1:
            return False  # the first step has none before it: F2 is not offered there
        return True

    def action_back(self) -> None:
        if self.position.index <= 1:
            return
        if self.busy_reason:
            self.say(self.busy_reason)
            return
        kept = self.answers()
        self.dismiss(Back(kept) if kept != self.plan else None)  # None: nothing new to keep

    def dismiss(self, result: StepResult = None) -> Any:  # type: ignore[override]
        if isinstance(result, WizardPlan):  # Next: the answers are in the plan now
            result = drafts.with_draft(result, self.draft_key, None)
        return super().dismiss(result)

    def action_next(self) -> None:
        focused = self.focused
        if isinstance(focused, Button):
            focused.press()
            return
        if self.busy_reason:
            self.say(self.busy_reason)
            return
        self.go_next()

    def go_next(self) -> None:
        """Validate and dismiss with the new plan (subclasses)."""
        self.dismiss(self.plan)


class FormStep(StepScreen):
    """An operation's own form: Enter checks the fields and returns the plan (``build``); a
    refusal (``MsdeError``) is said on the form, which stays. Nothing runs here.

    ``PLAN_TYPE`` is the plan the form builds; ``earlier`` is that plan when the user came back
    to the form, so every field can show its earlier answer. ``remember`` keeps what the next
    form of the session starts from, once the plan is accepted.
    """

    PLAN_TYPE: type = type(None)

    @property
    def earlier(self) -> Any:
        """The plan this form returned before (the user came back), or None."""
        op = self.plan.op
        return op if isinstance(op, self.PLAN_TYPE) else None

    def build(self) -> object:
        """Check the form; return the operation's plan (raises ``MsdeError`` to refuse)."""
        raise NotImplementedError

    def remember(self) -> None:
        """What the session keeps for its next form, once this one's plan is accepted."""

    def go_next(self) -> None:
        try:
            op = self.build()
        except MsdeError as exc:
            self.say_error(exc)
            return
        self.remember()
        self.dismiss(dataclasses.replace(self.plan, op=op))
