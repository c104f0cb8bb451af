"""The "Automatic backups" options screen: the document's Options tab ("Opérationnelle",
backups kept, delay in days, maximum of new movements, directory) and the last run's outcome
per dossier. Next saves the global policy into config.toml; the scheduler runs ``msde auto``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Static

from msde_tui.engine.auto import policy as policy_engine
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.engine.words import shown
from msde_tui.i18n import N_, _
from msde_tui.screens import registry
from msde_tui.screens.base import StepScreen
from msde_tui.screens.steps import StepPosition
from msde_tui.screens.widgets import SpaceCheckbox

NUMBER_FIELDS = (
    ("keep", N_("Backups kept")),
    ("every_days", N_("Every ... days")),
    ("max_movements", N_("Or after ... movements")),
)


def parse_form(values: dict[str, str], enabled: bool, current: policy_engine.AutoConfig,
               home: Path) -> policy_engine.AutoConfig:
    """The new configuration from the form's texts (``BadInput`` names the wrong field)."""
    changes: dict[str, object] = {"enabled": enabled}
    for name, label in NUMBER_FIELDS:
        text = values.get(name, "").strip()
        if not text.isdigit():
            raise BadInput(_("'{label}' must be a whole number.").format(label=_(label)),
                           _("Type digits only; 0 turns a trigger off."))
        changes[name] = int(text)
    directory = values.get("directory", "").strip()
    if directory:
        path = Path(directory).expanduser()
        if not path.is_absolute():
            raise BadInput(_("The directory must be a full path."), _("E.g. /srv/msde-backups"))
        directory = str(path)
    changes["directory"] = "" if directory == str(Path(home) / "backups") else directory
    return current.with_default(**changes)


class AutoScreen(StepScreen):
    TITLE = N_("Automatic backups")
    CSS_PATH = ["base.tcss", "auto_screen.tcss"]
    HELP = N_(
        "Tick 'Operational' (space) to turn automatic backups on. A backup of a dossier is taken "
        "when the delay in days has passed or the number of new movements is reached, whichever "
        "comes first (0 turns a trigger off); the oldest is removed once more than 'Backups kept' "
        "verified backups exist. Enter saves. The backups are taken by 'msde auto', run by the "
        "system scheduler (SQL Server Express has no Agent): msde auto --install systemd|cron|"
        "taskscheduler. Per-dossier settings: msde auto policy set --dossier CODE ..."
    )

    def __init__(self, ctx: object, plan: WizardPlan, position: StepPosition) -> None:
        super().__init__(ctx, plan, position)  # type: ignore[arg-type]
        self.config = policy_engine.AutoConfig()
        self.load_error: MsdeError | None = None
        try:
            self.config = policy_engine.load(self.ctx.home)
        except MsdeError as exc:
            self.load_error = exc

    def compose_body(self) -> Iterable[Widget]:
        p = self.config.default
        yield SpaceCheckbox(_("Operational"), value=p.enabled, id="enabled")
        for name, label in NUMBER_FIELDS:
            with Horizontal(classes="field-row"):
                yield Label(_(label), classes="field-label")
                yield Input(str(getattr(p, name)), id=name, restrict=r"\d*", max_length=7)
        with Horizontal(classes="field-row"):
            yield Label(_("Directory"), classes="field-label")
            yield Input(str(p.target_dir(self.ctx.home)), id="directory")
        yield Static(_("Last run"), classes="section")
        yield DataTable(id="last-run", cursor_type="row", zebra_stripes=False)

    def on_mount(self) -> None:
        from msde_tui.engine.auto import run as auto_engine  # late: it loads the SQL engine

        table = self.query_one("#last-run", DataTable)
        table.add_columns(_("Dossier"), _("Done"), _("Result"), _("Why"), _("Last verified"))
        last = auto_engine.load_last_run(self.ctx.home)
        if last is None:
            self.say(_("No automatic backup run was recorded yet."))
        else:
            for row in last.get("dossiers", []):
                table.add_row(
                    str(row.get("code", "")), shown(str(row.get("action", ""))),
                    _("OK") if row.get("ok", True) else _("FAILED"),
                    shown(str(row.get("message") or row.get("reason") or "")),
                    str(row.get("last_verified_at") or "-"),
                )
        if self.load_error is not None:
            self.say_error(self.load_error)

    def form_values(self) -> dict[str, str]:
        names = [n for n, _label in NUMBER_FIELDS] + ["directory"]
        return {n: self.query_one(f"#{n}", Input).value for n in names}

    def go_next(self) -> None:
        if self.load_error is not None:
            self.say_error(self.load_error)  # never overwrite a config file we could not read
            return
        enabled = self.query_one("#enabled", SpaceCheckbox).value
        try:
            config = parse_form(self.form_values(), enabled, self.config, self.ctx.home)
            policy_engine.save(config, self.ctx.home)
        except MsdeError as exc:
            self.say_error(exc)
            return
        except OSError as exc:
            self.say(_("Cannot save the policy: {error}").format(error=exc), error=True)
            return
        self.config = config
        self.dismiss(replace(self.plan))


def _auto_step(ctx: object, plan: WizardPlan, pos: StepPosition) -> AutoScreen:
    return AutoScreen(ctx, plan, pos)


def register() -> None:
    """Offer "Automatic backups" on the operation screen (embedded connection)."""
    registry.register(registry.Operation(
        id="auto",
        label=N_("Automatic backups"),
        steps=(_auto_step,),  # type: ignore[arg-type]
        help=N_("Options of the automatic backups (run by the system scheduler) and the last run."),
        asks_verify=False,
        asks_directory=False,
        available=lambda connection: isinstance(connection, Connection) and connection.is_embedded,
    ))
