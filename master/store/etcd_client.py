"""A small client of etcd v3's HTTP/JSON gateway (``/v3/kv/*``, ``/v3/watch``) over httpx.

Why the gateway and httpx rather than a gRPC library: the project already depends on
httpx, the gateway needs no protobuf (``etcd3`` 0.12 breaks on protobuf >= 4), and the
store interface is synchronous, which a blocking httpx client fits with no second
event loop (``aetcd`` is asyncio-only). etcd 3.4 serves the gateway on its client port.

Only what the store needs: range over a prefix, a transaction of one compare and one
request per branch, compaction, and a watch that yields batches of events. Keys and
values are bytes (base64 on the wire); revisions are ints (decimal strings on the wire).
Several endpoints may be given; a request that cannot connect moves to the next one.

Exceptions: ``EtcdUnavailable`` (no endpoint answered: retry later), ``EtcdCompacted``
(a watch or compaction asked for a revision etcd no longer keeps), ``EtcdError``
(anything else etcd refused).
"""

from __future__ import annotations

import base64
import logging
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson

from kajitori.client import ndjson_lines

log = logging.getLogger(__name__)


class EtcdError(Exception):
    """etcd refused a request."""


class EtcdUnavailable(EtcdError):
    """No endpoint could be reached (or the cluster has no leader)."""


class EtcdCompacted(EtcdError):
    def __init__(self, compact_revision: int) -> None:
        super().__init__(f"revision compacted (oldest kept: {compact_revision})")
        self.compact_revision = compact_revision


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int
    version: int = 0  # how many times the key was written since its creation


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: Literal["PUT", "DELETE"]
    kv: KeyValue  # for DELETE: key and mod_revision (the deletion's revision) only
    prev: KeyValue | None


