"""The summary, shown before every operation changes anything: per dossier (or file) what will
happen in words, the warnings, the exact T-SQL or file actions (F3 shows them, F4 saves them).
Replacing, changing or removing a dossier's data (restore over it, apply, archive, archive
import, cut) needs its code typed. Backup, restore and verify are described by ``actions``; every
other operation by its registration in ``engine.runner`` (its plan is ``WizardPlan.op``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from textual import events, work
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from msde_tui.engine.backends.base import BackupInfo
from msde_tui.engine.errors import MsdeError
from msde_tui.engine.plans import RestoreItem, restore_database
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _
from msde_tui.screens import registry
from msde_tui.screens.actions import Facts, Line, Summary, summarize
from msde_tui.screens.base import StepScreen
from msde_tui.screens.connection import describe_error
from msde_tui.screens.dialogs import SaveScreen, TextViewScreen
from msde_tui.screens.widgets import human_size


class SummaryScreen(StepScreen):
    TITLE = N_("Summary")
    HELP = N_(
        "Check what will happen before it starts. F3 shows the exact T-SQL statements (SQL "
        "Server) or file actions (embedded), F4 saves them to a file. Warnings are written in "
        "capitals. Replacing an existing dossier needs its code typed in the box (for example "
        "001SOC; Tab goes to the next box): this is on purpose. Once every code is typed, Enter "
        "starts the work; it runs in the background and goes on even if this terminal closes."
    )
    BINDINGS = [
        Binding("f3", "view", N_("Actions"), id="view_actions", key_display="F3"),
        Binding("f4", "save", N_("Save"), id="save_actions", key_display="F4"),
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.summary: Summary | None = None
        self.confirm_codes: tuple[str, ...] = ()  # to type before the work starts
        self.refused: MsdeError | None = None  # the plan cannot run (go back and change it)
        self.previews: dict[str, dict[str, object]] = {}  # SQL Server restore: source -> plan
        # Keys typed before the summary is ready (its first code box focused), played back in
        # order then: a fast typist's first code and Tab are neither lost nor merged.
        self.held_keys: list[events.Key] | None = []
        self._after_keys = False

    def compose_body(self) -> Iterable[Widget]:
        yield Static(self._title(""), id="summary-title")
        yield VerticalScroll(id="summary-lines")

    def _title(self, then: str) -> str:
        op = registry.get(self.plan.operation)
        title = _("{operation}: {count} item(s).").format(operation=_(op.label), count=self._count())
        return f"{title} {then}" if then else title

    # -- keys typed before the summary is ready

    HELD = ("tab", "shift+tab", "backspace", "enter")

    def hold_key(self, event: events.Key) -> bool:
        """Keep ``event`` for later while the summary is not ready: typing, Tab, Backspace and
        Enter (Back, help, jobs and quit are answered at once)."""
        if self.held_keys is None or not (event.is_printable or event.key in self.HELD):
            return False
        self.held_keys.append(event)
        return True

    def _play_held_keys(self) -> None:
        """The kept keys, in order, each seeing the focus the one before left; after Enter (or
        a key this does not play), the rest go through the app as usual."""
        held, self.held_keys = self.held_keys or [], None
        rest: list[events.Key] = []
        for index, key in enumerate(held):
            focused = self.focused
            if key.key == "tab":
                self.focus_next()
            elif key.key == "shift+tab":
                self.focus_previous()
            elif key.key == "backspace" and isinstance(focused, Input):
                focused.action_delete_left()
            elif key.is_printable and key.character and isinstance(focused, Input):
                focused.insert_text_at_cursor(key.character)
            elif key.key == "enter":
                self.action_next()  # starts, or says what is missing
                rest = held[index + 1:]
                break
            else:
                rest = held[index:]
                break
        for key in rest:  # to whatever screen is shown next, as typed
            self.app.post_message(events.Key(key.key, key.character))

    def _count(self) -> int:
        if self.plan.op is not None:
            from msde_tui.engine.runs import registry as runner

            return len(runner.subjects(self.plan.op))
        return len(self.plan.dossiers) if self.plan.operation == "backup" else len(self.plan.restore_items)

    def on_mount(self) -> None:
        self.busy_reason = _("Reading sizes and free space...")
        self.say(self.busy_reason)
        self.gather()

    @work(exclusive=True, group="gather", exit_on_error=False)
    async def gather(self) -> None:
        if self.plan.op is not None:
            await self._describe_op()
            return
        try:
            facts = await self._facts()
        except Exception as exc:  # noqa: BLE001
            self.say_error(describe_error(exc))
            facts = Facts(existing={d.number: d for d in self.ctx.catalog().dossiers()})
        try:
            self.previews = await self._previews(facts)
        except Exception as exc:  # noqa: BLE001
            self.say_error(describe_error(exc))
        self.busy_reason = None
        self.say("")
        self.summary = summarize(self.plan, facts)
        self.confirm_codes = tuple(d.code for d in self.summary.replaced)
        await self._show(self.summary)

    async def _describe_op(self) -> None:
        """A registered operation's own words (read in a worker: it may open the dossiers)."""
        from msde_tui.engine.runs import registry as runner

        try:
            described = await asyncio.to_thread(runner.describe, self.plan.op, self.ctx.home)
        except MsdeError as exc:
            self.busy_reason = None
            self.say_error(exc)
            self.refused = exc
            self._play_held_keys()
            return
        except Exception as exc:  # noqa: BLE001 - plain words, never a traceback
            self.busy_reason = None
            self.say_error(describe_error(exc))
            self._play_held_keys()
            return
        self.busy_reason = None
        self.say("")
        lines = tuple(Line(line.subject, line.what) for line in described.lines)
        self.summary = Summary(lines, described.actions, described.warnings, ())
        self.confirm_codes = described.confirm
        await self._show(self.summary)

    async def _previews(self, facts: Facts) -> dict[str, dict[str, object]]:
        """What the engine will do for each SQL Server restore item (set, version, space,
        sessions), read before anything runs."""
        if self.plan.operation != "restore" or self.plan.connection.is_embedded:
            return {}
        backend = await self.ctx.backend(self.plan.connection)
        preview = getattr(backend, "restore_preview", None)
        if preview is None:
            return {}
        found: dict[str, dict[str, object]] = {}
        for item in self.plan.restore_items:
            existing = facts.existing.get(item.number)
            database = item.database or restore_database(item.number, item.short, existing)
            steps = await preview(
                replace(item, database=database, replace=existing is not None, close_sessions=True)
            )
            found[item.source] = steps.summary()
        return found

    def _preview_lines(self, item: RestoreItem) -> list[Widget]:
        plan = self.previews.get(item.source)
        if not plan:
            return []
        subject = f"{item.number}{item.short}"
        texts: list[str] = []
        if plan.get("set"):
            texts.append(_("Backup set: {set}").format(set=shown(str(plan["set"]))))
            texts.append(
                _("Made by {release} ({version})").format(
                    release=plan["backup_release"], version=plan["backup_version"]
                )
            )
        for room in plan.get("space") or []:  # type: ignore[attr-defined]
            free = room["free"]
            texts.append(
                _("{what} in {folder}: {needed} needed, {free} free").format(
                    what=shown(room["what"]), folder=room["folder"], needed=human_size(room["needed"]),
                    free=_("unknown") if free is None else human_size(free),
                )
            )  # fmt: skip
        if plan.get("no_safety_reason"):
            texts.append(shown(str(plan["no_safety_reason"])))
        sessions = plan.get("sessions")
        if plan.get("replaces"):
            if sessions:
                texts.append(
                    _("Sessions that will be closed: {sessions}").format(
                        sessions="; ".join(sessions)  # type: ignore[arg-type]
                    )
                )
            elif sessions is not None:
                texts.append(_("No other session uses the database."))
        if plan.get("needs_set"):
            texts += [str(label) for label in plan.get("sets") or []]  # type: ignore[attr-defined]
        widgets: list[Widget] = [
            Static(f"{subject:<14} {text}", classes="line", markup=False) for text in texts
        ]
        if plan.get("needs_set"):  # several full sets in the file: the user picks one
            positions = ", ".join(str(p) for p in plan["full_positions"])  # type: ignore[attr-defined]
            widgets.append(Horizontal(
                Label(_("Backup set to restore ({positions}):").format(positions=positions),
                      classes="confirm-label"),
                Input("", id=f"set-{item.number}", classes="confirm set", compact=True,
                      placeholder="_", type="integer", select_on_focus=False),
                classes="confirm-row",
            ))  # fmt: skip
            return widgets
        widgets += [
            Static(_("WARNING:") + " " + shown(str(problem)), classes="warning line", markup=False)
            for problem in plan.get("problems") or []  # type: ignore[attr-defined]
        ]
        return widgets

    def _chosen_sets(self) -> dict[str, int] | None:
        """The backup set typed for each file holding several (None: one is missing)."""
        chosen: dict[str, int] = {}
        for item in self.plan.restore_items:
            plan = self.previews.get(item.source, {})
            if not plan.get("needs_set"):
                continue
            typed = self.query_one(f"#set-{item.number}", Input).value.strip()
            if not typed.isdigit() or int(typed) not in plan["full_positions"]:  # type: ignore[operator]
                return None
            chosen[item.source] = int(typed)
        return chosen

    async def _facts(self) -> Facts:
        connection = self.plan.connection
        if self.plan.operation == "restore":
            existing = await self.ctx.known_dossiers(connection)
        else:
            existing = {d.number: d for d in self.ctx.catalog().dossiers()}
        server = await self.ctx.facts(connection)
        backend = await self.ctx.backend(connection)
        free: int | None = None
        if self.plan.directory:
            _exists, free = await backend.check_dir(self.plan.directory)
        sizes: dict[str, int] = {}
        if self.plan.operation == "backup":
            for dossier, size in await self.ctx.dossiers_of(connection):
                if size is not None:
                    sizes[dossier.code] = size
        backups: dict[str, BackupInfo] = {}
        if self.plan.restore_items:
            seen = self.ctx.backups_seen.get(self.plan.directory)
            if seen is None:
                seen = await self.ctx.backups_in(connection, self.plan.directory)
            backups = {b.file: b for b in seen}
        return Facts(server=server, free_bytes=free, sizes=sizes, backups=backups, existing=existing)

    async def _show(self, summary: Summary) -> None:
        box = self.query_one("#summary-lines", VerticalScroll)
        widgets: list[Widget] = []
        for line in summary.lines:
            widgets.append(Static(f"{line.subject:<14} {line.what}", classes="line", markup=False))
        for item in self.plan.restore_items:
            widgets.extend(self._preview_lines(item))
        for warning in summary.warnings:
            widgets.append(
                Static(_("WARNING:") + " " + warning, classes="warning line", markup=False)
            )
        for index, code in enumerate(self.confirm_codes):
            widgets.append(self._confirm_row(index, code))
        widgets.append(
            Static(_("F3 shows the exact T-SQL or file actions; F4 saves them."), classes="hint")
        )
        await box.mount_all(widgets)
        first = next(iter(self.query(".confirm").results(Input)), None)
        if first is not None:
            self.query_one("#summary-title", Static).update(self._title(self._what_to_type()))
            self.set_focus(first, scroll_visible=False)  # now, before any key is read
            # the engine's lines above can push the box below the fold: bring it into view
            self.call_after_refresh(first.scroll_visible, animate=False)
        else:
            self.query_one("#summary-title", Static).update(self._title(_("Enter starts.")))
        self._play_held_keys()

    def _what_to_type(self) -> str:
        """The title's instruction when boxes must be filled before Enter starts."""
        codes = self.confirm_codes
        if self.query(".set"):
            return _("Fill in each box below (Tab: next box), then Enter starts.")
        if len(codes) == 1:
            return _("Type {code} in the box below, then Enter starts.").format(code=codes[0])
        return _("Type {codes} below, one per box (Tab: next box), then Enter starts.").format(
            codes=", ".join(codes))

    def _confirm_row(self, index: int, code: str) -> Widget:
        if self.plan.op is None:
            text = _("Type {code} to replace it:").format(code=code)
        else:
            text = _("Type {code} to change it:").format(code=code)
        return Horizontal(
            Label(text, classes="confirm-label"),
            # not selected on focus: a key typed just after Tab would replace what was typed
            Input("", id=f"confirm-{index}", classes="confirm", compact=True, placeholder="______",
                  select_on_focus=False),
            classes="confirm-row",
        )

    def confirmed(self) -> bool:
        if self.summary is None:
            return False
        for index, code in enumerate(self.confirm_codes):
            typed = self.query_one(f"#confirm-{index}", Input).value.strip().upper()
            if typed != code.upper():
                return False
        return True

    def action_next(self) -> None:
        # Enter is read before the keys typed just ahead of it have reached their box (a paste,
        # a fast typist): decide once the focused box has taken them, in its own queue.
        focused = self.focused
        if isinstance(focused, Input) and not self._after_keys:
            focused.call_later(self._next_after_keys)
            return
        super().action_next()

    def _next_after_keys(self) -> None:
        self._after_keys = True
        try:
            self.action_next()
        finally:
            self._after_keys = False

    def go_next(self) -> None:
        if self.refused is not None:
            self.say_error(self.refused)
            return
        if self.summary is None:
            self.say(_("Wait until the summary is ready."))
            return
        if not self.confirmed():
            codes = ", ".join(self.confirm_codes)
            self.say(
                _("To change {codes}, type each code in its box first (nothing was changed).")
                .format(codes=codes),
                error=True,
            )
            return
        sets = self._chosen_sets()
        if sets is None:
            self.say(_("Type the backup set to restore in its box first (nothing was changed)."),
                     error=True)  # fmt: skip
            return
        # typing the code to replace a dossier is the consent to close its sessions, which
        # the summary listed
        items = tuple(
            replace(i, close_sessions=True) if self.previews.get(i.source, {}).get("sessions") else i
            for i in self.plan.restore_items
        )
        items = tuple(
            replace(i, position=sets[i.source]) if i.source in sets else i for i in items
        )
        self.dismiss(replace(self.plan, restore_items=items))

    def _actions_text(self) -> str:
        if self.summary is None:
            return ""
        header = _("msde-tui: {operation} planned {when}").format(
            operation=_(registry.get(self.plan.operation).label),
            when=datetime.now().isoformat(timespec="seconds"),
        )
        return f"-- {header}\n" + self.summary.actions

    def _default_file(self) -> object:
        return self.ctx.home / "reports" / f"plan-{datetime.now():%Y%m%d-%H%M%S}.sql"

    def action_view(self) -> None:
        if self.summary is None:
            return
        self.app.push_screen(
            TextViewScreen(_("Exact T-SQL / file actions"), self._actions_text(), self._default_file())  # type: ignore[arg-type]
        )

    def action_save(self) -> None:
        if self.summary is None:
            return

        def saved(path: object) -> None:
            if path is not None:
                self.say(_("Saved to {path}").format(path=path))

        self.app.push_screen(
            SaveScreen(_("Save the actions"), self._actions_text(), self._default_file()),  # type: ignore[arg-type]
            saved,
        )
