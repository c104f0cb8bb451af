"""The embedded backend: SQLite dossier files (backup, verify, restore)."""
