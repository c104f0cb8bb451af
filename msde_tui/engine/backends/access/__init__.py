"""Access dossiers (``.mdb``/``.accdb``): the third backend beside embedded and SQL Server.

msde only READS Access files (through mdbtools, see ``reader``) and writes copies or other
formats: a backup is a byte-for-byte copy plus a proof, a restore puts such a copy back, a
conversion writes an embedded (SQLite) dossier or a SQL Server database. Nothing here ever
writes the Access format itself. See docs/OPERATIONS.md, "Access dossiers".

Modules: ``fileformat`` (recognise a file by its header), ``reader`` (mdbtools: tables,
columns, rows), ``proofs`` (the proof beside a backup), ``backend`` (backup, verify,
restore), ``convert`` (to embedded or SQL Server), ``auto`` (automatic backups' target).
"""
