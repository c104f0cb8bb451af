"""The engine's operations on real SQLite dossiers: backup, restore, pack, archive, cut, audit, auto."""
