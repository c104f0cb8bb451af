"""Running operations: the runner every operation goes through, and detached jobs."""
