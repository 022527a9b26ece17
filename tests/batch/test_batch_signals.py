"""Ctrl-C on a running batch: in-flight items finish, the rest stay for the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from batch_support import id_counts, write_input

if TYPE_CHECKING:
    from pathlib import Path

#: Every reply takes 0.3 s: with 2 in flight, 16 items take 2.4 s, so Ctrl-C lands mid-run.
SLOW = "latency = [0.3, 0.3]\n"


def _command(tmp_path: Path) -> list[str]:
    return [sys.executable, "-m", "riprap", "batch", str(tmp_path / "in.jsonl"), "-o",
            str(tmp_path / "out.jsonl"), "--provider", "sim", "--scenario",
            str(tmp_path / "slow.toml"), "--concurrency", "2", "--progress", "plain",
            "--progress-interval", "60"]  # fmt: skip


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def test_sigint_finishes_in_flight_items_exits_130_and_resumes(tmp_path: Path) -> None:
    """SIGINT: exit 130 with a summary; the re-run finishes the rest, each id once."""
    ids = write_input(tmp_path / "in.jsonl", 16)
    (tmp_path / "slow.toml").write_text(SLOW)
    out = tmp_path / "out.jsonl"
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        _command(tmp_path), stderr=subprocess.PIPE, text=True, env={**os.environ}
    )
    deadline = time.monotonic() + 30
    while _lines(out) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "signal SIGINT: taking no new items" in err
    assert "riprap batch: interrupted" in err
    assert "re-run the same command" in err
    written = _lines(out)
    assert 2 <= written < 16
    # Every line is whole and each id is there at most once.
    assert set(id_counts(out).values()) == {1}
    rerun = subprocess.run(  # noqa: S603 - as above
        _command(tmp_path), capture_output=True, text=True, timeout=60, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    assert id_counts(out) == dict.fromkeys(ids, 1)
    assert f"finished earlier    {written}" in rerun.stderr
