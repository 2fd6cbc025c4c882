"""Asks a DNS server one question from inside a test namespace; prints JSON {rcode, answers}.

Usage: dns_probe.py SERVER PORT NAME QTYPE udp|tcp
"""

from __future__ import annotations

import json
import sys

from dnslib import RCODE, DNSRecord


def main() -> None:
    server, port, name, qtype, transport = sys.argv[1:6]
    raw = DNSRecord.question(name, qtype).send(server, int(port), tcp=transport == "tcp", timeout=20)  # the server is a Python process: slow on a loaded machine
    reply = DNSRecord.parse(raw)
    print(json.dumps({"rcode": RCODE.get(reply.header.rcode), "answers": [str(rr.rdata) for rr in reply.rr]}))


if __name__ == "__main__":
    main()
