"""A fault-injecting fake of the Anthropic and OpenAI HTTP APIs, for driving the real SDKs.

Example:
    >>> with Simulator() as sim:  # doctest: +SKIP
    ...     sim.script(Reply(status=529), Reply())
    ...     client = anthropic.Anthropic(api_key="k", base_url=sim.base_url)
"""

try:
    import h11  # noqa: F401 -- probe the optional dependency before importing what needs it
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("riprap.sim needs the h11 HTTP library: pip install 'riprap[sim]'") from exc

from riprap.sim._limits import Bucket, RateLimits
from riprap.sim._outage import Outage
from riprap.sim._scenario_file import ScenarioFile, load_scenario, scenario_names
from riprap.sim._script import FaultKind, Reply, Scenario
from riprap.sim._server import RecordedRequest, Simulator
from riprap.sim._toml_check import ScenarioFileError
from riprap.sim._wire import (
    ANTHROPIC_SPEND_LIMIT_CODES,
    Provider,
    default_text,
    estimate_input_tokens,
    expected_text,
)

__all__ = [
    "ANTHROPIC_SPEND_LIMIT_CODES",
    "Bucket",
    "FaultKind",
    "Outage",
    "Provider",
    "RateLimits",
    "RecordedRequest",
    "Reply",
    "Scenario",
    "ScenarioFile",
    "ScenarioFileError",
    "Simulator",
    "default_text",
    "estimate_input_tokens",
    "expected_text",
    "load_scenario",
    "scenario_names",
]
