"""Acceptance: programs in other languages (curl, node's fetch) drive `riprap sim`.

Each test starts `python -m riprap sim --port 0` as a subprocess, learns the port from the
line it prints, drives it with an external client and stops it with SIGINT (Ctrl-C).
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import IO, TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

CURL = shutil.which("curl")
NODE = shutil.which("node")
LISTENING = re.compile(r"^riprap sim: listening on (http://127\.0\.0\.1:\d+)$")
ANTHROPIC_HEADERS = (
    "x-api-key: k",
    "anthropic-version: 2023-06-01",
    "content-type: application/json",
)
#: Generous: a loaded CI box may take seconds to start Python and import riprap.
START_TIMEOUT = 30.0


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Move `stream`'s lines into `lines` until EOF (None), so the pipe never fills."""
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _read_url(lines: queue.Queue[str | None], seen: list[str]) -> str:
    """Take announcement lines into `seen` up to the `listening on` one; return its URL."""
    deadline = time.monotonic() + START_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if match := LISTENING.match(line):
            return match.group(1)
    pytest.fail(f"riprap sim did not announce its URL: {seen!r}")


@contextlib.contextmanager
def riprap_sim(*args: str) -> Iterator[tuple[str, list[str]]]:
    """Run `riprap sim ARGS --port 0`; yield its URL and announcement; stop it with Ctrl-C."""
    command = [sys.executable, "-m", "riprap", "sim", *args, "--port", "0"]
    with subprocess.Popen(  # noqa: S603 -- our own interpreter and arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
        reader.start()
        seen: list[str] = []
        try:
            yield _read_url(lines, seen), seen
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=START_TIMEOUT)
            reader.join(timeout=START_TIMEOUT)
        err = process.stderr.read()
        assert process.returncode == 0, err
        assert err == ""  # no traceback on Ctrl-C
        rest = []
        while (line := lines.get_nowait()) is not None:
            rest.append(line)
        assert re.fullmatch(r"riprap sim: stopped after \d+ requests", rest[-1])


def _curl(*args: str) -> tuple[int, dict[str, str], str]:
    """Run curl; return the status, the headers (lowercased names) and the body."""
    assert CURL is not None
    done = subprocess.run(  # noqa: S603 -- a fixed binary and our own arguments
        [CURL, "-sS", "-i", "--max-time", "30", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
    status_line, *header_lines = head.split("\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def _messages(url: str, model: str, *, stream: bool = False) -> tuple[int, dict[str, str], str]:
    body = {
        "model": model,
        "max_tokens": 32,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    }
    headers = [arg for h in ANTHROPIC_HEADERS for arg in ("-H", h)]
    return _curl(*headers, "-d", json.dumps(body), f"{url}/v1/messages")


def _chat(url: str, model: str) -> tuple[int, dict[str, str], str]:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    headers = ["-H", "authorization: Bearer k", "-H", "content-type: application/json"]
    return _curl(*headers, "-d", json.dumps(body), f"{url}/v1/chat/completions")


@pytest.mark.skipif(CURL is None, reason="curl is not on PATH")
def test_curl_drives_the_shipped_outage_scenario() -> None:
    """The primary models fail with their provider's error body; the others answer."""
    with riprap_sim("--scenario", "outage") as (url, lines):
        assert lines[0] == "riprap sim: scenario 'outage' (outage.toml)"
        status, headers, body = _messages(url, "claude-sonnet-4-6")
        assert status == 529
        error = json.loads(body)
        assert error["type"] == "error"
        assert error["error"]["type"] == "overloaded_error"
        assert error["request_id"] == headers["request-id"]
        status, _, body = _messages(url, "claude-haiku-4-5-20251001")
        assert status == 200
        assert json.loads(body)["type"] == "message"
        status, _, body = _chat(url, "gpt-4o")
        assert status == 503
        assert json.loads(body)["error"]["type"] == "server_error"
        status, _, body = _chat(url, "gpt-4o-mini")
        assert status == 200
        assert json.loads(body)["object"] == "chat.completion"


@pytest.mark.skipif(CURL is None, reason="curl is not on PATH")
def test_curl_meets_a_scenario_files_rate_limit_and_broken_stream(tmp_path: Path) -> None:
    """A TOML file's bucket refuses the 4th request with a 429; its stream fault cuts in."""
    scenario = tmp_path / "tight.toml"
    scenario.write_text(
        'description = "tight"\n'
        "fault_rate = 0\n"
        '[models."claude-streams"]\n'
        "fault_rate = 1\n"
        "faults = { stream_error = 1 }\n"
        "stream_fault_after = [2, 2]\n"
        "[rate_limits]\n"
        "requests = { per_minute = 1, burst = 3 }\n"
    )
    with riprap_sim("--scenario", str(scenario)) as (url, _):
        remaining = [
            _messages(url, "claude-x")[1]["anthropic-ratelimit-requests-remaining"]
            for _ in range(3)
        ]
        assert remaining == ["2", "1", "0"]
        status, headers, body = _messages(url, "claude-x")
        assert status == 429
        assert 50 <= int(headers["retry-after"]) <= 60  # one request a minute, bucket empty
        assert json.loads(body)["error"]["type"] == "rate_limit_error"
        assert _messages(url, "other-model")[0] == 200  # buckets are per model
        status, _, body = _messages(url, "claude-streams", stream=True)
        assert status == 200
        assert body.count("event: content_block_delta") == 2
        assert "event: error" in body
        assert "overloaded_error" in body
        assert "message_stop" not in body


NODE_SCRIPT = """
const url = process.argv[1];
const headers = {
  "x-api-key": "k", "anthropic-version": "2023-06-01", "content-type": "application/json",
};
async function call(model) {
  const body = JSON.stringify({model, max_tokens: 16, messages: [{role: "user", content: "hi"}]});
  const response = await fetch(url + "/v1/messages", {method: "POST", headers, body});
  return {status: response.status, retryAfter: response.headers.get("retry-after"),
          body: await response.json()};
}
(async () => {
  const results = [];
  for (const model of ["claude-sonnet-4-6", "claude-haiku-4-5-20251001"]) {
    results.push(await call(model));
  }
  console.log(JSON.stringify(results));
})();
"""


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_node_fetch_drives_the_shipped_outage_scenario() -> None:
    """Node's fetch sees the outage's 529 with Anthropic's error body, and a healthy model."""
    assert NODE is not None
    with riprap_sim("--scenario", "outage") as (url, _):
        done = subprocess.run(  # noqa: S603 -- a fixed binary and our own arguments
            [NODE, "-e", NODE_SCRIPT, url], capture_output=True, text=True, check=True, timeout=60
        )
    down, up = json.loads(done.stdout)
    assert down["status"] == 529
    assert down["body"]["error"]["type"] == "overloaded_error"
    assert up["status"] == 200
    assert up["body"]["content"][0]["type"] == "text"


def test_a_bad_scenario_file_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    """A bad file stops `riprap sim` before it listens, naming file, key path and value."""
    scenario = tmp_path / "flaky.toml"
    scenario.write_text('[models."claude-x"]\nfault_rate = 1.5\n')
    done = subprocess.run(  # noqa: S603 -- our own interpreter and arguments
        [sys.executable, "-m", "riprap", "sim", "--scenario", str(scenario)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f'riprap sim: error: {scenario}: models."claude-x".fault_rate: 1.5 is not in [0, 1]\n'
    )
