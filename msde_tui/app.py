"""``msde-tui``: the MSDE.exe wizard (connection -> operation -> dossiers -> summary -> progress).

One driver loop in a worker walks the steps with ``push_screen_wait``; each step receives the
immutable plan and returns a new one, or for Back the plan with what the screen held
(``steps.Back``), so Back keeps every answer. The work
itself runs as a detached job (``engine.jobs``) that outlives the terminal; starting
``msde-tui`` again offers the jobs still running and those finished since.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textual import constants, events, work
from textual.binding import Binding
from textual.screen import Screen
from textual.scrollbar import ScrollBar, ScrollBarRender

from msde_tui import i18n, osdep
from msde_tui.engine.paths import data_dir
from msde_tui.engine.plans import WizardPlan
from msde_tui.i18n import N_, _
from msde_tui.screens import registry
from msde_tui.screens.context import WizardContext
from msde_tui.screens.keyorder import OrderedKeys
from msde_tui.screens.steps import Back
from msde_tui.screens.widgets import AsciiScrollBarRender, translate_bindings

DEFAULT_ESCDELAY_MS = 250
ANSI_THEME = "ansi-dark"
SCREENS_DIR = Path(__file__).resolve().parent / "screens"
STYLESHEETS = (
    "app", "base", "dialogs", "connection", "operation", "browse", "dossiers", "summary",
    "progress", "jobs_screen",
)


def wants_ascii(environ: Mapping[str, str] | None = None) -> bool:
    """ASCII borders for consoles that draw box glyphs badly (conhost, the Linux VT)."""
    env = os.environ if environ is None else environ
    if env.get("MSDE_ASCII"):
        return env["MSDE_ASCII"] not in ("0", "no", "false")
    return osdep.console_profile(env).ascii_borders


def wants_no_color(environ: Mapping[str, str] | None = None) -> bool:
    """No colour at all: asked for (NO_COLOR), or a console that cannot show any."""
    env = os.environ if environ is None else environ
    return "NO_COLOR" in env or osdep.console_profile(env).colors_off


def wants_ansi_theme(environ: Mapping[str, str] | None = None) -> bool:
    """The terminal's own 16 colours unless it says it has more."""
    env = os.environ if environ is None else environ
    if env.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return False
    if "256" in env.get("TERM", "") or "WT_SESSION" in env:
        return False
    return True


