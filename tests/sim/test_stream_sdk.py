"""Simulated streams as the real SDKs see them: every streaming entry point, sync and async.

Wire facts for riprap's stream classifier, as measured here (anthropic 2.12, openai 3.54,
httpx2 2.16):

=====================  ==================================  ===================================
fault                  anthropic (create/stream, s/a)      openai (create/stream, sync/async)
=====================  ==================================  ===================================
error event after k    ``APIStatusError``, status 200,     ``APIError`` (not a status error:
                       ``.type`` = the event's error type,  no ``status_code``), ``.type`` /
                       ``.body`` = the event JSON,          ``.code`` from the error object,
                       ``__cause__`` None                   ``.body`` = it, ``__cause__`` None
cut after k            ``httpx2.RemoteProtocolError`` (not  ``APIConnectionError``;
                       an SDK error), ``__cause__``         ``__cause__`` =
                       ``httpcore2.RemoteProtocolError``    ``httpx2.RemoteProtocolError``
stall, read timeout    ``httpx2.ReadTimeout`` (not an SDK   ``APITimeoutError``; ``__cause__``
                       error), ``__cause__``                = ``httpx2.ReadTimeout``
                       ``httpcore2.ReadTimeout``
truncated after k      nothing raised: iteration ends;      nothing raised: iteration ends;
                       helper's final message has           helper's final completion has
                       ``stop_reason`` None                 ``finish_reason`` None
=====================  ==================================  ===================================

In every case the caller has already received the first k text deltas. Also: the OpenAI
``chat.completions.stream()`` helper's ``get_final_completion()`` raises
``LengthFinishReasonError`` for a complete stream that stopped on ``finish_reason ==
"length"``, with or without a ``response_format``; ``create(stream=True)`` does not.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anthropic
import httpcore2
import httpx2
import openai
import pytest

from riprap.sim import Reply, Scenario, Simulator, expected_text
from riprap.sim._text import pieces

if TYPE_CHECKING:
    from collections.abc import Callable

# Any: one conversation serves both SDKs, whose message types differ.
MESSAGES: Any = [{"role": "user", "content": "Hello, sim."}]
FULL = expected_text(MESSAGES)
WORDS = pieces(FULL)


@dataclass
class Got:
    """What a caller saw from one stream: text deltas, stop reason, usage, error, final."""

    text: str = ""
    stop: str | None = None
    output_tokens: int | None = None
    error: Exception | None = None
    final: Any = None
    started: float | None = None  # monotonic time of the first event
    first_text: float | None = None  # monotonic time of the first text delta
    parts: list[str] = field(default_factory=list)

    def delta(self, text: str | None) -> None:
        """Record a text delta."""
        if text:
            self.first_text = self.first_text or time.monotonic()
            self.parts.append(text)
            self.text += text

    def anthropic(self, event: Any) -> None:
        """Record an Anthropic stream event."""
        self.started = self.started or time.monotonic()
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            self.delta(event.delta.text)
        elif event.type == "message_delta":
            self.stop, self.output_tokens = event.delta.stop_reason, event.usage.output_tokens

    def openai(self, chunk: Any) -> None:
        """Record an OpenAI chunk."""
        self.started = self.started or time.monotonic()
        for choice in chunk.choices:
            self.delta(choice.delta.content)
            self.stop = choice.finish_reason or self.stop
        if chunk.usage is not None:
            self.output_tokens = chunk.usage.completion_tokens


def _anthropic_request(request: dict[str, Any]) -> dict[str, Any]:
    return {"model": "claude-test", "max_tokens": 64, "messages": MESSAGES} | request


def _openai_request(request: dict[str, Any]) -> dict[str, Any]:
    return {"model": "gpt-test", "messages": MESSAGES} | request


def _anthropic_sync(url: str, request: dict[str, Any], *, helper: bool) -> Got:
    got, request = Got(), _anthropic_request(request)
    with anthropic.Anthropic(api_key="sk-ant-test", base_url=url, max_retries=0) as client:
        try:
            if helper:
                with client.messages.stream(**request) as stream:
                    for event in stream:
                        got.anthropic(event)
                    got.final = stream.get_final_message()
            else:
                with client.messages.create(stream=True, **request) as raw:
                    for event in raw:
                        got.anthropic(event)
        except Exception as exc:  # noqa: BLE001 -- the test inspects whatever was raised
            got.error = exc
    return got


async def _anthropic_async(url: str, request: dict[str, Any], *, helper: bool) -> Got:
    got, request = Got(), _anthropic_request(request)
    async with anthropic.AsyncAnthropic(api_key="sk-ant-test", base_url=url, max_retries=0) as c:
        try:
            if helper:
                async with c.messages.stream(**request) as stream:
                    async for event in stream:
                        got.anthropic(event)
                    got.final = await stream.get_final_message()
            else:
                raw = await c.messages.create(stream=True, **request)
                async with raw:
                    async for event in raw:
                        got.anthropic(event)
        except Exception as exc:  # noqa: BLE001 -- as above
            got.error = exc
    return got


def _openai_sync(url: str, request: dict[str, Any], *, helper: bool) -> Got:
    got, request = Got(), _openai_request(request)
    with openai.OpenAI(api_key="sk-test", base_url=url + "/v1", max_retries=0) as client:
        try:
            if helper:
                with client.chat.completions.stream(**request) as stream:
                    for event in stream:
                        if event.type == "chunk":
                            got.openai(event.chunk)
                    got.final = stream.get_final_completion()
            else:
                with client.chat.completions.create(stream=True, **request) as raw:
                    for chunk in raw:
                        got.openai(chunk)
        except Exception as exc:  # noqa: BLE001 -- as above
            got.error = exc
    return got


async def _openai_async(url: str, request: dict[str, Any], *, helper: bool) -> Got:
    got, request = Got(), _openai_request(request)
    async with openai.AsyncOpenAI(api_key="sk-test", base_url=url + "/v1", max_retries=0) as c:
        try:
            if helper:
                async with c.chat.completions.stream(**request) as stream:
                    async for event in stream:
                        if event.type == "chunk":
                            got.openai(event.chunk)
                    got.final = await stream.get_final_completion()
            else:
                raw = await c.chat.completions.create(stream=True, **request)
                async with raw:
                    async for chunk in raw:
                        got.openai(chunk)
        except Exception as exc:  # noqa: BLE001 -- as above
            got.error = exc
    return got


@dataclass(frozen=True)
class Entry:
    """One streaming entry point of one SDK."""

    provider: str
    is_async: bool
    helper: bool

    def __call__(self, sim: Simulator, **request: Any) -> Got:
        """Stream one request through this entry point and report what the caller saw."""
        if self.provider == "anthropic":
            if self.is_async:
                return asyncio.run(_anthropic_async(sim.base_url, request, helper=self.helper))
            return _anthropic_sync(sim.base_url, request, helper=self.helper)
        if self.is_async:
            return asyncio.run(_openai_async(sim.base_url, request, helper=self.helper))
        return _openai_sync(sim.base_url, request, helper=self.helper)

    def __str__(self) -> str:
        how = "stream()" if self.helper else "create(stream=True)"
        return f"{self.provider}-{how}-{'async' if self.is_async else 'sync'}"


ENTRIES = [
    Entry(provider, is_async, helper)
    for provider in ("anthropic", "openai")
    for is_async in (False, True)
    for helper in (False, True)
]
ANTHROPIC = [e for e in ENTRIES if e.provider == "anthropic"]
OPENAI = [e for e in ENTRIES if e.provider == "openai"]
each = pytest.mark.parametrize("entry", ENTRIES, ids=str)


def _final_text(entry: Entry, got: Got) -> str:
    if entry.provider == "anthropic":
        return "".join(block.text for block in got.final.content if block.type == "text")
    return str(got.final.choices[0].message.content)


def _final_stop(entry: Entry, got: Got) -> str | None:
    if entry.provider == "anthropic":
        return got.final.stop_reason  # type: ignore[no-any-return]
    return got.final.choices[0].finish_reason  # type: ignore[no-any-return]


@each
def test_full_stream_gives_the_expected_text(sim: Simulator, entry: Entry) -> None:
    """A streamed reply parses, word by word, into exactly the deterministic text."""
    extra = {} if entry.provider == "anthropic" else {"stream_options": {"include_usage": True}}
    got = entry(sim, **extra)
    assert got.error is None
    assert got.text == FULL
    assert tuple(got.parts) == WORDS
    assert got.stop == ("end_turn" if entry.provider == "anthropic" else "stop")
    assert got.output_tokens == len(WORDS)
    if entry.helper:
        assert _final_text(entry, got) == FULL
        assert _final_stop(entry, got) == got.stop
    assert sim.requests[0].body["stream"] is True  # type: ignore[index]


@each
def test_max_tokens_cuts_the_stream(sim: Simulator, entry: Entry) -> None:
    """A low token limit ends the stream early with the provider's length stop reason."""
    limit = {"max_tokens": 2} if entry.provider == "anthropic" else {"max_completion_tokens": 2}
    got = entry(sim, **limit)
    assert got.text == expected_text(MESSAGES, max_tokens=2)
    assert got.stop == ("max_tokens" if entry.provider == "anthropic" else "length")
    if entry.provider == "openai" and entry.helper:
        # Wire fact: the helper's get_final_completion() raises on finish_reason "length"
        # (openai.lib._parsing), with or without a response_format; iterating did not.
        assert type(got.error) is openai.LengthFinishReasonError
    else:
        assert got.error is None


