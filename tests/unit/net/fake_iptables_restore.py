"""A stand-in for `iptables-legacy-restore --noflush` that speaks its stdin/stdout/stderr protocol.

Reads batches line by line like the real program: a `-S INPUT` line prints the chain's listing
(policy line first), a rule naming chain FAIL fails the whole program with the real program's
message, a `# sleep` line stalls it. Every line it accepted is appended to the file named by
the first argument, so tests can see what arrived and in which process (one line per start).
"""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    with open(sys.argv[1], "a") as log:
        log.write(f"start {os.getpid()}\n")
        log.flush()
        for number, line in enumerate(sys.stdin, start=1):
            if line.startswith("-A FAIL"):
                sys.stderr.write(f"iptables-restore: line {number} failed\n")
                sys.exit(1)
            if line.startswith("# sleep"):
                time.sleep(60)
            # Logged before answering: once the caller sees the answer, the log holds the line.
            log.write(line)
            log.flush()
            if line.strip() == "-S INPUT":
                sys.stdout.write("-P INPUT ACCEPT\n-A INPUT -j KT-SERVICES\n")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
