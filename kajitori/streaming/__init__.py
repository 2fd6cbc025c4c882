"""Interactive streams shared by the master and the agent: the agent link's framing, exec statuses, SPDY/3.1."""
