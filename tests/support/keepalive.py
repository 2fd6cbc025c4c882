"""One keep-alive HTTPS connection to a master that notices when the server closes it.

httpx and requests reconnect silently; this does not: ``send`` fails the test when
the socket that carried the last answer is not the one the next request goes out
on (the server answered ``Connection: close``) or the server hung up. What hostile
input tests need, since a 500 or a broken header used to drop the connection.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

from tests.support.master_process import MasterProcess


class KeepAlive:
    def __init__(self, master: MasterProcess, token: str) -> None:
        self.conn = http.client.HTTPSConnection("127.0.0.1", master.port, context=master.tls(), timeout=60)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.sock: Any = None
        self.last_headers: http.client.HTTPMessage | None = None

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(HTTP code, the answer's JSON, its bytes if not JSON, or None); its headers in ``last_headers``."""
        sent = {**self.headers, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = content_type
        try:
            if self.sock is not None:
                assert self.conn.sock is self.sock, "the server closed the keep-alive connection after its last answer"
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
            raw = response.read()
        except BaseException:
            # The next request starts on a fresh connection whatever broke this one.
            self.conn.close()
            self.sock = None
            raise
        self.sock = self.conn.sock
        self.last_headers = response.headers
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw  # not JSON (a watch stream, or not from the API at all)

    def json(self, method: str, path: str, value: Any, content_type: str = "application/json") -> tuple[int, Any]:
        return self.send(method, path, json.dumps(value).encode(), content_type)

    # What a client's write can touch in these tests. Not Leases: a master renews its own
    # (kube-system/apiserver-..., every 2 s) whatever the client does, so the store's global
    # revision moves by itself and "nothing changed" must be judged on these collections.
    WATCHED = (
        "/api/v1/namespaces", "/api/v1/pods", "/api/v1/services", "/api/v1/configmaps", "/api/v1/secrets",
        "/apis/apps/v1/deployments", "/apis/batch/v1/jobs",
    )  # fmt: skip

    def revision(self) -> str:
        """What the client-facing collections hold: any create, update or delete of one moves it."""
        marks = []
        for path in self.WATCHED:
            code, body = self.send("GET", path)
            assert code == 200, body
            items = body.get("items") or []
            newest = max((int(i["metadata"]["resourceVersion"]) for i in items), default=0)
            marks.append(f"{path}:{len(items)}:{newest}")
        return " ".join(marks)

    def close(self) -> None:
        self.conn.close()
