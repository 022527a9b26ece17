"""The sample app's error handling, tested against riprap's simulator (the pytest plugin)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anthropic
import pytest
from sample_app import PRIMARY, SECONDARY, UNAVAILABLE, SetupError, summarise

from riprap.sim import Reply

if TYPE_CHECKING:
    from collections.abc import Iterator

    from riprap.sim import Simulator


@pytest.fixture
def client(riprap_sim: Simulator) -> Iterator[anthropic.Anthropic]:
    """The app's client on the simulator; SDK retries off, so each fault is seen once."""
    with anthropic.Anthropic(api_key="k", base_url=riprap_sim.base_url, max_retries=0) as c:
        yield c


def test_a_healthy_api_gives_the_summary(
    riprap_sim: Simulator, client: anthropic.Anthropic
) -> None:
    """One request to the primary model, and its text comes back."""
    riprap_sim.script(Reply(text="A short summary."))
    assert summarise(client, "a long text") == "A short summary."
    (request,) = riprap_sim.requests
    assert isinstance(request.body, dict)
    assert request.body["model"] == PRIMARY


def test_overload_falls_back_to_the_smaller_model(
    riprap_sim: Simulator, client: anthropic.Anthropic
) -> None:
    """A 529 on the primary sends the same question to the secondary."""
    riprap_sim.script(Reply(status=529), Reply(text="From the small model."))
    assert summarise(client, "a long text") == "From the small model."
    models = [r.body["model"] for r in riprap_sim.requests if isinstance(r.body, dict)]
    assert models == [PRIMARY, SECONDARY]


@pytest.mark.riprap_scenario("outage")
def test_the_shipped_outage_scenario_is_survived(
    riprap_sim: Simulator, client: anthropic.Anthropic
) -> None:
    """While the primary is down (shipped `outage` scenario), answers come from the secondary."""
    assert summarise(client, "a long text") != UNAVAILABLE
    assert [r.reply.status for r in riprap_sim.requests] == [529, 200]


@pytest.mark.parametrize("fault", [Reply(status=500), Reply(status=429), Reply(disconnect="reset")])
def test_transient_faults_give_the_placeholder(
    riprap_sim: Simulator, client: anthropic.Anthropic, fault: Reply
) -> None:
    """A 500, a 429 or a dropped connection gives the placeholder, not an exception."""
    riprap_sim.script(fault)
    assert summarise(client, "a long text") == UNAVAILABLE


def test_a_refused_key_is_a_setup_error(riprap_sim: Simulator, client: anthropic.Anthropic) -> None:
    """A 401 is not retried or hidden: the app says its setup is wrong."""
    riprap_sim.script(Reply(status=401))
    with pytest.raises(SetupError):
        summarise(client, "a long text")
    assert len(riprap_sim.requests) == 1
