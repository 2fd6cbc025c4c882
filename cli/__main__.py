"""`python -m cli` is the `kajitori` command (tests and scripts start master, agent and proxy processes this way)."""

from cli.daemon_entry import main

main()
