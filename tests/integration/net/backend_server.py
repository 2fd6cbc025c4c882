"""A tiny backend for the network integration tests, run inside a test namespace.

Usage: backend_server.py NAME ADDR:PORT/PROTO...  Each TCP connection gets "NAME PEER_IP\\n"; each
UDP datagram gets the same text back. Prints "ready" once every socket is bound.
"""

from __future__ import annotations

import socket
import sys
import threading


def serve_tcp(sock: socket.socket, name: str) -> None:
    while True:
        conn, peer = sock.accept()
        with conn:
            conn.sendall(f"{name} {peer[0]}\n".encode())


def serve_udp(sock: socket.socket, name: str) -> None:
    while True:
        _, peer = sock.recvfrom(2048)
        sock.sendto(f"{name} {peer[0]}\n".encode(), peer)


def main() -> None:
    name = sys.argv[1]
    threads = []
    for spec in sys.argv[2:]:
        addr, proto = spec.split("/")
        host, port = addr.rsplit(":", 1)
        if proto == "tcp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, int(port)))
            sock.listen(64)
            threads.append(threading.Thread(target=serve_tcp, args=(sock, name), daemon=True))
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((host, int(port)))
            threads.append(threading.Thread(target=serve_udp, args=(sock, name), daemon=True))
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
