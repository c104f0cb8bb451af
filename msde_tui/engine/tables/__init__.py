"""Schema-agnostic reading and writing of any dossier database's tables."""