@each
def test_error_event_mid_stream(sim: Simulator, entry: Entry) -> None:
    """An error event after k deltas raises the SDK's error after exactly k deltas of text."""
    sim.script(Reply(stream_error_after=2))
    got = entry(sim)
    assert got.text == "".join(WORDS[:2])
    err = got.error
    assert err is not None
    assert err.__cause__ is None
    if entry.provider == "anthropic":
        assert type(err) is anthropic.APIStatusError
        assert err.status_code == 200
        assert err.type == "overloaded_error"
        assert err.body == {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"},
        }
        assert err.request_id == sim.requests[0].request_id
    else:
        assert type(err) is openai.APIError
        assert not hasattr(err, "status_code")
        assert err.type == "server_error"
        assert err.code is None
        assert isinstance(err.body, dict)
        assert err.body["type"] == "server_error"


@pytest.mark.parametrize("entry", [ENTRIES[0], ENTRIES[4]], ids=str)
def test_error_event_type_and_code_are_configurable(sim: Simulator, entry: Entry) -> None:
    """error_type, message and error_code shape the mid-stream error."""
    sim.script(Reply(stream_error_after=0, error_type="api_error", message="boom", error_code="x"))
    got = entry(sim)
    assert got.text == ""
    err: Any = got.error
    assert err.type == "api_error"
    assert "boom" in err.message
    if entry.provider == "anthropic":
        assert err.error_code == "x"
    else:
        assert err.code == "x"


