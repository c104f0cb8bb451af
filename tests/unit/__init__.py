"""Pure functions and small pieces: naming, T-SQL builders, row hashes, the format's parts, layers."""
