"""The lab side of Kajitori: adding and rebooting machines over SSH (see ssh_join)."""
