"""Damaged files, killed processes, full disks, hostile input, secrets."""
