"""The etcd client fails fast while etcd cannot serve: one probe at a time, the other requests
refused at once naming the cause, and all well again as soon as etcd answers (real etcd, SIGSTOPped)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from master.store.etcd_client import EtcdClient, EtcdUnavailable
from tests.support.etcd_process import EtcdProcess


def test_requests_fail_at_once_while_etcd_cannot_serve_and_resume_when_it_answers(tmp_path: Path) -> None:
    etcd = EtcdProcess(tmp_path / "etcd").start()
    client = EtcdClient([etcd.url], timeout_s=1.0, retry_after_s=1.5)
    try:
        client.get(b"/k")
        os.kill(etcd.pid, signal.SIGSTOP)  # a member that keeps its sockets and answers nothing
        try:
            with pytest.raises(EtcdUnavailable):
                client.get(b"/k")  # waits out the timeout: nobody knows yet
            waits: list[float] = []
            errors: list[str] = []

            def one() -> None:
                began = time.monotonic()
                try:
                    client.get(b"/k")
                except EtcdUnavailable as exc:
                    errors.append(str(exc))
                waits.append(time.monotonic() - began)

            threads = [threading.Thread(target=one) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            assert len(errors) == 8 and max(waits) < 0.5, waits  # none waited for etcd's timeout
            assert all("no etcd member answered" in e and etcd.url in e for e in errors), errors[0]
            time.sleep(1.6)
            probe_began = time.monotonic()
            with pytest.raises(EtcdUnavailable):
                client.get(b"/k")  # the probe after retry_after_s asks etcd again (and waits)
            assert time.monotonic() - probe_began >= 0.9
        finally:
            os.kill(etcd.pid, signal.SIGCONT)
        time.sleep(1.6)
        assert client.get(b"/k") is None  # etcd answers: the probe gets through
        started = time.monotonic()
        assert client.get(b"/k") is None and time.monotonic() - started < 0.5
    finally:
        client.close()
        etcd.stop()
