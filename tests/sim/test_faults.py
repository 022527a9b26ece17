"""Transport-level faults and unparseable bodies, as the real SDKs experience them."""

from __future__ import annotations

import json
import time

import anthropic
import openai
import pytest

from riprap.sim import Reply, Scenario, Simulator

MESSAGES: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Hello, sim."}]


def _claude(client: anthropic.Anthropic, timeout: float | None = None) -> anthropic.types.Message:
    return client.messages.create(
        model="claude-test",
        max_tokens=64,
        messages=MESSAGES,
        timeout=timeout if timeout is not None else anthropic.NOT_GIVEN,
    )


def _gpt(client: openai.OpenAI) -> object:
    return client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "Hello, sim."}]
    )


@pytest.mark.parametrize("mode", ["reset", "close"])
def test_disconnect_is_connection_error(
    sim: Simulator, claude: anthropic.Anthropic, gpt: openai.OpenAI, mode: str
) -> None:
    """A reset or a clean close with no response raises APIConnectionError, not a timeout."""
    sim.script(*[Reply(disconnect=mode)] * 2)  # type: ignore[arg-type]
    with pytest.raises(anthropic.APIConnectionError) as a_caught:
        _claude(claude)
    with pytest.raises(openai.APIConnectionError) as o_caught:
        _gpt(gpt)
    assert not isinstance(a_caught.value, anthropic.APITimeoutError)
    assert not isinstance(o_caught.value, openai.APITimeoutError)
    assert _claude(claude).type == "message"  # the next request on a fresh connection works


def test_hang_times_out_quickly() -> None:
    """A hung request raises APITimeoutError at the client's timeout, and the server lets go."""
    with Simulator() as sim:
        with anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client:
            sim.script(Reply(hang=True))
            start = time.monotonic()
            with pytest.raises(anthropic.APITimeoutError):
                _claude(client, timeout=0.3)
            assert 0.3 <= time.monotonic() - start < 1.0
        deadline = time.monotonic() + 2.0
        while sim.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sim.open_connections == 0


def test_delay_is_observed(sim: Simulator, gpt: openai.OpenAI) -> None:
    """Reply.delay holds the response back by at least that long."""
    sim.script(Reply(delay=0.2))
    start = time.monotonic()
    _gpt(gpt)
    assert time.monotonic() - start >= 0.2


def test_delay_past_timeout_times_out(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """A delay longer than the client's timeout is a timeout, not a late success."""
    sim.script(Reply(delay=2.0))
    with pytest.raises(anthropic.APITimeoutError):
        _claude(claude, timeout=0.2)


# Wire fact for the classifier: a 200 whose JSON body does not parse is NOT wrapped by either
# SDK. `response.json()` raises json.JSONDecodeError (a ValueError) straight out of
# `messages.create` / `chat.completions.create`; it is not an APIError, let alone an
# APIResponseValidationError (which only strict-validation clients raise, for bad shapes).
def test_bad_json_200_raises_json_decode_error(
    sim: Simulator, claude: anthropic.Anthropic, gpt: openai.OpenAI
) -> None:
    """A 200 with a body that is not JSON raises json.JSONDecodeError from both SDKs."""
    sim.scenario = Scenario(fault_rate=1.0, faults={"bad_json": 1})
    with pytest.raises(json.JSONDecodeError):
        _claude(claude)
    with pytest.raises(json.JSONDecodeError):
        _gpt(gpt)
    sim.script(Reply(body="{not json"))
    with pytest.raises(json.JSONDecodeError):
        _claude(claude)


# Wire fact for the classifier: a 200 with a non-JSON content type (an HTML page from a proxy)
# raises nothing in non-strict clients (the default): the SDK returns the body as a `str`.
def test_html_200_returns_str(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """A 200 text/html page comes back from the SDK as a plain str instead of a Message."""
    sim.script(Reply(body="<html>ok</html>", content_type="text/html"))
    result: object = _claude(claude)
    assert result == "<html>ok</html>"


def test_html_502_is_status_error_with_text_body(
    sim: Simulator, claude: anthropic.Anthropic, gpt: openai.OpenAI
) -> None:
    """A proxy's HTML 502 is an InternalServerError whose body is the raw text."""
    page = "<html>502 Bad Gateway</html>"
    sim.script(*[Reply(status=502, body=page, content_type="text/html")] * 2)
    with pytest.raises(anthropic.InternalServerError) as a_caught:
        _claude(claude)
    with pytest.raises(openai.InternalServerError) as o_caught:
        _gpt(gpt)
    assert a_caught.value.body == o_caught.value.body == page
    assert a_caught.value.type is None
    assert o_caught.value.code is None


def _outcomes(sim: Simulator, count: int) -> list[str]:
    outcomes = []
    with anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client:
        for _ in range(count):
            try:
                _claude(client)
            except anthropic.APIStatusError as err:
                outcomes.append(str(err.status_code))
            except (anthropic.APIConnectionError, json.JSONDecodeError) as err:
                outcomes.append(type(err).__name__)
            else:
                outcomes.append("ok")
    return outcomes


def test_seeded_scenario_reproduces_across_simulators() -> None:
    """Two simulators with one seeded scenario inject the same faults into the same calls."""
    scenario = Scenario(
        seed=7,
        fault_rate=0.5,
        faults={529: 1, 500: 1, 429: 1, "reset": 1, "close": 1, "bad_json": 1},
        latency=(0.0, 0.002),
    )
    runs = []
    for _ in range(2):
        with Simulator(scenario=scenario) as sim:
            runs.append((_outcomes(sim, 40), [r.reply for r in sim.requests]))
    assert runs[0] == runs[1]
    outcomes = runs[0][0]
    assert {"ok", "529", "500", "429", "APIConnectionError", "JSONDecodeError"} <= set(outcomes)


def test_scenario_retry_after(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """A scenario's retry_after is sent on its 529s."""
    sim.scenario = Scenario(fault_rate=1.0, faults={529: 1}, retry_after=3)
    with pytest.raises(anthropic.OverloadedError) as caught:
        _claude(claude)
    assert caught.value.response.headers["retry-after"] == "3"


def test_script_takes_precedence_over_scenario(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """Scripted replies are consumed first; the scenario decides once the queue is empty."""
    sim.scenario = Scenario(fault_rate=1.0, faults={503: 1})
    sim.script(Reply(), Reply(status=529))
    assert _claude(claude).type == "message"
    with pytest.raises(anthropic.OverloadedError):
        _claude(claude)
    with pytest.raises(anthropic.ServiceUnavailableError):
        _claude(claude)
    assert sim.pending == 0
