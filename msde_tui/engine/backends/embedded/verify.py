"""Verify a backup: re-read it against its proof (size, SHA-256), integrity_check, identity."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from msde_tui.engine.backends.embedded.checked import IntegrityMemo
from msde_tui.engine.backends.embedded.dossier import dossier_guid
from msde_tui.engine.backends.embedded.files import remove_files, sqlite_uri
from msde_tui.engine.backends.embedded.work import Beside
from msde_tui.engine.errors import BackupInvalid, BadInput, Cancelled, MsdeError, WrongDossier
from msde_tui.engine.proof import Proof, proof_path, read_proof, sha256_file
from msde_tui.engine.runs.threads import Work

PARALLEL_MIN = 8 * 2**20  # from this size, integrity_check runs beside the SHA-256 read


@dataclass(frozen=True)
class Checked:
    proof: Proof
    guid: str | None
    company: str | None
    code: str | None



def check_backup(
    work: Work, label: str, file: Path, step: str = "verify", memo: IntegrityMemo | None = None
) -> Checked:
    """Verify ``file`` against its proof: size, SHA-256, integrity_check, identity.

    ``integrity_check`` is not run again on bytes ``memo`` saw pass it (same SHA-256)."""
    if not file.exists():
        raise BadInput(f"The file {file} does not exist.", "Check the path and the file name.")
    if not file.is_file():
        raise BadInput(f"{file} is not a file.", "Give the path of a backup file.")
    proof = read_proof(file)
    work.step(label, step, file.name)
    size = file.stat().st_size
    if size != proof.size:
        state = "truncated (incomplete)" if size < proof.size else "longer than when it was written"
        raise BackupInvalid(
            f"The backup {file.name} is {state}: {size} bytes, its proof says {proof.size}.",
            "Use another backup; this one cannot be restored.",
        )
    # A large backup not already checked: integrity_check runs in a second thread while this
    # one reads and hashes (both cores); its answer counts only once the SHA-256 matches.
    beside = None
    if size >= PARALLEL_MIN and not (memo is not None and memo.known(proof.sha256)):
        beside = Beside(integrity_problems, file)
    try:
        digest, _ = sha256_file(
            file,
            progress=lambda done: work.progress(label, done, size),
            should_stop=work.cancel.is_set,
        )
        work.progress(label, size, size, final=True)
        guid, company, code = read_identity(file)
        if digest != proof.sha256:
            if guid is not None and proof.guid is not None and guid != proof.guid:
                raise WrongDossier(
                    f"The proof beside {file.name} describes another backup ({proof.file}, dossier "
                    f"{proof.code}).",
                    "Put the right proof beside the backup, or use another backup.",
                )
            raise BackupInvalid(
                f"The backup {file.name} is damaged: its content differs from its proof (SHA-256).",
                "Use another backup; this one cannot be trusted.",
            )
        if beside is None and memo is not None and memo.known(digest):
            work.step(label, step, "integrity check, already passed by these exact bytes")
            problems = []
        else:
            work.step(label, step, "integrity check")
            problems = integrity_problems(file) if beside is None else beside.result()
            if not problems and memo is not None:
                memo.add(digest)
    finally:
        if beside is not None:
            beside.join()  # never leave a check reading a file that is about to be removed
    if problems:
        raise BackupInvalid(
            f"The backup {file.name} is damaged: the integrity check found {len(problems)} "
            f"problem(s), first: {problems[0]}.",
            "Use another backup; this one cannot be restored.",
        )
    if guid != proof.guid:
        raise WrongDossier(
            f"The backup {file.name} holds dossier {guid or '(no identity)'}, but its proof names "
            f"{proof.guid} ({proof.code}).",
            "Use the proof written with this backup, or another backup.",
        )
    return Checked(proof=proof, guid=guid, company=company, code=code)


def read_identity(file: Path) -> tuple[str | None, str | None, str | None]:
    """(guid, company, code) from the file's dossier_info; Nones when unreadable or absent."""
    try:
        conn = sqlite3.connect(sqlite_uri(file, "immutable"), uri=True)
    except sqlite3.Error:
        return None, None, None
    try:
        guid = dossier_guid(conn)
        try:
            row = conn.execute("SELECT company, code FROM dossier_info WHERE id = 1").fetchone()
        except (sqlite3.DatabaseError, UnicodeDecodeError):
            row = None
        return guid, (row[0] if row else None), (row[1] if row else None)
    except (sqlite3.DatabaseError, UnicodeDecodeError):  # a damaged file: text that is not UTF-8
        return None, None, None
    finally:
        conn.close()


def integrity_problems(file: Path) -> list[str]:
    try:
        conn = sqlite3.connect(sqlite_uri(file, "immutable"), uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        return [str(exc)]
    messages = [str(r[0]) for r in rows]
    return [] if messages == ["ok"] else messages



def check_or_remove(
    work: Work, label: str, final: Path, memo: IntegrityMemo | None, step: str = "verify"
) -> Checked:
    """Verify a backup just written; if it fails, remove it so that nothing invalid stays.

    Cancelled while verifying: removed too. A backup with its proof beside it looks valid
    (restore lists it, rotation counts it), and this one was never checked.
    """
    try:
        return check_backup(work, label, final, step, memo)
    except Cancelled:
        remove_files(final, proof_path(final))
        raise
    except MsdeError:
        remove_files(final, proof_path(final))
        raise
