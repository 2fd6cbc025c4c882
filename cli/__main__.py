"""`python -m cli` is the `kajitori` command (tests and scripts start master, agent and proxy processes this way)."""

from cli.main import app

app()
