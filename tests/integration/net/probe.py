"""Connects COUNT times to HOST:PORT over PROTO from inside a test namespace; prints JSON results.

Usage: probe.py TIMEOUT_S tcp|udp HOST PORT COUNT [SOURCE_IP]. Each result is the server's
answer ("NAME PEER_IP"), "refused" (RST or ICMP port unreachable), "refused-locally" (EPERM
from a local netfilter REJECT), "unreachable ERRNO" or "timeout" (nothing within TIMEOUT_S).
"""

from __future__ import annotations

import json
import socket
import sys


def once(proto: str, host: str, port: int, source: str | None, timeout: float) -> str:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(timeout)
        if source:
            sock.bind((source, 0))
        try:
            sock.connect((host, port))
            if proto == "udp":
                sock.send(b"hello")
                return sock.recv(2048).decode().strip()
            return sock.makefile().readline().strip()
        except ConnectionRefusedError:
            return "refused"
        except PermissionError:
            # A local send that netfilter refused in OUTPUT (REJECT of a node's own UDP packet).
            return "refused-locally"
        except TimeoutError:
            return "timeout"
        except OSError as exc:
            return f"unreachable {exc.errno}"


def main() -> None:
    timeout, proto, host, port, count = float(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    source = sys.argv[6] if len(sys.argv) > 6 else None
    print(json.dumps([once(proto, host, port, source, timeout) for _ in range(count)]))


if __name__ == "__main__":
    main()