@each
def test_cut_connection_mid_stream(sim: Simulator, entry: Entry) -> None:
    """A connection dropped after k deltas raises a transport error after k deltas of text."""
    sim.script(Reply(stream_cut_after=3))
    got = entry(sim)
    assert got.text == "".join(WORDS[:3])
    err = got.error
    if entry.provider == "anthropic":
        # Not an anthropic.APIError at all: the raw httpx2 error escapes the SDK.
        assert type(err) is httpx2.RemoteProtocolError
        assert type(err.__cause__) is httpcore2.RemoteProtocolError
    else:
        assert type(err) is openai.APIConnectionError
        assert type(err.__cause__) is httpx2.RemoteProtocolError
    assert "incomplete chunked read" in str(err.__cause__)


@each
def test_stall_until_read_timeout(sim: Simulator, entry: Entry) -> None:
    """A stream that goes silent after k deltas ends in a read timeout at the client's limit."""
    sim.script(Reply(stream_stall_after=1))
    start = time.monotonic()
    got = entry(sim, timeout=0.2)
    assert 0.2 <= time.monotonic() - start < 1.5
    assert got.text == WORDS[0]
    err = got.error
    if entry.provider == "anthropic":
        assert type(err) is httpx2.ReadTimeout  # again not an SDK error
        assert type(err.__cause__) is httpcore2.ReadTimeout
    else:
        assert type(err) is openai.APITimeoutError
        assert type(err.__cause__) is httpx2.ReadTimeout


@each
def test_truncated_stream_ends_silently(sim: Simulator, entry: Entry) -> None:
    """A body that ends cleanly after k deltas raises nothing: only the stop reason is missing."""
    sim.script(Reply(stream_truncate_after=2))
    got = entry(sim)
    assert got.error is None
    assert got.text == "".join(WORDS[:2])
    assert got.stop is None
    if entry.helper:
        assert _final_text(entry, got) == got.text
        assert _final_stop(entry, got) is None


@pytest.mark.parametrize("entry", [ENTRIES[0], ENTRIES[7]], ids=str)
def test_stall_that_resumes_completes(sim: Simulator, entry: Entry) -> None:
    """A stall shorter than the read timeout only delays the rest of the text."""
    sim.script(Reply(stream_stall_after=2, stream_stall_for=0.2))
    start = time.monotonic()
    got = entry(sim, timeout=2.0)
    assert time.monotonic() - start >= 0.2
    assert got.error is None
    assert got.text == FULL


@pytest.mark.parametrize("entry", [ENTRIES[1], ENTRIES[6]], ids=str)
def test_slow_first_token(sim: Simulator, entry: Entry) -> None:
    """The first text delta comes only after the delay, behind the opening event."""
    sim.script(Reply(stream_first_token_delay=0.3))
    start = time.monotonic()
    got = entry(sim)
    assert got.started is not None
    assert got.first_text is not None
    # That the opening event is not held back is shown by the timeout test below; timing
    # its arrival here would measure the client's first-use parsing cost as much as the wire.
    assert got.started < got.first_text
    assert got.first_text - start >= 0.3
    assert got.text == FULL


