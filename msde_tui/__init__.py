"""msde-tui: protect accounting dossiers (SQL Server or embedded SQLite)."""

__version__ = "0.1.0"

import logging as _logging
import os as _os

# A library stays quiet unless the application configures logging (``msde --debug`` does):
# without this, Python's last-resort handler would print tracebacks on stderr.
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

# Arrow's buffers from the C library's allocator, which gives freed pages back to the system:
# Arrow's default (mimalloc) keeps them, and a PBF import of the 1M-line demo peaked ~50 MB
# higher (bench/RESULTS.md), no faster. Read by Arrow when it first allocates, so set before
# any module of msde imports pyarrow; a value chosen by the user is kept.
_os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
