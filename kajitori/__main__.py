"""`python -m kajitori` is the `kajitori` command."""

from kajitori.cli.main import app

app()