@dataclass(frozen=True, slots=True)
class TxnResult:
    succeeded: bool
    revision: int  # the store's revision after the transaction (the write's own, if it wrote)
    kvs: list[KeyValue]  # what the failure branch's range read, or what a delete removed


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def prefix_end(prefix: bytes) -> bytes:
    """The range end that covers every key starting with ``prefix`` (etcd's ``WithPrefix``)."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"


def _kv(raw: dict[str, Any]) -> KeyValue:
    return KeyValue(
        key=base64.b64decode(raw.get("key", "")),
        value=base64.b64decode(raw.get("value", "")),
        create_revision=int(raw.get("create_revision", 0)),
        mod_revision=int(raw.get("mod_revision", 0)),
        version=int(raw.get("version", 0)),
    )


Target = Literal["CREATE", "MOD", "VERSION"]
_TARGET_FIELD = {"CREATE": "create_revision", "MOD": "mod_revision", "VERSION": "version"}


class EtcdClient:
    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        cafile: str | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one etcd endpoint is needed")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self._current = 0
        # One SSL context for every connection: the CA that signed etcd's certificates (or
        # the system's), and the client certificate etcd's --client-cert-auth asks for.
        tls = ssl.create_default_context(cafile=cafile)
        if certfile and keyfile:
            tls.load_cert_chain(certfile, keyfile)
        self._tls: dict[str, Any] = {"verify": tls}
        self._timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0))
        self._http = httpx.Client(timeout=self._timeout, **self._tls)
        self._watch_socket: socket.socket | None = None
        self._closed = False

    # -- requests ------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        last: Exception | None = None
        for attempt in range(len(self.endpoints)):
            endpoint = self.endpoints[(self._current + attempt) % len(self.endpoints)]
            try:
                response = self._http.post(endpoint + path, content=orjson.dumps(body))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing was sent: the next endpoint may take it without a double write.
                last = exc
                continue
            except httpx.HTTPError as exc:
                # Sent, no answer: the write may or may not have happened; the caller decides.
                raise EtcdUnavailable(f"{endpoint}{path}: {exc!r}") from exc
            self._current = (self._current + attempt) % len(self.endpoints)
            data: dict[str, Any] = orjson.loads(response.content) if response.content else {}
            if response.status_code != 200 or "error" in data:
                message = str(data.get("message") or data.get("error") or response.text)
                if "compacted" in message:
                    raise EtcdCompacted(0)
                if response.status_code == 503 or "no leader" in message or "timed out" in message:
                    raise EtcdUnavailable(message)
                raise EtcdError(message)
            return data
        raise EtcdUnavailable(f"no etcd endpoint answered ({', '.join(self.endpoints)}): {last!r}")

    def range_prefix(self, prefix: bytes) -> tuple[list[KeyValue], int]:
        """Every key under ``prefix`` and the revision they were read at."""
        data = self._post("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))})
        return [_kv(kv) for kv in data.get("kvs", [])], int(data["header"]["revision"])

    def txn(
        self,
        key: bytes,
        *,
        target: Target,
        equals: int,
        result: Literal["EQUAL", "GREATER"] = "EQUAL",
        put: bytes | None = None,
        delete: bool = False,
    ) -> TxnResult:
        """If ``target(key) <result> equals``: put ``put`` (or delete the key); else read the key."""
        if delete:
            success = [{"request_delete_range": {"key": _b64(key), "prev_kv": True}}]
        else:
            assert put is not None
            success = [{"request_put": {"key": _b64(key), "value": _b64(put)}}]
        body = {
            "compare": [
                {"target": target, "result": result, "key": _b64(key), _TARGET_FIELD[target]: str(equals)}
            ],
            "success": success,
            "failure": [{"request_range": {"key": _b64(key)}}],
        }
        data = self._post("/v3/kv/txn", body)
        succeeded = bool(data.get("succeeded", False))
        kvs: list[KeyValue] = []
        for response in data.get("responses", []):
            if "response_range" in response:
                kvs = [_kv(kv) for kv in response["response_range"].get("kvs", [])]
            elif "response_delete_range" in response:
                kvs = [_kv(kv) for kv in response["response_delete_range"].get("prev_kvs", [])]
        return TxnResult(succeeded, int(data["header"]["revision"]), kvs)

    def compact(self, revision: int) -> None:
        """Forget the history before ``revision`` (already compacted further: no-op)."""
        try:
            self._post("/v3/kv/compaction", {"revision": str(revision)})
        except EtcdCompacted:
            pass

    # -- watch ---------------------------------------------------------------

    def watch_prefix(self, prefix: bytes, start_revision: int) -> Iterator[list[WatchEvent]]:
        """Batches of events under ``prefix`` from ``start_revision`` on, until the stream breaks.

        Raises ``EtcdCompacted`` when ``start_revision`` is no longer kept and
        ``EtcdUnavailable`` when the stream cannot start or ends; the caller resumes.
        """
        body = {
            "create_request": {
                "key": _b64(prefix),
                "range_end": _b64(prefix_end(prefix)),
                "start_revision": str(start_revision),
                "prev_kv": True,
            }
        }
        endpoint = self.endpoints[self._current]
        # No read timeout: a quiet cluster sends nothing for as long as nothing changes.
        with httpx.Client(timeout=httpx.Timeout(None, connect=3.0), **self._tls) as http:
            try:
                with http.stream("POST", endpoint + "/v3/watch", content=orjson.dumps(body)) as response:
                    stream = response.extensions.get("network_stream")
                    self._watch_socket = stream.get_extra_info("socket") if stream is not None else None
                    if self._closed:  # close() ran before the socket was there to shut down
                        return
                    if response.status_code != 200:
                        raise EtcdUnavailable(f"watch on {endpoint}: HTTP {response.status_code}")
                    # Split on b"\n" only: iter_lines also splits on U+2028 and its kin, which JSON carries raw.
                    for line in ndjson_lines(response.iter_bytes()):
                        if not line:
                            continue
                        data = orjson.loads(line)
                        if "error" in data:
                            raise EtcdUnavailable(f"watch on {endpoint}: {data['error']}")
                        result = data.get("result", {})
                        if "compact_revision" in result:
                            raise EtcdCompacted(int(result["compact_revision"]))
                        if result.get("canceled"):
                            raise EtcdUnavailable(
                                f"watch on {endpoint} canceled: {result.get('cancel_reason', '')}"
                            )
                        events = [
                            WatchEvent(
                                "DELETE" if ev.get("type") == "DELETE" else "PUT",
                                _kv(ev["kv"]),
                                _kv(ev["prev_kv"]) if "prev_kv" in ev else None,
                            )
                            for ev in result.get("events", [])
                        ]
                        if events:
                            yield events
            except httpx.HTTPError as exc:
                # Move to the next endpoint for the resumed watch.
                self._current = (self._current + 1) % len(self.endpoints)
                raise EtcdUnavailable(f"watch on {endpoint}: {exc!r}") from exc
        if self._closed:
            return
        raise EtcdUnavailable(f"watch on {endpoint} ended")

    def stop_watch(self) -> None:
        """End a running ``watch_prefix`` from another thread (shutdown wakes its blocked read)."""
        sock, self._watch_socket = self._watch_socket, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._closed = True
        self.stop_watch()
        self._http.close()
