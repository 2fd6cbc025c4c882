"""RestoreSession: batches through one long-lived restore process (a real process: a stand-in program)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from net.iptables_runner import IptablesError, RestoreSession

FAKE = Path(__file__).with_name("fake_iptables_restore.py")


def session(tmp_path: Path, *, timeout: float = 10.0) -> tuple[RestoreSession, Path]:
    log = tmp_path / "applied.log"
    return RestoreSession([sys.executable, str(FAKE), str(log)], timeout=timeout), log


def starts(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("start ")]


def test_batches_share_one_process_and_each_returns_once_applied(tmp_path: Path) -> None:
    restore, log = session(tmp_path)
    try:
        restore.apply("*nat\n:KT-A - [0:0]\nCOMMIT\n")
        # The first batch's marker left INPUT's rule listing behind; it must not end this one early.
        restore.apply("*nat\n:KT-B - [0:0]\nCOMMIT\n")
        applied = log.read_text()
    finally:
        restore.close()
    assert len(starts(log)) == 1
    assert applied.index(":KT-A") < applied.index(":KT-B")
    assert applied.count("-S INPUT") == 2  # every batch was followed by its marker


def test_a_batch_larger_than_a_pipe_buffer_goes_through(tmp_path: Path) -> None:
    restore, log = session(tmp_path)
    rules = "".join(f"-A KT-SVC-X -d 10.96.{i // 250}.{i % 250}/32 -j KT-SEP-X\n" for i in range(20_000))
    try:
        restore.apply(f"*nat\n:KT-SVC-X - [0:0]\n{rules}COMMIT\n")
    finally:
        restore.close()
    assert log.read_text().count("-A KT-SVC-X") == 20_000


def test_a_failed_batch_raises_with_the_programs_message_and_the_next_starts_afresh(tmp_path: Path) -> None:
    restore, log = session(tmp_path)
    try:
        restore.apply("*nat\n:KT-A - [0:0]\nCOMMIT\n")
        with pytest.raises(IptablesError, match=r"line 8 failed.*count 6 lines of earlier batches"):
            restore.apply("*nat\n-A FAIL -j ACCEPT\nCOMMIT\n")
        restore.apply("*nat\n:KT-C - [0:0]\nCOMMIT\n")
    finally:
        restore.close()
    assert len(starts(log)) == 2
    assert ":KT-C" in log.read_text()


def test_a_stalled_process_is_killed_after_the_timeout(tmp_path: Path) -> None:
    restore, log = session(tmp_path, timeout=1.0)
    with pytest.raises(IptablesError, match="no answer within"):
        restore.apply("*nat\n# sleep\nCOMMIT\n")
    # A new process takes over. Its start may take more than the 1 s above on a loaded machine
    # (failed once so): this batch is not about the timeout.
    restore.timeout = 30.0
    restore.apply("*nat\n:KT-D - [0:0]\nCOMMIT\n")
    restore.close()
    assert len(starts(log)) == 2
