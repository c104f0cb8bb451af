"""Automatic backups: policy, the run (decide, back up, verify, rotate), scheduler entries."""
