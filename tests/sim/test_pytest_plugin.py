"""The pytest plugin, as a user's project meets it: a fresh pytest run on a test file.

Each test writes a small test module to a temporary directory and runs pytest on it in a
subprocess (the plugin loads through its `pytest11` entry point, as in a user's project).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

USER_TESTS = """
import anthropic
import pytest

from riprap.sim import Reply


def _ask(base_url):
    client = anthropic.Anthropic(api_key="k", base_url=base_url, max_retries=0)
    with client:
        return client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
        )


def test_default_succeeds_and_records(riprap_sim):
    assert _ask(riprap_sim.base_url).type == "message"
    (request,) = riprap_sim.requests
    assert request.path == "/v1/messages"
    assert request.body["max_tokens"] == 16


def test_script(riprap_sim):
    riprap_sim.script(Reply(status=429, headers={"retry-after": "7"}))
    with pytest.raises(anthropic.RateLimitError) as caught:
        _ask(riprap_sim.base_url)
    assert caught.value.response.headers["retry-after"] == "7"
    assert _ask(riprap_sim.base_url).type == "message"


@pytest.mark.riprap_scenario("outage")
def test_shipped_scenario(riprap_sim):
    with pytest.raises(anthropic.InternalServerError) as caught:
        _ask(riprap_sim.base_url)
    assert caught.value.status_code == 529


@pytest.mark.riprap_scenario("scenarios/down.toml")
def test_scenario_file_next_to_the_test(riprap_sim):
    with pytest.raises(anthropic.InternalServerError) as caught:
        _ask(riprap_sim.base_url)
    assert caught.value.status_code == 503


@pytest.mark.riprap_scenario("flakey")
def test_misspelt_scenario(riprap_sim):
    pass


@pytest.mark.riprap_scenario("outage", seed=3)
def test_marker_misuse(riprap_sim):
    pass


def test_fresh_simulator_per_test(riprap_sim):
    assert riprap_sim.requests == ()
    assert riprap_sim.pending == 0
"""


def _pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run pytest on `directory` in a subprocess, with only the plugins it installs itself."""
    (directory / "pytest.ini").write_text(
        "[pytest]\naddopts = --strict-markers -p no:cacheprovider -p no:randomly\n"
        "filterwarnings = error\n"
    )
    return subprocess.run(  # noqa: S603 -- our own interpreter and arguments
        [sys.executable, "-m", "pytest", "-rA", "-q", str(directory), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=directory,
        # Wide, so the short summary lines are not cut at the terminal's width.
        env={**os.environ, "COLUMNS": "1000"},
    )


def test_a_users_tests_drive_the_fixture_marker_and_script(tmp_path: Path) -> None:
    """The fixture serves the real SDK; marker and script shape replies; misuse is named."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "down.toml").write_text("fault_rate = 1\nfaults = { 503 = 1 }\n")
    (tmp_path / "test_user_app.py").write_text(USER_TESTS)
    done = _pytest(tmp_path)
    out = done.stdout
    for name in (
        "default_succeeds_and_records",
        "script",
        "shipped_scenario",
        "scenario_file_next_to_the_test",
        "fresh_simulator_per_test",
    ):
        assert f"PASSED test_user_app.py::test_{name}\n" in out, out
    assert (
        "ERROR test_user_app.py::test_misspelt_scenario - Failed: "
        "@pytest.mark.riprap_scenario: flakey.toml: no shipped scenario named 'flakey'"
    ) in out
    assert (
        "ERROR test_user_app.py::test_marker_misuse - Failed: "
        "@pytest.mark.riprap_scenario takes one argument"
    ) in out
    assert "5 passed, 2 errors" in out
    assert done.returncode == 1


def test_without_the_sim_extra_only_the_fixture_errors(tmp_path: Path) -> None:
    """Without h11, a test using the fixture errors with the install hint; others pass."""
    (tmp_path / "conftest.py").write_text(
        "import sys\nsys.modules['h11'] = None  # as if riprap[sim] were not installed\n"
    )
    (tmp_path / "test_no_extra.py").write_text(
        textwrap.dedent(
            """
            def test_plain():
                assert True

            def test_uses_sim(riprap_sim):
                pass
            """
        )
    )
    done = _pytest(tmp_path)
    assert "PASSED test_no_extra.py::test_plain" in done.stdout
    assert (
        "ERROR test_no_extra.py::test_uses_sim - Failed: the riprap_sim fixture needs "
        "riprap's simulator: pip install 'riprap[sim]'"
    ) in done.stdout
    assert "Traceback" not in done.stdout


def test_loading_the_plugin_imports_no_simulator_or_sdk() -> None:
    """Importing the plugin (as pytest does at startup) imports nothing of riprap's."""
    code = (
        "import sys, _riprap_pytestplugin\n"
        "heavy = [m for m in ('riprap', 'h11', 'anthropic', 'openai') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(  # noqa: S603 -- our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_the_entry_point_names_the_plugin() -> None:
    """Pytest finds the plugin through the `pytest11` entry point named `riprap`."""
    from importlib.metadata import entry_points  # noqa: PLC0415

    (point,) = entry_points(group="pytest11", name="riprap")
    assert point.value == "_riprap_pytestplugin"
