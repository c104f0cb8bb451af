"""msde-tui: protect accounting dossiers (SQL Server or embedded SQLite)."""

__version__ = "0.1.0"

import logging as _logging

# A library stays quiet unless the application configures logging (``msde --debug`` does):
# without this, Python's last-resort handler would print tracebacks on stderr.
_logging.getLogger(__name__).addHandler(_logging.NullHandler())
