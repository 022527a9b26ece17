"""`riprap sim`'s arguments, listing and scenario description, in process."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from riprap.cli import main
from riprap.sim import load_scenario, scenario_names
from riprap.sim._describe import describe
from riprap.sim._scenario_file import parse_scenario


def test_list_prints_every_shipped_scenario_with_its_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--list` names each shipped scenario, then its description indented."""
    assert main(["sim", "--list"]) == 0
    out = capsys.readouterr().out
    names = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert tuple(names) == scenario_names()
    assert "About 1 request in 4 fails" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "argument --port: '70000' is not a port in 0..65535"),
        (["--port", "x"], "argument --port: 'x' is not an integer"),
        (["--host", "0.0.0.0"], "argument --host: invalid choice: '0.0.0.0'"),  # noqa: S104
    ],
)
def test_bad_arguments_are_refused_before_anything_listens(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A port out of range or a non-loopback host is a usage error naming the value."""
    with pytest.raises(SystemExit) as caught:
        main(["sim", *args])
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_an_unknown_scenario_name_lists_the_shipped_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A misspelt name exits 2 with one line listing what is shipped."""
    assert main(["sim", "--scenario", "flakey"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("riprap sim: error: flakey.toml: no shipped scenario named 'flakey'")
    assert err.count("\n") == 1


def test_help_does_not_import_the_simulator() -> None:
    """`riprap --help` stays light: the simulator is imported only when `sim` runs."""
    code = (
        "import sys; from riprap.cli import main\n"
        "try: main(['--help'])\n"
        "except SystemExit: pass\n"
        "assert 'riprap.sim' not in sys.modules, 'imported'\n"
    )
    done = subprocess.run(  # noqa: S603 -- our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "sim" in done.stdout


def test_describe_says_what_each_part_does() -> None:
    """The description lists the mix, per-model overrides, limits and outages in words."""
    loaded = parse_scenario(
        "seed = 3\nfault_rate = 0.25\nfaults = { 529 = 3, reset = 1 }\n"
        "latency = [0.01, 1.5]\nretry_after = 2\n"
        '[models."m"]\nfault_rate = 0\n'
        "[rate_limits]\nrequests = { per_minute = 50, burst = 5 }\nforeign = 0.1\n"
        '[[outages]]\nmodel = "m"\nstart = 5\nend = 20\nstatus = 529\n'
        "[[outages]]\nstart = 30\nfault_rate = 0.5\nfaults = { 500 = 1, reset = 1 }\n"
    )
    assert describe(loaded) == [
        (
            "seed 3: 25% faults (529 75%, reset 25%); latency 10 ms..1.5 s; "
            "retry-after 2 s on 429/503/529"
        ),
        "model m: no random faults; latency 10 ms..1.5 s",
        "rate limits per model: requests 50/min (burst 5); foreign traffic takes 10%",
        "outage: m from 5 s until 20 s: requests get 529",
        "outage: every model from 30 s never recovers: 50% of requests get 500 50%, reset 50%",
        "outage times count from the simulator's first request",
    ]


def test_describe_names_stream_fault_placement() -> None:
    """The broken-streams scenario's line says where stream faults hit and how long stalls last."""
    (line,) = describe(load_scenario("broken-streams"))
    assert "stream faults after 1..4 text deltas; stalls 3 s" in line


def test_a_port_in_use_is_one_line_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    """Another program on the port: exit 2 and one line, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["sim", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"riprap sim: error: cannot listen on 127.0.0.1:{port}: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
