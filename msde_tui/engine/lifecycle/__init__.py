"""A dossier's years over time: archive (PAF) and archive import, cut, tax-audit transfer."""
