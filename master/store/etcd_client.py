"""A small client of etcd v3's HTTP/JSON gateway (``/v3/kv/*``, ``/v3/watch``) over httpx.

Why the gateway and httpx rather than a gRPC library: the project already depends on
httpx, the gateway needs no protobuf (``etcd3`` 0.12 breaks on protobuf >= 4), and the
store interface is synchronous, which a blocking httpx client fits with no second
event loop (``aetcd`` is asyncio-only). etcd 3.4 serves the gateway on its client port.

Only what the store needs: range over a prefix, a transaction of one compare and one
request per branch, compaction, and a watch that yields batches of events. Keys and
values are bytes (base64 on the wire); revisions are ints (decimal strings on the wire).

Several endpoints (the members of one cluster) may be given. Every request has a timeout
(``timeout_s``), and a request moves on to the next member when it cannot connect, when
it gets no answer in time (a hung or cut-off member keeps the TCP connection open and
says nothing: without the timeout the client stayed on it), or when a member answers 5xx
or "no leader"; the member that answered becomes the one asked first. A request that
was sent and not answered may still have been applied, so a result says so
(``TxnResult.ambiguous``) and the caller checks what it finds (``EtcdStore``). A member
found hung also ends the watch that reads from it, so the watch resumes elsewhere at once.

When a request finds no member able to serve it (etcd without quorum, every member
unreachable), the client fails fast until etcd answers again: one request at a time
probes etcd (the first after ``retry_after_s``) and the others raise ``EtcdUnavailable``
at once, naming the cause. Each request otherwise waits out every member's timeout; with
two of three masters gone a master's writer threads were all held that long, writes
queued behind them, and a client got no answer at all within a minute instead of a 503.
Nothing is sent by a request refused so: it cannot have been applied.

The watch asks etcd for progress notifications (``progress_notify``: an empty response every
``--experimental-watch-progress-notify-interval`` while nothing changes), so a healthy member
is never silent for long; a watch that has heard nothing for ``watch_deadline_s`` is taken
for one on a hung member and ends, and the caller resumes it from its last revision on the
next member. etcd's default interval is 10 min: run etcd with a shorter one (the lab and the
tests use 1 s), else an idle watch is merely re-made every deadline.

Exceptions: ``EtcdUnavailable`` (no endpoint answered: retry later), ``EtcdCompacted``
(a watch or compaction asked for a revision etcd no longer keeps), ``EtcdError``
(anything else etcd refused).
"""

from __future__ import annotations

