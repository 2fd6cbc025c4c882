"""The `kajitori` command line: kubectl habits, plus the daemons (master, agent, proxy)."""