@pytest.mark.parametrize("entry", [ENTRIES[0], ENTRIES[4]], ids=str)
def test_slow_first_token_times_out_after_the_headers(sim: Simulator, entry: Entry) -> None:
    """A read timeout shorter than the first-token delay fires mid-stream, not in create()."""
    sim.script(Reply(stream_first_token_delay=1.0))
    got = entry(sim, timeout=0.2)
    assert got.started is not None  # create() returned and the first event was read
    assert got.text == ""
    assert isinstance(got.error, httpx2.ReadTimeout | openai.APITimeoutError)


def test_event_interval_paces_the_stream(sim: Simulator) -> None:
    """stream_interval spaces every event, so a stream takes (events - 1) intervals."""
    sim.script(Reply(stream_interval=0.02))
    start = time.monotonic()
    got = ENTRIES[0](sim)
    assert got.text == FULL
    assert time.monotonic() - start >= 0.02 * (len(WORDS) + 5)  # 7 events besides the deltas


def test_plain_request_ignores_stream_faults(sim: Simulator) -> None:
    """A request without stream=true gets the plain success body whatever stream_* says."""
    sim.script(Reply(stream_cut_after=0), Reply(stream_error_after=0))
    with anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client:
        message = client.messages.create(model="m", max_tokens=64, messages=MESSAGES)
    assert message.content[0].type == "text"
    assert message.content[0].text == FULL
    with openai.OpenAI(api_key="k", base_url=sim.base_url + "/v1", max_retries=0) as client2:
        reply = client2.chat.completions.create(model="g", messages=MESSAGES)
    assert reply.choices[0].message.content == FULL


@pytest.mark.parametrize("entry", [ENTRIES[0], ENTRIES[6]], ids=str)
def test_error_status_is_raised_before_the_stream(sim: Simulator, entry: Entry) -> None:
    """An error reply to a streaming request is a plain HTTP error, raised by create()."""
    sim.script(Reply(status=529))
    got = entry(sim)
    assert got.started is None
    assert isinstance(got.error, anthropic.OverloadedError | openai.InternalServerError)


def _scenario_outcomes(sim: Simulator, count: int) -> list[str]:
    outcomes = []
    with anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client:
        for _ in range(count):
            got = Got()
            try:
                with client.messages.create(
                    stream=True, timeout=0.3, **_anthropic_request({})
                ) as stream:
                    for event in stream:
                        got.anthropic(event)
            except Exception as exc:  # noqa: BLE001 -- the outcome is the exception's name
                got.error = exc
            outcomes.append(type(got.error).__name__ if got.error else f"ok:{got.text == FULL}")
    return outcomes


def test_scenario_stream_faults_are_reproducible() -> None:
    """A seeded scenario breaks the same streams the same way on two simulators."""
    scenario = Scenario(
        seed=3,
        fault_rate=0.6,
        faults={"stream_error": 1, "stream_cut": 1, "stream_truncate": 1, "stream_stall": 1},
        stream_fault_after=(0, 3),
        stream_stall_for=0.05,
    )
    runs = []
    for _ in range(2):
        with Simulator(scenario=scenario) as sim:
            runs.append((_scenario_outcomes(sim, 16), [r.reply for r in sim.requests]))
    assert runs[0] == runs[1]
    assert {"ok:True", "ok:False", "APIStatusError", "RemoteProtocolError"} <= set(runs[0][0])


def test_scenario_stream_faults_spare_plain_requests() -> None:
    """A non-streaming request that draws a stream fault succeeds."""
    scenario = Scenario(fault_rate=1.0, faults={"stream_cut": 1, "stream_error": 1})
    with (
        Simulator(scenario=scenario) as sim,
        anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client,
    ):
        for _ in range(4):
            message = client.messages.create(model="m", max_tokens=64, messages=MESSAGES)
            assert message.stop_reason == "end_turn"


def _wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + 2.0
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_streams_keep_the_connection_alive() -> None:
    """Complete and truncated streams end the body properly, so the connection is reused."""
    with Simulator() as sim:
        sim.script(Reply(), Reply(stream_truncate_after=1), Reply())
        with anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client:
            for _ in range(3):
                with client.messages.create(
                    model="m",
                    max_tokens=64,
                    messages=MESSAGES,
                    stream=True,
                ) as stream:
                    list(stream)
                assert sim.open_connections == 1


def test_hung_stream_is_released_when_the_client_leaves() -> None:
    """A stream that never resumes holds its connection only until the client times out."""
    with Simulator() as sim:
        sim.script(Reply(stream_stall_after=0))
        got = ENTRIES[0](sim, timeout=0.2)
        assert isinstance(got.error, httpx2.ReadTimeout)
        assert _wait_for(lambda: sim.open_connections == 0)
