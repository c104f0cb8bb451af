"""A wire-level TDS test double of SQL Server backed by SQLite files (see README.md)."""

from tests.tdsdouble.server import TdsServer

__all__ = ["TdsServer"]
