"""Packed files of a dossier (PBF, PTF) and the export copy: export, import, apply."""
