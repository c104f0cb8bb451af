"""The engine's words, translated where they are shown.

The engine says what happens in English with its parameters (a step name, a result message,
an error and its hint): a job runs in its own process and its events file is read later,
perhaps by a user of another language, so the words are put in that user's language when they
are shown, never when they are written. Every such English text is listed here, marked with
``N_`` (so ``python -m msde_tui.i18n extract`` puts it in the catalogues): step names
exactly, messages as templates whose ``{placeholders}`` stand for the values the engine put
in. ``shown(text)`` finds the template a text was made from and gives it in the current
language with the same values (numbers and sizes written the user's way, ``units.localized``); a
text made of several sentences is translated a run of sentences at a time (the longest run a
template matches); placeholders named in ``NESTED`` ("{one_reason} and {other_reasons}", the
automatic run's reasons joined) match only texts that are themselves known; a text no template
matches is shown as it is (the pseudo-locale tests,
tests/tui/test_pseudo_locale.py and tests/cli/test_cli_words.py, find any that a walk of the
wizard or a run of msde shows).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from msde_tui import units
from msde_tui.engine import errorwords, packwords
from msde_tui.i18n import N_, _
from msde_tui.units import localized

# Step names (``events.Step.step``) and their usual details.
STEPS = (
    N_("backup"), N_("verify"), N_("restore"), N_("safety copy"), N_("read"), N_("copy"),
    N_("server"), N_("integrity check"), N_("check"), N_("write"), N_("replace"),
    N_("commit"), N_("done"), N_("remove"), N_("fec"), N_("pack"), N_("export"),
    N_("import"), N_("apply"), N_("archive"), N_("unarchive"), N_("cut"), N_("audit"),
    N_("off"), N_("skip"), N_("SHA-256 checksum"), N_("checking"), N_("checking the package"),
    N_("comparing the dossier with the package's base"), N_("checking the result"), N_("the dossier is in use; copying it in one pass"),
    N_("integrity check, already passed by these exact bytes"),
    N_("done while the PAF was written"),  # lifecycle.archive: replace and check of a WAL dossier
    N_("decide"), N_("rotate"),  # the automatic run's own steps (engine.auto.run)
    # the checks of pack, import, apply and the export copy (engine.packs)
    N_("every row against the dossier's digests"), N_("every member of the file"),
    N_("the dossier against the PTF's base"), N_("every row against the PTF's digests"),
    N_("every row against the file's digests"),
    N_("convert"),
)

# Messages, results, errors and hints, as templates.
TEMPLATES = (
    N_("{file} restored as dossier {code} ({company})."),
    N_("The replaced file {files} was removed; its verified safety copy is {copies}."),
    N_("It is a copy of {origin} with an identity of its own (internal code {code})."),
    N_("This user cannot write in {directory}."),
    N_("Choose a directory you can write to, or fix its permissions."),
    N_("The directory {directory} does not exist."),
    N_("Create it first or choose another directory."),
    N_("{directory} is not a directory."),
    N_("Choose a directory."),
    N_("The backup {file} is damaged: the integrity check found {count} problem(s), first: {first}."),
    N_("Use another backup; this one cannot be restored."),
    N_("Use another backup; this one cannot be trusted."),
    N_("{megabytes} MB"),
    N_("Backed up to {path} and verified."),
    N_("Backed up to {path}."),
    N_("{file} is intact: dossier {code}, {count} entries, taken {when}."),
    N_("{file} is intact: {kind} of dossier {code}."),
    N_("{years} archived in {file}."),
    N_("{code}: {years} back from {file}."),
    N_("{years} moved to dossier {cut} (file {file}, verified); {code} keeps {kept}."),
    N_("{count} unused third parties deleted."),
    N_("tax-audit copy {database} on {profile} written and verified."),  # a copy on a server
    N_("tax-audit copy {copy} written and verified."),
    N_("This tax-audit copy is for the tax administration only; the tool never restores or imports it."),
    N_("{kind} {file} written and verified ({size})."),
    N_("Encrypted."),  # after a packed file written with a passphrase (engine/packs/packops.py)
    N_("Export copy {target} written and checked ({rows} rows)."),
    N_("Imported as {code} ({company}); every row was checked."),
    N_("{code} is up to date with {file}: {upserted} rows written, {deleted} deleted."),
    N_("{count} dossier(s) looked at."),
    N_("Unexpected error: {error}"),
    N_("The {operation} ended without a result."),
    N_("Do not rely on it; run it again."),
    N_("backup: no verified backup yet"),
    N_("backup: no trigger set: every run backs up"),
    N_("off: automatic backups are off for this dossier"),
    N_("automatic backups are off for this dossier"),
    N_("no verified backup yet"),
    N_("no trigger set: every run backs up"),
    N_("The backup was made but could not be verified."),
    N_("No previous PBF/PTF of {code} is known here: a full PBF is written instead."),
    N_("{what} belongs to dossier {owner}, not to {code}; {code} was not touched."),
    N_("Choose {owner}, the dossier it belongs to."),
    N_("{table}: {rows} rows"),  # a table a step goes through (engine.reporting)
    # mssql: a server folder its service account cannot write in (engine/paths.refusal)
    N_("The SQL Server service account {account} cannot write in {path} on the server host ({reason})."),
    N_("Give {account} the right to write in {path} on the server, or choose another directory there."),
    # mssql: server directories (tsql.normalize_server_dir, directories.list_dir) and the
    # backup device's errors (messages._device)
    N_("The server directory is empty or invalid."),
    N_("Give a directory on the server."),
    N_("'{directory}' is a Windows path, but this SQL Server runs on Linux."),
    N_("Give a Linux path on the server, e.g. /var/opt/mssql/backup."),
    N_("'{directory}' is not an absolute path."),
    N_("Start it with '/'."),
    N_("'{directory}' has no drive letter."),
    N_("Give a full path on the server, e.g. C:\\Backups or \\\\server\\share."),
    N_("'{directory}' contains '..'."),
    N_("Give the directory without '..'."),
    N_("The directory {directory} does not exist on the SQL Server host."),
    N_("Directories are on the server's machine, not this one; pick one that exists there (e.g. {path})."),
    N_("Paths are resolved by the SQL Server service on its own machine: create the directory there, or choose one that exists (e.g. the instance's default backup path)."),
    N_("The SQL Server service account ({account}) cannot write to {directory}."),
    N_("Give the SQL Server service account ({account}) write access to {directory}, or choose a directory it can write."),
    N_("The SQL Server service account ({account}) cannot read {device}."),
    N_("Give the SQL Server service account ({account}) read access to {directory}, or copy the backup to a directory it can read."),
    N_("The backup file {device} does not exist on the server."),
    N_("Backup paths are on the SQL Server host, not on this computer; browse the server's directories and pick the file there."),
    N_("The server's disk is full: {device} cannot be written."),
    N_("Free space there or choose another directory on the server."),
    N_("The file {device} is in use by another program on the server."),
    N_("Wait for the other backup or copy to end, or choose another file name."),
    N_("The SQL Server service account ({account}) cannot reach the network path {directory}."),
    N_("Check that the share exists and that the SQL Server service account ({account}) (not your own account) may use it."),
    # mssql: connecting (hints.connect_failure, messages.translate 18456)
    N_("Cannot connect to SQL Server at {server}: nothing answers on that port."),
    N_("Cannot connect to SQL Server at {server}: the encrypted (TLS) connection could not be set up."),
    N_("Cannot connect to SQL Server at {server}: the name cannot be found or the server is unavailable."),
    N_("Cannot connect to SQL Server at {server}: the server did not answer in time."),
    N_("Cannot connect to SQL Server at {server}: the connection was cut."),
    N_("Cannot connect to SQL Server at {server}: the server cannot be reached."),
    N_("Check the server name and port, that the SQL Server service runs, and that the firewall lets the port through (1433, or the named instance's port)."),
    N_("SQL Server Express is installed with TCP/IP disabled: enable it in SQL Server Configuration Manager (Protocols for SQLEXPRESS, TCP/IP) and restart the service."),
    N_("{host} is a named instance, found through the SQL Server Browser service: start the SQL Server Browser on the server and let UDP port 1434 through its firewall, or give the instance's fixed TCP port instead (--port)."),
    N_("SQL Server 2008 R2 and 2012 without Microsoft's TLS 1.2 update offer only TLS 1.0, which this machine's OpenSSL refuses: install the update on the server, or let OpenSSL accept it here (OPENSSL_CONF with MinProtocol = TLSv1 and CipherString = DEFAULT@SECLEVEL=0), or set 'encryption = off' in freetds.conf when the server does not force encryption."),
    N_("SQL Server at {server} refused the login for user '{user}'."),
    N_("Check the user name and password (MSDE_PASSWORD or the prompt), and that the server accepts SQL Server logins (mixed authentication mode)."),
    # mssql: a restore's plan on the summary (restoreplan.BackupSetInfo.label, FolderSpace.what)
    N_("data"),
    N_("log"),
    N_("data and log"),
    N_("set {position}: full backup of {database} of {when} ({release}, {version})"),
    N_("set {position}: differential backup of {database} of {when} ({release}, {version})"),
    N_("set {position}: log backup of {database} of {when} ({release}, {version})"),
    # mssql: results (restoring.py, verifying.py, backingup.py)
    N_("Restored {source} as {database}."),
    N_("Restored {source} as {database} (safety copy: {safety})."),
    N_("{path} is valid."),
    N_("{path} is valid (without page checksums: only its structure was checked)."),
    N_("{path}: {count} backup sets valid."),
    N_("{path} is valid, test restore and DBCC CHECKDB clean."),
    N_("{path}: {count} backup sets valid, test restore and DBCC CHECKDB clean."),
    N_("Backed up to {path} and verified, test restore and DBCC CHECKDB clean."),
    # the forms' own checks (cut.check_cut, tax_audit.check_audit, packinfo.check_passphrase)
    # and the wizard's hints (``MsdeError.wizard_hint``: the wizard's fields, never a CLI flag)
    N_("Convert it into one first (operation 'Convert an Access dossier'); the Access file is only read."),
    N_("Wait for the other operation to end (F5 lists the jobs), then run this again."),
    N_("Export it first (operation 'Export (complete)'), then import that export copy (operation 'Import (complete)'): it becomes an embedded dossier."),
    N_("Type them in 'Fiscal years asked', e.g. 2022,2023."),
    N_("Choose an existing directory (F4 browses)."),
    N_("Tick the fiscal years to archive."),
    N_("Import it with the operation 'Import (complete)' (PBF) or 'Import (partial)' (PTF)."),
    N_("Import that dossier's PBF first (operation 'Import (complete)'), or choose the dossier in 'Dossier to update'."),
    N_("Choose the one to update in 'Dossier to update'."),
    N_("Type the fiscal years asked for (e.g. 2022,2023)."),
    N_("This happens when a unique value moved from a deleted row to another one; import the dossier's PBF instead (operation 'Import (complete)')."),
    N_("Fiscal year {code} is archived; its details are in a PAF of this dossier."),
    N_("Import the PAF first (operation 'Archive import'), then cut."),
    N_("Fiscal year {code} is still open and cannot be cut off."),
    N_("Close it first."),
    N_("Fiscal year {code} is the dossier's first year; there is nothing to cut."),
    N_("Name a later year as the first year to keep."),
    N_("No single fiscal year '{year}' in this dossier."),
    N_("Name one of its fiscal years: {years}."),
    N_("Dossier {code} has no French SIREN (VAT number {vat}). A FEC is a French format (art. A47 A-1 of the French Livre des procédures fiscales), named after the company's SIREN."),
    N_("Type the identifier the requesting administration uses for this company in 'FEC identifier' (1 to 20 letters or digits)."),
    N_("'{value}' cannot name a FEC file."),
    N_("Give 1 to 20 letters or digits (the identifier the administration uses)."),
    N_("No FEC for {year}: fiscal year {code} is still open."),
    N_("No FEC for {year}: fiscal year {code} is still open; {count} entry was never validated: {entries}."),
    N_("No FEC for {year}: fiscal year {code} is still open; {count} entries were never validated: {entries}."),
    N_("No FEC for {year}: {count} entry was never validated: {entries}."),
    N_("No FEC for {year}: {count} entries were never validated: {entries}."),
    N_("Close and validate the year first, or tick 'Provisional FEC': its name ends {suffix}"),
    N_("Fiscal year(s) {years} of {code} are archived: their entries are in their PAF, and the dossier only holds one balance entry per year."),
    N_("Type the PAF (or the directory holding it) in 'Archive (PAF)', or leave those years out."),
    N_("Type the PAF (or the directory holding it) in 'Archive (PAF)'."),
    N_("Type a .paf file or the directory holding it in 'Archive (PAF)'."),
    N_("No PAF of {code} holding fiscal year(s) {years} was found in {directory}."),
    N_("Give the PAF written when those years were archived (the operation 'Archive import' lists a directory's PAF and their years)."),
    N_("{file} is an archive of dossier {other}, not of {code}."),
    N_("Give the PAF written when {code}'s years were archived."),
    N_("Wrong passphrase for this packed file."),
    N_("Type the passphrase used when packing."),
    N_("Import its PAF first (operation 'Archive import') if you want to archive it again."),
    N_("Close the fiscal year first, or untick it."),
    N_("Check the path: a directory is needed there."),
    N_("Type another dossier number (F6 proposes the first free one)."),
    N_("Move or delete the previous tax-audit copy first."),
    # mssql: what stops a restore, on the summary (restoreplan.py)
    N_("The backup was made by a newer SQL Server, {release} ({version}), than this one, {here}."),
    N_("The backup was made by {release} ({version}), too old for {here}: it restores backups from {oldest} on."),
    N_("The database {database} already exists on {host}."),
    N_("The database {database} is in use by {count} other session(s): {sessions}."),
    N_("Not enough free space for the data of {database} in {folder} on the server: {needed} needed, {free} free."),
    N_("Not enough free space for the log of {database} in {folder} on the server: {needed} needed, {free} free."),
    N_("Not enough free space for the data and log of {database} in {folder} on the server: {needed} needed, {free} free."),
    N_("Not enough free space for the safety copy of {database} in {folder} on the server: {needed} needed, {free} free."),
    N_("no safety copy: {database} is {state} and holds nothing usable to save"),
    N_("The login '{login}' may not restore over {database}."),
    N_("The login '{login}' may not restore nor read backups: RESTORE needs CREATE DATABASE permission."),
)

# More engine words, as the CLI shows them (errors and hints, results, server facts, the
# automatic backups' reasons).
MORE_TEMPLATES = (
    N_("No dossier '{ref}' in the dossier list."),
    N_("Run 'msde list' to see the dossiers, or give its number (e.g. 001)."),
    N_("E.g. --where 001-099, --where profile=office, --where changed, or --all."),
    N_("The file {file} does not exist."),
    N_("Check the path and the file name."),
    N_("The proof {proof} of {file} is missing, so the backup cannot be trusted."),
    N_("Use another backup that has its .json proof beside it, or take a new backup."),
    N_("Use another backup that has its .json proof beside it."),
    N_("{kind} {file} written and verified ({size}). {rows} rows changed, {deleted} deleted."),
    N_("FEC {file} (provisional)."),  # before "FEC {file}.", whose {file} would take " (provisional)"
    N_("FEC {file}."),
    N_("{fec} is PROVISIONAL: {reasons}."),  # the reasons, "; "-joined, each one below
    N_("fiscal year {code} is still open"),
    N_("{count} entry was never validated: {entries}"),
    N_("{count} entries were never validated: {entries}"),
    N_("{fec}: {count} character(s) not in {encoding} were replaced (unaccented letter or '?')."),
    N_("Warning:"),
    N_("Dossier {code} has no French SIREN (VAT number {vat})."),
    N_("A FEC is a French format (art. A47 A-1 of the French Livre des procédures fiscales), "
       "named after the company's SIREN."),
    N_("This dossier has none: the files are named {ident}."),
    N_("Give the identifier the requesting administration uses for this company with --fec-id "
       "(1 to 20 letters or digits)."),
    N_("none"),
    N_("none yet"),
    N_("No SQL Server connection profile named '{name}' (known: {known})."),
    N_("Add it with: msde server add NAME --host HOST --user USER"),
    N_("A connection profile named '{name}' already exists."),
    N_("Choose another name, or add --replace to change it."),
    N_("back up {database}"),
    N_("verify backups, read their contents"),
    N_("test restore"),
    N_("restore as a new dossier"),
    N_("restore over a dossier, close its sessions"),
    N_("browse server folders"),
    N_("delete old automatic backups"),
    N_("read the backup history"),
    N_("db_backupoperator or db_owner on it"),
    N_("CREATE DATABASE permission: dbcreator or sysadmin"),
    N_("dbcreator or sysadmin"),
    N_("VIEW SERVER STATE (SQL Server 2017+) or sysadmin"),
    N_("SELECT on msdb.dbo.backupset"),
    N_("never"),
    N_("{hours} h ago"),
    N_("{days} days ago"),
    N_("{database} has never had a full backup."),
    N_("The last full backup of {database} is {days} days old."),
    N_("{database} is in {model} recovery but its log is never backed up: the log grows until "
       "the disk is full. Schedule log backups, or switch it to SIMPLE recovery if "
       "point-in-time restores are not needed."),
    N_("{count} movement since last verified backup ≥ {limit}"),
    N_("{count} movements since last verified backup ≥ {limit}"),
    N_("{count} day since last verified backup ≥ {limit}"),
    N_("{count} days since last verified backup ≥ {limit}"),
    N_("{count} movement < {limit}"),
    N_("{count} movements < {limit}"),
    N_("{count} day < {limit}"),
    N_("{count} days < {limit}"),
    N_("movement counter unknown"),
    N_("cannot look at this dossier"),
    N_("backup: {reason}"),
    N_("skip: {reason}"),
    N_("off: {reason}"),
    N_("and"),
    N_("convert"),
    N_("{source} -> {target} (embedded)"),
    N_("{source} -> {target} (SQL Server)"),
    N_("{count} tables read back, row digests compared"),
    N_("Access {format} dossier {label} converted into {code} ({where}): {tables} tables, {rows} rows, "
       "every table's rows equal to the Access file's (row digests compared)."),
    N_("The Access file was only read."),
    # user errors the commands meet most (naming, --where, the dossier list)
    N_("'{number}' is not a dossier number."),
    N_("Type a number from 001 to 999."),
    N_("'{short}' is not a valid short name."),
    N_("Use 1 to 12 letters or digits, no spaces or punctuation (e.g. SOC)."),
    N_("'{code}' is not a dossier code."),
    N_("A code is a 3-digit number followed by a short name, e.g. 001SOC."),
    N_("Every dossier number from 001 to 999 is taken."),
    N_("Remove unused dossiers first."),
    N_("The --where filter is empty."),
    N_("profile= needs a connection profile name."),
    N_("The number range {term} goes backwards."),
    N_("Write it {range}."),
    N_("'{term}' is not something --where understands."),
    N_("Choose another number; the first free one is {number}."),
    N_("{file} is already in the list as {code}."),
    N_("A dossier can appear only once in the list."),
    N_("The company name cannot be empty."),
    N_("{code} is an Access file ({file}); msde never deletes it."),
    N_("Remove it from the list without deleting, and delete the file yourself."),
    N_("{code} is a SQL Server database; the tool never drops databases."),
    N_("Drop it on the server yourself if that is really wanted."),
    N_("{file} holds the same dossier (GUID {guid}) as {code}."),
    N_("To bring in a copy of a listed dossier, restore or import it."),
    N_("{code} is a SQL Server dossier; archive, cut and audit work on embedded dossiers for now."),
    N_("Export it to an embedded dossier first (msde export)."),
    N_("The file of {code} ({path}) is missing."),
    N_("Check the dossier list."),
    N_("{code} is an Access dossier, and {operation} is only for embedded and SQL Server dossiers."),
    N_("Convert it into one first (msde convert); the Access file is only read."),
    N_("an archive, a cut or a tax-audit transfer"),
    N_("the integrity check"),
    N_("the tax-audit transfer"),
    N_("{table}: {count} rows"),
    N_("every row against the file's digests"),
    N_("every row against the dossier's digests"),
    N_("every row against the PTF's digests"),
    N_("every member of the file"),
    N_("the dossier against the PTF's base"),
    N_("the '{user}' user"),
    N_("the SQL Server service account ({account})"),
    # the automatic run's reasons joined (each a known reason), its failures (auto/run.py) and
    # the scheduler's (auto/schedule.py, auto/installed.py)
    N_("{one_reason} and {other_reasons}"),
    N_("The backup engine gave no result for this dossier."),
    N_("Cannot create the backup directory {directory} ({error})."),
    N_("Create it or choose another one: msde auto policy set --dir DIR"),
    N_("Nothing was deleted; the previous backups are kept."),
    N_("The backup was made and verified but cannot be recorded: {error}"),
    N_("The backup is made and verified, but rotation failed: {error}"),
    N_("Check the rights on the backup directory."),
    N_("No verified backup was lost."),
    N_("Check that the backup directory and the dossier file can be read."),
    N_("The 'crontab' command is not installed on this machine."),
    N_("Install cron (e.g. sudo apt-get install cron), then try again."),
    N_("'crontab -l' failed: {error}."),
    N_("Check that you may use cron (cron.allow / cron.deny), or install the printed line yourself."),
    N_("'crontab -' refused the new table: {error}."),
    N_("Nothing was changed; edit it yourself with 'crontab -e'."),
    N_("'{command}' did not answer within 30 seconds."),
    N_("'crontab' could not be started: {error}."),
    N_("'systemctl --user {what}' failed: {error}."),
    N_("'systemctl --user {what}' failed."),
    N_("Check that your user's systemd runs (loginctl enable-linger), or untick and use cron."),
    N_("Cannot write the systemd units into {directory} ({error})."),
    N_("Check the rights on that directory, or copy the printed units there yourself."),
)

# Refusals: a file, directory, database or number that already exists or does not, and what
# to do (the engine's packs, lifecycle, backends and packed-file code); listed after the others,
# which name what the thing is more precisely.
REFUSALS = (
    N_("{path} already exists."),
    N_("{path} already exists in the data directory."),
    N_("{path} already exists in the data directory, outside the dossier list."),
    N_("{path} already exists (a file or a link put there by someone else)."),
    N_("{path} does not exist."),
    N_("{path} does not exist or is not a file."),
    N_("The dossier file {path} does not exist."),
    N_("The database file {path} does not exist."),
    N_("The database {database} does not exist on {host}."),
    N_("Database {database} already exists on {host}."),
    N_("An entry line refers to account id {account}, which does not exist."),
    N_("Number {number} is already taken by {code}."),
    N_("{name} is already in the dossier list as {code}."),
    N_("Fiscal year {code} is already archived."),
    N_("{path} appeared during the import."),
    N_("{path} appeared during the copy."),
    N_("{path} appeared while packing."),
    N_("Choose another number or remove it first."),
    N_("Run 'msde check' on the dossier."),
    N_("Create it first or choose another one."),
    N_("Create it or choose another one."),
    N_("Choose another number, or replace it (a safety copy is kept)."),
    N_("Choose another number or move it aside."),
    N_("Choose another directory."),
    N_("Choose another number (the first free is {number}), or replace it explicitly (a safety copy is kept)."),
    N_("Move it aside, or replace it explicitly (a safety copy is kept)."),
    N_("Nothing was overwritten; run it again."),
    N_("Restore it, or remove the dossier from the list."),
    N_("Remove it or choose another name."),
    N_("Remove it or let the tool pick the next cut name."),
    N_("Give the path of a .paf file."),
    N_("Give an existing directory with --dir."),
    N_("Give a .paf file or the directory holding it with --paf."),
    N_("Import its PAF first (msde unarchive) if you want to archive it again."),
    N_("Check the file name."),
    N_("Import that file instead, or move it aside first."),
    N_("Choose another number."),
    N_("Give another number with --number."),
    N_("Choose another number or name."),
    N_("Remove or rename the old export copy first."),
    N_("Choose another number or move that file."),
    N_("Add the restored database to the list under another number ('msde add')."),
    N_("Remove it or choose another directory; msde never writes through an existing name."),
    N_("Choose another directory or remove that file."),
    N_("Choose another number or move that file aside."),
)

# The integrity check's problems (engine.accounting.check), as ``msde check`` lists them; the
# variant naming journal, number and year first (a template matches whole, the first one wins).
CHECK_TEMPLATES = (
    N_("... and {count} more problem(s) of this kind not listed."),
    N_("Line {line} of entry {entry} has debit {debit} and credit {credit} (amounts must be >= 0 and on one side only)."),
    N_("Entry {entry} ({journal} {number} of {year}) is unbalanced: debit {debit} != credit {credit} (cents)."),
    N_("Entry {entry} is unbalanced: debit {debit} != credit {credit} (cents)."),
    N_("Entry {entry} ({journal} {number} of {year}) has no lines."),
    N_("Entry {entry} has no lines."),
    N_("Entry {entry} ({journal} {number} of {year}) is dated outside its fiscal year ({count} line(s))."),
    N_("Entry {entry} is dated outside its fiscal year ({count} line(s))."),
    N_("Entry {entry} ({journal} {number} of {year}) dated {date} was never validated (a draft): validate it, or the FEC of its year can only be provisional."),
    N_("Entry {entry} dated {date} was never validated (a draft): validate it, or the FEC of its year can only be provisional."),
    N_("{table} {row}: {column} = {value} points at no {parent} row."),
    N_("Number {number} is used {times} times in journal {journal} ({kind} entries) of {year}."),
    N_("Number {number} is used {times} times in journal {journal} of {year}."),
    N_("Journal {journal} of {year} has {count} real entries numbered {first} to {last}: number(s) {missing} missing (numbering must run 1..N without gaps)."),
    N_("below 1"),
    N_("Fiscal year {year} has no opening entry, but {previous} left {count} non-zero balance(s) to carry forward."),
    N_("The opening of {year} does not match the closing balances of {previous} ({count} difference(s), in cents: {differences})."),
    N_("{account}: expected {expected}, found {found}"),
    N_("... {count} more"),
    N_("140/141 (missing account)"),
    N_("{code} cannot be checked: {error}."),
    N_("{code} cannot be checked: {error}"),
    N_("It is not an accounting dossier or its file is damaged; restore a backup."),
    N_("Cannot check {database} on {profile}: {error}"),
    N_("Check the server, the profile and the password."),
    N_("It is not an accounting dossier or a table is damaged."),
)

# The kinds of problems (``Problem.kind``), in words.
CHECK_KINDS = {
    "bad_amount": N_("bad amount"), "unbalanced": N_("unbalanced"), "empty_entry": N_("empty entry"),
    "outside_year": N_("outside its year"), "dangling_reference": N_("dangling reference"),
    "duplicate_number": N_("duplicate number"), "number_gap": N_("number gap"),
    "unvalidated": N_("not validated"), "missing_opening": N_("no opening"),
    "opening_mismatch": N_("opening differs"),
}


def problem_kind(kind: str) -> str:
    """A kind of problem of the integrity check in the current language."""
    return _(CHECK_KINDS[kind]) if kind in CHECK_KINDS else kind


_PLACEHOLDER = re.compile(r"\{([a-z_]*)\}")
_VALUE = r"(?:(?![.!?]\s+[A-Z(]).)+?"  # a value never runs over the end of a sentence
_NUMBER = r"\d[\d,.]*"  # a count is a number ("0 movements < 100", "1,024 rows")
NUMBERS = {"count", "limit", "days", "hours", "rows", "deleted", "upserted"}
DECIMALS = {"megabytes"}  # "0.7": a decimal the engine wrote with a point (French: "0,7")
NESTED = {"one_reason", "other_reasons"}  # placeholders that must hold engine texts it knows
ONE_WORD = {"fec"}  # a FEC file's name: no space, so "Warning: X.txt is ..." is not one name
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z(])")


class Template:
    """A template, the literal text it starts and ends with (checked before its pattern: most
    templates are ruled out by those, so a line of progress costs microseconds), its pattern
    (compiled on first use) and its placeholders."""

    __slots__ = ("text", "prefix", "suffix", "names", "_pattern")

    def __init__(self, text: str) -> None:
        pieces = _PLACEHOLDER.split(text)  # literal, name, literal, name, ..., literal
        self.text = text
        self.names = tuple(pieces[1::2])
        self.prefix = pieces[0]
        self.suffix = pieces[-1] if self.names else ""
        self._pattern: re.Pattern[str] | None = None

    def fullmatch(self, text: str) -> re.Match[str] | None:
        if not (text.startswith(self.prefix) and text.endswith(self.suffix)):
            return None
        if self._pattern is None:
            pattern = ""
            for i, piece in enumerate(_PLACEHOLDER.split(self.text)):
                if i % 2 == 0:
                    pattern += re.escape(piece)
                else:
                    value = _NUMBER if piece in NUMBERS else r"\S+" if piece in ONE_WORD else _VALUE
                    pattern += f"(?P<g{i // 2}>{value})"
            self._pattern = re.compile(pattern, re.DOTALL)
        return self._pattern.fullmatch(text)


def most_words_first(templates: Iterable[str]) -> tuple[str, ...]:
    """``templates`` with the most fixed words first: tried in this order, a shorter one ("{name}
    is damaged ({problem}).") cannot take a longer one's start into its first value."""
    return tuple(sorted(templates, key=lambda t: -len(_PLACEHOLDER.sub("", t))))


@lru_cache(maxsize=1)
def _templates() -> tuple[tuple[Template, ...], frozenset[str]]:
    """Every template in order, and those without placeholders (matched by equality). The
    errors' templates come last, the ones with the most words first (``most_words_first``)."""
    errors = most_words_first(errorwords.ERRORS + packwords.ERRORS)
    every = tuple(Template(t) for t in TEMPLATES + MORE_TEMPLATES + CHECK_TEMPLATES + REFUSALS + errors)
    return every, frozenset(t.text for t in every if not t.names)


@lru_cache(maxsize=256)
def _starting_with(first: str) -> tuple[Template, ...]:
    """The templates a text starting with ``first`` can match, in their order: those whose
    literal start begins with it and those that start with a value (a line of progress is
    tried against a few dozen templates instead of all of them)."""
    return tuple(t for t in _templates()[0] if not t.prefix or t.prefix.startswith(first))


def _one(text: str) -> str | None:
    if text in STEPS:
        return _(text)
    for template in _starting_with(text[:1]):
        match = template.fullmatch(text)
        if match is None:
            continue
        names = template.names
        if any(name in NESTED and _one(match.group(f"g{i}")) is None for i, name in enumerate(names)):
            continue  # "{one_reason} and {other_reasons}" only between reasons it knows
        # a value that is itself one of the engine's words is shown translated ("none yet")
        values = {name: _decimal(match.group(f"g{i}")) if name in DECIMALS else localized(_value(match.group(f"g{i}")))
                  for i, name in enumerate(names)}
        return _(template.text).format(**values)
    return None


def _decimal(value: str) -> str:
    whole, point, decimals = value.partition(".")
    return units.decimal(float(value), len(decimals)) if point and whole.isdigit() and decimals.isdigit() else value


def _value(value: str) -> str:
    if value in STEPS:
        return value  # a file or dossier may be named like a step: values stay as they are
    if value in _templates()[1]:
        return _(value)
    # a list of the check's facts ("550: expected 3, found 2; ... 4 more"), each one known
    listed = [_one(part) for part in value.split("; ")] if "; " in value else [None]
    if all(f is not None for f in listed):
        return "; ".join(f for f in listed if f is not None)
    # a reason, or reasons joined ("2 movements < 5 and 1 day < 3"): translated when each is known
    found = [_one(part) for part in value.split(" and ")]
    if all(f is not None for f in found):
        return f" {_('and')} ".join(f for f in found if f is not None)
    return value


def shown(text: str) -> str:
    """``text`` (English, from the engine) in the current language, as far as it is known."""
    if not text:
        return text
    whole = _one(text.strip())
    if whole is not None:
        return whole
    sentences = _SENTENCE_END.split(text.strip())
    if len(sentences) == 1:
        return text
    # Each run of sentences is matched whole, longest first: a template may itself hold a
    # sentence break ("(art. A47 ..."), or several sentences.
    out: list[str] = []
    start = 0
    while start < len(sentences):
        for end in range(len(sentences), start, -1):
            found = _one(" ".join(sentences[start:end]))
            if found is not None:
                out.append(found)
                start = end
                break
        else:
            out.append(sentences[start])
            start += 1
    return " ".join(out)
