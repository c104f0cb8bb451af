"""SQL Server backend: T-SQL builders (tsql), message parsing and translation (messages),
drivers (driver), the Backend implementation (backend) and connection profiles (profiles)."""
