"""`riprap bench` from the command line: bad input, and a quick run end to end."""

from __future__ import annotations

import re

import pytest

from riprap._bench._cli import CONTENDER_KEYS
from riprap._bench._contenders import CONTENDERS
from riprap.cli import main
from riprap.sim import scenario_names


def test_an_unknown_scenario_is_named_with_the_shipped_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad name exits 2 with one line naming it and the choices, before any run."""
    assert main(["bench", "--scenario", "flaky", "--scenario", "nope"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--scenario 'nope'" in captured.err
    assert "rate-limited" in captured.err
    assert "Traceback" not in captured.err


def test_a_missing_scenario_file_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    """A path that does not exist exits 2 naming the path."""
    assert main(["bench", "--scenario", "/nonexistent/x.toml"]) == 2
    assert "/nonexistent/x.toml: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--calls", "0"], "'0' is not >= 1"),
        (["--calls", "many"], "'many' is not an integer"),
        (["--provider", "cohere"], "invalid choice: 'cohere'"),
        (["--seed", "x"], "invalid int value: 'x'"),
        (["--contender", "langchain"], "invalid choice: 'langchain'"),
    ],
)
def test_bad_flags_exit_2_naming_the_value(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Argparse refuses each bad value with a usage line, not a traceback."""
    with pytest.raises(SystemExit) as exit_:
        main(["bench", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_every_contender_can_be_chosen_by_its_key() -> None:
    """--contender's choices are the contenders' keys, in the table's order."""
    assert tuple(c.key for c in CONTENDERS) == CONTENDER_KEYS


def _rows(out: str, scenario: str) -> dict[str, str]:
    """The table rows of `scenario` in the output, by contender label."""
    block = out.split(f"### {scenario}\n", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("| ")][1:]
    return {r.split("|")[1].strip(): r for r in rows}


def _done(row: str) -> tuple[int, int]:
    """(answered, calls) of a row."""
    found = re.search(r"\| (\d+)/(\d+) \(", row)
    assert found is not None, row
    return int(found.group(1)), int(found.group(2))


def test_quick_runs_every_shipped_scenario_against_every_contender(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--quick prints a table per scenario with a row per contender, and sane counts."""
    assert main(["bench", "--quick"]) == 0
    out = capsys.readouterr().out
    for name in scenario_names():
        rows = _rows(out, name)
        assert len(rows) == 6, name
        litellm = rows["LiteLLM Router (defaults)"]
        assert "not installed" in litellm or "%" in litellm
        for label in ("riprap.wrap (defaults)", "bare SDK, default retries"):
            ok, calls = _done(rows[label])
            assert 0 <= ok <= calls, (name, label)
    # Flaky's seed faults 7 of requests 0..39: without retries exactly those calls fail;
    # riprap answers them all, and so it does every broken stream (resumed or retried).
    flaky = _rows(out, "flaky")
    assert _done(flaky["bare SDK, no retries"]) == (33, 40)
    assert _done(flaky["riprap.wrap (defaults)"]) == (40, 40)
    assert _done(_rows(out, "broken-streams")["riprap.wrap (defaults)"]) == (40, 40)
    # Without retries, a rate limit refuses calls past the burst of 10 (a few more may
    # get in as the bucket refills at 1.8/s while they are sent).
    ok, calls = _done(_rows(out, "rate-limited")["bare SDK, no retries"])
    assert 10 <= ok < calls
    # The fallback row runs only where the workload's model is down.
    fallback = "riprap.wrap, fallbacks=[default model]"
    assert "n/a: no model is down" in _rows(out, "flaky")[fallback]
    assert _done(_rows(out, "outage")[fallback]) == (40, 40)
