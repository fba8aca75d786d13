"""Offline model tools (`python -m models <command>`): export, training. Never imported by app/."""
