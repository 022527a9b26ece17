"""`riprap batch` end to end against the embedded simulator (small item counts)."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from batch_support import id_counts, records, write_input

from riprap.cli import main

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

#: Transient faults with short backoffs, so retried items finish quickly.
FLAKY = """
seed = 3
fault_rate = 0.2
faults = { 500 = 1, reset = 1 }
latency = [0.0, 0.005]
"""


def _scenario(tmp_path: Path, text: str = FLAKY) -> str:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return str(path)


def _batch(tmp_path: Path, *extra: str, scenario: str | None = None) -> int:
    args = ["batch", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"),
            "--provider", "sim", "--progress", "off"]  # fmt: skip
    if scenario is not None:
        args += ["--scenario", scenario]
    return main([*args, *extra])


def test_every_id_once_and_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """20 items through 20 % transient faults: all succeed, each id once, exit 0."""
    ids = write_input(tmp_path / "in.jsonl", 20)
    assert _batch(tmp_path, scenario=_scenario(tmp_path)) == 0
    assert id_counts(tmp_path / "out.jsonl") == dict.fromkeys(ids, 1)
    assert {r["status"] for r in records(tmp_path / "out.jsonl")} == {"ok"}
    err = capsys.readouterr().err
    assert "riprap batch: summary" in err
    assert "succeeded           20" in err


def test_rerunning_a_finished_job_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same command again finds every item finished and leaves the output alone."""
    write_input(tmp_path / "in.jsonl", 5)
    assert _batch(tmp_path) == 0
    before = (tmp_path / "out.jsonl").read_bytes()
    capsys.readouterr()
    assert _batch(tmp_path, "--resume") == 0
    assert (tmp_path / "out.jsonl").read_bytes() == before
    assert "all 5 items are already finished" in capsys.readouterr().err


def test_permanent_failures_are_in_the_output_and_exit_1(tmp_path: Path) -> None:
    """A 400 is not retried: the item's record holds kind, message and request ids."""
    write_input(tmp_path / "in.jsonl", 3)
    scenario = _scenario(tmp_path, "fault_rate = 1.0\nfaults = { 400 = 1 }\n")
    assert _batch(tmp_path, scenario=scenario) == 1
    (first, *_) = records(tmp_path / "out.jsonl")
    assert first["status"] == "failed"
    assert first["error"]["kind"] == "invalid_request"
    assert first["error"]["status"] == 400
    assert first["attempts"] == 1
    assert first["request_ids"] == [first["request_ids"][0]]
    assert first["request_ids"][0].startswith("req_sim_")


def test_input_errors_are_listed_by_line_and_nothing_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every bad line is reported, exit 2, and no output or journal is left behind."""
    write_input(tmp_path / "in.jsonl", 3)
    with (tmp_path / "in.jsonl").open("a") as handle:
        handle.write("{oops\n")
        handle.write(json.dumps({"id": "item-0", "request": {"model": "m", "max_tokens": 1,
                     "messages": [{"role": "user", "content": "x"}]}}) + "\n")  # fmt: skip
    assert _batch(tmp_path) == 2
    err = capsys.readouterr().err
    assert "2 input line(s) cannot be sent; nothing was sent" in err
    assert "line 4: not valid JSON" in err
    assert "line 5: duplicate id 'item-0' (first at line 1)" in err
    assert not (tmp_path / "out.jsonl.journal").exists()
    assert (tmp_path / "out.jsonl").exists() is False


def test_skip_invalid_records_bad_lines_as_invalid(tmp_path: Path) -> None:
    """With --skip-invalid the good items run and the bad line is an invalid record."""
    write_input(tmp_path / "in.jsonl", 2)
    with (tmp_path / "in.jsonl").open("a") as handle:
        handle.write('{"id": "bad", "request": {"messages": []}}\n')
    assert _batch(tmp_path, "--skip-invalid") == 0
    by_id = {r["id"]: r for r in records(tmp_path / "out.jsonl")}
    assert by_id["bad"]["status"] == "invalid"
    assert by_id["bad"]["line"] == 3
    assert by_id["bad"]["error"]["message"].startswith('"request.model" must be')
    assert [by_id[i]["status"] for i in ("item-0", "item-1")] == ["ok", "ok"]


def test_missing_api_key_fails_fast_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--provider anthropic without ANTHROPIC_API_KEY: exit 2, the variable named."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    write_input(tmp_path / "in.jsonl", 1)
    args = ["batch", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"),
            "--provider", "anthropic"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "set the ANTHROPIC_API_KEY environment variable" in err
    assert not (tmp_path / "out.jsonl").exists()


def test_another_input_for_the_same_journal_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The journal knows its input's hash; a changed input is refused, not mixed in."""
    write_input(tmp_path / "in.jsonl", 2)
    assert _batch(tmp_path) == 0
    write_input(tmp_path / "in.jsonl", 3)
    assert _batch(tmp_path) == 2
    assert "belongs to another input" in capsys.readouterr().err


def test_resume_after_a_crash_reruns_exactly_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lines lost after the journal marked them, a torn tail and claimed rows: each id once."""
    ids = write_input(tmp_path / "in.jsonl", 10)
    assert _batch(tmp_path) == 0
    out = tmp_path / "out.jsonl"
    kept = out.read_bytes().splitlines(keepends=True)
    # The crash: the last five lines never reached the disk (the first of them torn),
    # and the journal had one of those items claimed, the other four marked done.
    out.write_bytes(b"".join(kept[:5]) + kept[5][:7])
    claimed = json.loads(kept[9])["line"]
    with sqlite3.connect(tmp_path / "out.jsonl.journal") as db:
        db.execute("UPDATE items SET state = 'claimed' WHERE line = ?", (claimed,))
    capsys.readouterr()
    assert _batch(tmp_path) == 0
    assert id_counts(out) == dict.fromkeys(ids, 1)
    err = capsys.readouterr().err
    assert "cut a torn last output line (7 bytes)" in err
    assert "4 item(s) missing from the output will run again" in err
    assert "1 item(s) cut off by the last run will run again" in err
    assert "finished earlier    5" in err


def test_an_output_in_a_missing_directory_or_a_directory_is_refused_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The error names the flag and the path (not a lock file), before anything runs."""
    write_input(tmp_path / "in.jsonl", 1)
    base = ["batch", str(tmp_path / "in.jsonl"), "--provider", "sim", "--progress", "off"]
    missing = tmp_path / "nowhere" / "out.jsonl"
    assert main([*base, "-o", str(missing)]) == 2
    assert f"-o {missing}: its directory {missing.parent} does not exist" in capsys.readouterr().err
    assert main([*base, "-o", str(tmp_path)]) == 2
    assert f"-o {tmp_path}: is a directory" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()
