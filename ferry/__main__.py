"""``python -m ferry`` runs the CLI (used by tests and when the console script is not on PATH)."""

from ferry.cli import app

app(prog_name="ferry")
