"""SQL Server through real drivers against the TDS double (or a real server: MSDE_TEST_MSSQL)."""
