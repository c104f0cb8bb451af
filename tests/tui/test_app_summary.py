"""The summary's words, exact T-SQL and warnings (pure: plan + facts -> text)."""

from __future__ import annotations

from datetime import datetime

from msde_tui.engine.backends.base import BackupInfo, ServerFacts
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.plans import Connection, RestoreItem, WizardPlan
from msde_tui.i18n import setup
from msde_tui.screens.actions import Facts, summarize

SERVER = Connection(kind="mssql", host="srv", user="sa", password="x")
EXPRESS_2019 = ServerFacts(
    product="Microsoft SQL Server 2019", version="15.0.2000.5", version_major=15,
    edition="Express Edition (64-bit)", engine_edition=4, default_backup_path="D:\\Backups",
    default_data_path="D:\\Data", default_log_path="D:\\Log", path_separator="\\",
)
GB = 1024**3


def _info(file: str, *, major: int = 15, size: int = 1000, checksums: bool = True) -> BackupInfo:
    return BackupInfo(file=file, database="PW0001SOC", created_at=datetime(2026, 1, 1),
                      size_bytes=size, server_version=f"{major}.0", version_major=major,
                      has_checksums=checksums, code="001SOC")


def test_server_backup_tsql_quotes_names_and_warns_about_express_and_space() -> None:
    setup("en")
    odd = Dossier("002", "ODD", "O'Brien", backend="mssql", location="PW0002O]D'X")
    plan = WizardPlan(connection=SERVER, operation="backup", directory="D:\\Backups",
                      dossiers=(odd,), verify_after=True)
    facts = Facts(server=EXPRESS_2019, free_bytes=1 * GB, sizes={"002ODD": int(9 * GB)})
    summary = summarize(plan, facts)
    assert "BACKUP DATABASE [PW0002O]]D'X] TO DISK = N'D:\\Backups\\PW0002O]D''X_YYYYMMDD_HHMMSS.bak'" in summary.actions
    assert "COMPRESSION" not in summary.actions  # never on Express
    assert "RESTORE VERIFYONLY FROM DISK = N'D:\\Backups\\PW0002O]D''X_" in summary.actions
    warnings = " ".join(summary.warnings)
    assert "Express limit" in warnings and "free" in warnings
    assert summary.replaced == ()


def test_restore_warnings_newer_version_no_checksums_and_overwrite() -> None:
    setup("en")
    existing = Dossier("001", "SOC", "Société", backend="mssql", location="PW0001SOC")
    items = (
        RestoreItem(source="D:\\B\\new.bak", number="001", short="SOC", replace=True),
        RestoreItem(source="D:\\B\\old.bak", number="004", short="SOC"),
    )
    plan = WizardPlan(connection=SERVER, operation="restore", directory="D:\\B",
                      data_dir="E:\\Data", restore_items=items)
    facts = Facts(
        server=EXPRESS_2019,
        backups={"D:\\B\\new.bak": _info("D:\\B\\new.bak", major=16),
                 "D:\\B\\old.bak": _info("D:\\B\\old.bak", checksums=False, size=11 * GB)},
        existing={"001": existing},
    )
    summary = summarize(plan, facts)
    assert summary.replaced == (existing,)
    warnings = "\n".join(summary.warnings)
    assert "restoring REPLACES it" in warnings
    assert "newer SQL Server (version 16)" in warnings
    assert "no checksums" in warnings
    assert "more than the 10.0 GB Express limit" in warnings
    assert "RESTORE DATABASE [PW0004SOC] FROM DISK = N'D:\\B\\old.bak'" in summary.actions
    assert "E:\\Data\\PW0004SOC.mdf" in summary.actions
    assert "REPLACE" in summary.actions and "safety copy" in summary.actions
    assert [line.subject for line in summary.lines] == ["001SOC", "004SOC"]


def test_embedded_actions_in_french() -> None:
    try:
        setup("fr")
        plan = WizardPlan(operation="backup", directory="/b",
                          dossiers=(Dossier("001", "SOC", "S", location="001SOC.sqlite"),))
        summary = summarize(plan, Facts())
        assert "back-up vers 001SOC_YYYYMMDD_HHMMSS.sqlite.bak, puis vérification" in summary.lines[0].what
        assert "/b/001SOC_YYYYMMDD_HHMMSS.sqlite.bak.json" in summary.actions
    finally:
        setup("en")


async def test_summary_screen_alone_returns_the_plan_or_none_for_back(home) -> None:  # type: ignore[no-untyped-def]
    from msde_tui.engine.accounting.demo import create_demo
    from msde_tui.screens.registry import StepPosition
    from msde_tui.screens.summary import SummaryScreen
    from tests.tui.app_support import StepHost, wait_for, wait_screen, wait_text

    dossiers = tuple(create_demo(home, dossiers=1, years=1, lines=50))
    plan = WizardPlan(operation="backup", directory=str(home), dossiers=dossiers)
    for key, expected in (("enter", plan), ("f2", None)):
        app = StepHost.make(home, lambda ctx: SummaryScreen(ctx, plan, StepPosition(4, 5)))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_screen(pilot, SummaryScreen)
            await wait_text(pilot, "Step 4 of 5: Summary")
            await wait_text(pilot, "001")
            await pilot.press(key)
            host = app
            await wait_for(pilot, lambda host=host: host.results)
            assert host.results == [expected]
