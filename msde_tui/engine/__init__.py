"""The engine: plans, operations and backends. No UI code lives here (tests enforce it)."""