class MsdeApp(OrderedKeys):
    TITLE = "msde-tui"
    ENABLE_COMMAND_PALETTE = False
    # Every style of the wizard, parsed once at start (a screen's own CSS_PATH would re-parse
    # the whole stylesheet each time a new kind of screen appears).
    CSS_PATH = [str(SCREENS_DIR / f"{name}.tcss") for name in STYLESHEETS]
    BINDINGS = [
        Binding("ctrl+q", "quit", N_("Quit"), id="quit", key_display="^Q", priority=True),
        Binding("f5", "jobs", N_("Jobs"), id="jobs", key_display="F5", show=False),
    ]

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        lang: str | None = None,
        ascii_borders: bool | None = None,
        ansi_theme: bool | None = None,
        offer_jobs: bool = True,
    ) -> None:
        i18n.setup(lang)
        # Read by get_css_variables, which the App's constructor already calls.
        self.ascii_borders = wants_ascii() if ascii_borders is None else ascii_borders
        self._scrollbar_renderer: type[ScrollBarRender] | None = None  # Textual's, while ASCII
        ansi = wants_ansi_theme() if ansi_theme is None else ansi_theme
        if ansi:
            # The theme's value before App.__init__, which builds the stylesheet's variables,
            # the dark/light classes and the ANSI filter from the current theme: setting
            # ``self.theme`` afterwards queues a refresh that parses every stylesheet a second
            # time before the first screen. ``_reactive_theme`` is where Textual's reactive keeps
            # the value (an attribute already there is taken as the initial one);
            # tests/tui/test_startup.py checks the outcome is the same as ``self.theme = ...``.
            self._reactive_theme = ANSI_THEME
        super().__init__()
        translate_bindings(self)
        self.animation_level = "none"
        self.home: Path = data_dir(home)
        self.ctx = WizardContext(self.home)
        self.offer_jobs = offer_jobs
        self.plan = WizardPlan()
        if self.ascii_borders:
            self.add_class("-ascii")  # app.tcss: fields and text views with ASCII borders
        if ansi:
            # What setting ``self.theme`` adds besides (Textual's _watch_theme).
            self.add_class(f"-theme-{ANSI_THEME}")
            self.add_class("-ansi")  # app.tcss makes empty fields visible with 16 colours

    async def on_event(self, event: events.Event) -> None:
        # A screen not ready to read keys yet (the summary, until its first code box has the
        # focus) keeps them and plays them back in order once it is (``hold_key``).
        if isinstance(event, events.Key) and not event.is_forwarded:
            hold = getattr(self.screen, "hold_key", None)
            if hold is not None and hold(event):
                return
        await super().on_event(event)

    def get_css_variables(self) -> dict[str, str]:
        variables = super().get_css_variables()
        variables["msde-border"] = "ascii" if getattr(self, "ascii_borders", False) else "round"
        return variables

    def on_mount(self) -> None:
        if self.ascii_borders:
            # Textual's documented hook; one app per process, restored when it ends (tests).
            self._scrollbar_renderer = ScrollBar.renderer
            ScrollBar.renderer = AsciiScrollBarRender
        self.drive()

    async def on_unmount(self) -> None:
        if self._scrollbar_renderer is not None:
            ScrollBar.renderer = self._scrollbar_renderer
        await self.ctx.close()

    # -- the driver

    @work(exclusive=True, group="wizard")
    async def drive(self) -> None:
        if self.offer_jobs:
            await self.offer_background_jobs()
        index = 0
        while True:
            steps = registry.steps_for(self.plan)
            index = min(index, len(steps) - 1)
            position = registry.position(self.plan, index)
            result = await self.push_screen_wait(steps[index](self.ctx, self.plan, position))
            if result is None or isinstance(result, Back):
                if isinstance(result, Back):  # the answers of the screen left stay
                    self.plan = result.plan
                index = max(0, index - 1)
                continue
            self.plan = result
            steps = registry.steps_for(self.plan)
            index += 1
            if index >= len(steps):
                index = 1  # after the result: a new operation on the same connection

    async def offer_background_jobs(self) -> None:
        # The jobs screen (a DataTable) is imported only when there is a job to show.
        from msde_tui.engine.runs.jobs import jobs_to_show

        while jobs_to_show(self.home):
            from msde_tui.screens.jobs_screen import JobsScreen

            chosen = await self.push_screen_wait(JobsScreen(self.home, at_start=True))
            if chosen is None:
                return
            await self.push_screen_wait(self._attached(chosen))

    def _attached(self, job_id: str) -> Screen[Any]:
        from msde_tui.engine.runs import jobs
        from msde_tui.screens.progress import ProgressScreen

        job = jobs.load_job(self.home, job_id)
        plan = jobs.plan_from_dict(job.plan)
        last = registry.StepPosition(registry.WIZARD_STEPS, registry.WIZARD_STEPS)
        return ProgressScreen(self.ctx, plan=plan, position=last, job=job)

    # -- app-wide keys

    def action_jobs(self) -> None:
        from msde_tui.screens.jobs_screen import JobsScreen

        def chosen(job_id: str | None) -> None:
            if job_id:
                self.push_screen(self._attached(job_id))

        self.push_screen(JobsScreen(self.home, at_start=False), chosen)

    async def action_quit(self) -> None:
        from msde_tui.engine.runs import jobs
        from msde_tui.screens.dialogs import ConfirmScreen

        running = jobs.running_jobs(self.home)
        if not running:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        question = _(
            "{n} job(s) still running. They go on in the background after you quit; "
            "'msde jobs' or msde-tui shows them later. Quit now?"
        ).format(n=len(running))
        self.push_screen(ConfirmScreen(question, default=False), answered)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="msde-tui", description="The MSDE backup/restore wizard.")
    parser.add_argument("--home", help="Data directory (default: MSDE_HOME or the user data dir).")
    parser.add_argument("--lang", choices=("fr", "en"), help="Language (default: from the locale).")
    parser.add_argument("--ascii", action="store_true", default=None, help="ASCII borders and bars.")
    parser.add_argument("--ansi", action="store_true", default=None, help="Terminal's 16 colours.")
    args = parser.parse_args(argv)
    if "ESCDELAY" not in os.environ:
        os.environ["ESCDELAY"] = str(DEFAULT_ESCDELAY_MS)
    try:
        constants.ESCAPE_DELAY = max(1, int(os.environ["ESCDELAY"])) / 1000.0  # type: ignore[misc]
    except ValueError:
        constants.ESCAPE_DELAY = DEFAULT_ESCDELAY_MS / 1000.0  # type: ignore[misc]
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    if wants_no_color():
        os.environ["NO_COLOR"] = "1"  # Textual's monochrome mode (read when the App is made)
    MsdeApp(home=args.home, lang=args.lang, ascii_borders=args.ascii, ansi_theme=args.ansi).run()


if __name__ == "__main__":
    main()
