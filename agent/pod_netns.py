"""A TCP connection made inside a pod's network namespace, as the kubelet's port-forward makes it.

The socket is created by a short-lived thread that first joins the namespace of the
pod's sandbox process (``setns(2)`` moves only the calling thread), so the
connection goes to ``127.0.0.1:PORT`` of the pod itself: a server listening only on
the pod's loopback is reached, and no route, Service or pod IP is involved. The
thread ends right after, so no other thread of the agent ever runs in the pod's
namespace; the socket stays bound to it for its life.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
CONNECT_TIMEOUT_S = 10.0


class NetnsError(Exception):
    """The namespace could not be entered (the reason is in the message)."""


def connect_in_netns(pid: int, port: int, *, timeout_s: float = CONNECT_TIMEOUT_S) -> socket.socket:
    """A connected socket to 127.0.0.1:port in the network namespace of process `pid`.

    Raises ConnectionRefusedError (or another OSError) as connect() would, NetnsError when
    the namespace cannot be entered.
    """
    result: list[socket.socket | BaseException] = []

    def enter_and_connect() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise NetnsError(f"entering the network namespace of pid {pid}: {os.strerror(err)}")
            finally:
                os.close(fd)
            sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
            sock.settimeout(None)
            result.append(sock)
        except BaseException as exc:  # handed to the caller's thread
            result.append(exc)

    if pid <= 0:
        raise NetnsError("the pod's sandbox is not running")
    thread = threading.Thread(target=enter_and_connect, name=f"netns-connect-{pid}", daemon=True)
    thread.start()
    thread.join()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        if isinstance(outcome, FileNotFoundError):
            raise NetnsError(f"the pod's sandbox process {pid} is gone") from outcome
        raise outcome
    return outcome
