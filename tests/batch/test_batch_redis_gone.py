"""Redis going away in the middle of a shared run: one clear error, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from typing import TYPE_CHECKING

import pytest
from batch_support import write_input

from redis_server import _free_port, _wait_until_listening
from riprap.sim import Scenario, Simulator

if TYPE_CHECKING:
    from pathlib import Path


def test_redis_dying_mid_run_ends_with_one_error_and_no_traceback(tmp_path: Path) -> None:
    """Items in flight when Redis dies are not left to print asyncio tracebacks."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    write_input(tmp_path / "in.jsonl", 400)
    output = tmp_path / "out.jsonl"
    scenario = Scenario(seed=1, latency=(0.05, 0.1))
    with tempfile.TemporaryDirectory() as workdir, Simulator(scenario=scenario) as sim:
        redis = subprocess.Popen(  # noqa: S603 - a fixed binary with fixed arguments
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait_until_listening(port, redis, timeout=10.0)
            command = [sys.executable, "-m", "riprap", "batch", str(tmp_path / "in.jsonl"),
                       "-o", str(output), "--provider", "anthropic", "--base-url", sim.base_url,
                       "--redis", f"redis://127.0.0.1:{port}/0", "--job", uuid.uuid4().hex,
                       "--concurrency", "16", "--progress", "off"]  # fmt: skip
            env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-test-0000"}
            worker = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)  # noqa: S603
            until = time.monotonic() + 30
            while not (output.exists() and output.stat().st_size) and time.monotonic() < until:
                time.sleep(0.05)
        finally:
            redis.terminate()
            redis.wait(timeout=10)
        error = worker.communicate(timeout=60)[1]
    assert worker.returncode == 2, error
    assert "riprap batch: error: Redis: " in error, error
    assert "Traceback" not in error, error
