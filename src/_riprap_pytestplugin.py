"""riprap's pytest plugin: a fault-injecting Anthropic/OpenAI API for your own tests.

Installed with riprap (entry point ``pytest11``, name ``riprap``); turn it off with
``-p no:riprap``. It provides:

* the ``riprap_sim`` fixture: a `riprap.sim.Simulator` started on 127.0.0.1 for one test
  and closed after it. Point your client at ``riprap_sim.base_url`` (Anthropic) or
  ``riprap_sim.base_url + "/v1"`` (OpenAI); queue replies with ``riprap_sim.script(...)``;
  read what your code sent in ``riprap_sim.requests``.
* the ``riprap_scenario`` marker: ``@pytest.mark.riprap_scenario("flaky")`` starts the
  test's simulator with a shipped scenario or a scenario TOML file (a relative path is
  found next to the test module).

Example::

    from riprap.sim import Reply

    @pytest.mark.riprap_scenario("outage")
    def test_falls_back(riprap_sim):
        riprap_sim.script(Reply(status=529))
        ...

The simulator needs the ``sim`` extra (``pip install 'riprap[sim]'``); without it a test
that asks for the fixture errors with that hint, and every other test is untouched. This
module lives outside the riprap package and imports nothing of riprap's until a test
asks for the fixture, so a project that never uses it pays nothing at pytest's start.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from riprap.sim import ScenarioFile, Simulator

MARKER: Final = "riprap_scenario"
_INSTALL_HINT: Final = "pip install 'riprap[sim]'"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so ``--strict-markers`` projects accept it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(source): start the test's riprap_sim with a scenario: the name of a "
        "shipped one (riprap sim --list) or a TOML file (relative to the test module)",
    )


def _scenario_file(marker: pytest.Mark, test_dir: Path) -> ScenarioFile:
    """The scenario the marker names, loaded; a usage problem fails the test clearly."""
    from riprap.sim import ScenarioFileError, load_scenario  # noqa: PLC0415 - lazy by design

    if len(marker.args) != 1 or marker.kwargs:
        pytest.fail(
            f"@pytest.mark.{MARKER} takes one argument, a scenario name or file, "
            f"got args={marker.args!r} kwargs={marker.kwargs!r}",
            pytrace=False,
        )
    (source,) = marker.args
    if not isinstance(source, str | Path):
        pytest.fail(
            f"@pytest.mark.{MARKER} takes a scenario name or file path, got {source!r}",
            pytrace=False,
        )
    if isinstance(source, Path) or "/" in source or source.endswith(".toml"):
        source = test_dir / source  # an absolute path stays as it is
    try:
        return load_scenario(source)
    except ScenarioFileError as error:
        pytest.fail(f"@pytest.mark.{MARKER}: {error}", pytrace=False)


@pytest.fixture
def riprap_sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    """A `riprap.sim.Simulator` on 127.0.0.1 for this test, closed after it.

    Every request succeeds unless the test's ``riprap_scenario`` marker names a scenario,
    or the test scripts replies (``riprap_sim.script(Reply(status=529))``) or sets
    ``riprap_sim.scenario`` / ``riprap_sim.outages`` itself.
    """
    try:
        from riprap.sim import Simulator  # noqa: PLC0415 - lazy by design
    except ImportError as error:
        pytest.fail(
            f"the riprap_sim fixture needs riprap's simulator: {_INSTALL_HINT} ({error})",
            pytrace=False,
        )
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        simulator = Simulator()
    else:
        simulator = _scenario_file(marker, request.path.parent).simulator()
    with simulator:
        yield simulator