import base64
import logging
import socket
import ssl
import threading
import time
from collections.abc import Generator, Sequence
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
    ambiguous: bool = False  # an earlier attempt was sent to a member that never answered: it may have applied
    fence_moved: bool = False  # failed because the fence key's mod_revision was not the one expected


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
        timeout_s: float = 5.0,
        watch_deadline_s: float = 10.0,
        retry_after_s: float = 1.0,
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
        self._watch_deadline_s = watch_deadline_s
        self._watch_socket: socket.socket | None = None
        self._watch_index: int | None = None  # the member the watch reads from, while it runs
        self._watch_avoid: int | None = None  # the member the last watch failed on
        self._closed = False
        self._retry_after_s = retry_after_s
        self._health = threading.Lock()
        self._down: str | None = None  # why the last request found no member able to serve it
        self._next_probe = 0.0  # monotonic; when a request may ask etcd again while down
        self._probing = False

    # -- requests ------------------------------------------------------------

    def _admit(self) -> bool:
        """Whether this request is the probe of an etcd found down; raises while another probe runs or too soon."""
        with self._health:
            if self._down is None:
                return False
            if self._probing or time.monotonic() < self._next_probe:
                raise EtcdUnavailable(f"{self._down} (not asked again until one request gets through)")
            self._probing = True
            return True

    def _answered(self, probe: bool) -> None:
        with self._health:
            self._down = None
            if probe:
                self._probing = False

    def _unanswered(self, probe: bool, why: str) -> None:
        with self._health:
            if self._down is None:
                log.warning("etcd is unavailable: %s", why)
            self._down = why
            self._next_probe = time.monotonic() + self._retry_after_s
            if probe:
                self._probing = False

    def _post(self, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """etcd's answer from the first member that gives one, and whether an earlier try may have applied."""
        probe = self._admit()
        try:
            data, ambiguous = self._post_once(path, body)
        except EtcdUnavailable as exc:
            self._unanswered(probe, str(exc))
            raise
        except EtcdError:
            self._answered(probe)  # a member answered, with a refusal or a compacted revision
            raise
        except BaseException:
            if probe:
                with self._health:
                    self._probing = False
            raise
        self._answered(probe)
        return data, ambiguous

    def _post_once(self, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        content = orjson.dumps(body)
        failures: list[str] = []
        ambiguous = False
        count = len(self.endpoints)
        start = self._current
        for attempt in range(count):
            index = (start + attempt) % count
            endpoint = self.endpoints[index]
            try:
                response = self._http.post(endpoint + path, content=content)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing was sent: the next member may take it without a double write.
                failures.append(f"{endpoint}: {exc!r}")
                continue
            except httpx.HTTPError as exc:
                # Sent, and no answer in time (a hung member, a cut connection): it may or may
                # not have happened there; the next member is asked and the caller told.
                failures.append(f"{endpoint}: {exc!r}")
                ambiguous = True
                self._member_failed(index)
                continue
            data: dict[str, Any] = orjson.loads(response.content) if response.content else {}
            if response.status_code != 200 or "error" in data:
                message = str(data.get("message") or data.get("error") or response.text)
                if "compacted" in message:
                    raise EtcdCompacted(0)
                if response.status_code >= 500 or "no leader" in message or "timed out" in message:
                    # This member cannot serve it now (no leader, a proposal that timed out):
                    # another may. Only "no leader" is known not to have been proposed at all.
                    failures.append(f"{endpoint}: {message}")
                    ambiguous = ambiguous or "no leader" not in message
                    self._member_failed(index)
                    continue
                raise EtcdError(message)
            self._current = index
            return data, ambiguous
        raise EtcdUnavailable(f"no etcd member answered {path}: {'; '.join(failures)}")

    def _member_failed(self, index: int) -> None:
        """A member did not answer in time: ask the next one first, and move the watch off it."""
        if self._current == index:
            self._current = (index + 1) % len(self.endpoints)
        if self._watch_index == index:
            self._watch_avoid = index
            self.stop_watch()

    def range_prefix(self, prefix: bytes) -> tuple[list[KeyValue], int]:
        """Every key under ``prefix`` and the revision they were read at."""
        data, _ = self._post("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))})
        return [_kv(kv) for kv in data.get("kvs", [])], int(data["header"]["revision"])

    def revision(self) -> int:
        """etcd's revision now: a linearizable count of one key, whose answer's header carries the store's revision.

        Linearizable (etcd's default for a range): the answer is at least as new as any write
        etcd acknowledged before it was asked, whichever member or client made it.
        """
        data, _ = self._post("/v3/kv/range", {"key": _b64(b"compact_rev_key"), "count_only": True})
        return int(data["header"]["revision"])

    def get(self, key: bytes) -> KeyValue | None:
        """One key as etcd has it now, or None."""
        data, _ = self._post("/v3/kv/range", {"key": _b64(key)})
        kvs = data.get("kvs", [])
        return _kv(kvs[0]) if kvs else None

    def txn(
        self,
        key: bytes,
        *,
        target: Target,
        equals: int,
        result: Literal["EQUAL", "GREATER"] = "EQUAL",
        put: bytes | None = None,
        delete: bool = False,
        fence: tuple[bytes, int] | None = None,
    ) -> TxnResult:
        """If ``target(key) <result> equals``: put ``put`` (or delete the key); else read the key.

        With ``fence`` (a key and a mod_revision), the fence key must also be at that
        mod_revision (0: absent), and a success puts it too, so it moves on.
        """
        if delete:
            success: list[dict[str, Any]] = [{"request_delete_range": {"key": _b64(key), "prev_kv": True}}]
        else:
            assert put is not None
            success = [{"request_put": {"key": _b64(key), "value": _b64(put)}}]
        compare = [{"target": target, "result": result, "key": _b64(key), _TARGET_FIELD[target]: str(equals)}]
        failure = [{"request_range": {"key": _b64(key)}}]
        if fence is not None:
            compare.append({"target": "MOD", "result": "EQUAL", "key": _b64(fence[0]), "mod_revision": str(fence[1])})
            success.append({"request_put": {"key": _b64(fence[0]), "value": ""}})
            failure.append({"request_range": {"key": _b64(fence[0])}})
        data, ambiguous = self._post("/v3/kv/txn", {"compare": compare, "success": success, "failure": failure})
        succeeded = bool(data.get("succeeded", False))
        # One response per request of the branch taken, in order: the key's first, then the fence's.
        responses = data.get("responses", [])
        kvs: list[KeyValue] = []
        if responses and "response_range" in responses[0]:
            kvs = [_kv(kv) for kv in responses[0]["response_range"].get("kvs", [])]
        elif responses and "response_delete_range" in responses[0]:
            kvs = [_kv(kv) for kv in responses[0]["response_delete_range"].get("prev_kvs", [])]
        fence_moved = False
        if fence is not None and not succeeded and len(responses) > 1:
            found = responses[1].get("response_range", {}).get("kvs", [])
            fence_moved = (int(found[0].get("mod_revision", 0)) if found else 0) != fence[1]
        return TxnResult(succeeded, int(data["header"]["revision"]), kvs, ambiguous, fence_moved)

    def compact(self, revision: int) -> None:
        """Forget the history before ``revision`` (already compacted further: no-op)."""
        try:
            self._post("/v3/kv/compaction", {"revision": str(revision)})
        except EtcdCompacted:
            pass

    # -- watch ---------------------------------------------------------------

    def watch_prefix(self, prefix: bytes, start_revision: int) -> Generator[list[WatchEvent], None, None]:
        """Batches of events under ``prefix`` from ``start_revision`` on, until the stream breaks.

        An empty ``prefix`` watches every key. Raises ``EtcdCompacted`` when ``start_revision``
        is no longer kept and ``EtcdUnavailable`` when the stream cannot start or ends; the
        caller resumes.
        """
        body = {
            "create_request": {
                "key": _b64(prefix or b"\0"),
                "range_end": _b64(prefix_end(prefix)),
                "start_revision": str(start_revision),
                "prev_kv": True,
                "progress_notify": True,
            }
        }
        index = self._current
        if index == self._watch_avoid:  # the member the last watch failed on: start on the next one
            index = (index + 1) % len(self.endpoints)
        endpoint = self.endpoints[index]
        self._watch_index = index
        # The read timeout is the silence deadline: progress notifications keep a live member talking.
        with httpx.Client(timeout=httpx.Timeout(None, connect=3.0, read=self._watch_deadline_s), **self._tls) as http:
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
                            self._watch_avoid = None
                            if self._down is not None:
                                # etcd commits writes and tells this client of them: whatever the
                                # last request met, etcd serves again, and the next request asks it
                                # rather than being refused until retry_after_s has passed.
                                self._answered(False)
                            yield events
            except httpx.ReadTimeout as exc:
                self._watch_avoid = index
                raise EtcdUnavailable(f"watch on {endpoint} silent for {self._watch_deadline_s:.0f} s") from exc
            except httpx.HTTPError as exc:
                # Resume on the next member.
                self._watch_avoid = index
                raise EtcdUnavailable(f"watch on {endpoint}: {exc!r}") from exc
            finally:
                self._watch_index = None
        if self._closed:
            return
        self._watch_avoid = index
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
