"""The accounting model: schema, ledger queries, integrity checks, chart, FEC, demo books."""
