"""msde-tui: protect accounting dossiers (SQL Server or embedded SQLite)."""

__version__ = "0.1.0"
