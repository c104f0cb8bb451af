"""The packed-file container (PBF, PTF, PAF). Specification: docs/FORMAT.md."""
