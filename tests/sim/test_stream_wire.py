"""Streamed bodies byte for byte: framing, event order and error events as the APIs send them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx2
import pytest

from riprap.sim import Reply, estimate_input_tokens, expected_text
from riprap.sim._text import pieces

if TYPE_CHECKING:
    from collections.abc import Iterator

    from riprap.sim import Simulator

MESSAGES = [{"role": "user", "content": "Hello, sim."}]
WORDS = pieces(expected_text(MESSAGES))
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "k"}


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    """A bare HTTP client, to see the bytes the SDKs parse."""
    with httpx2.Client(timeout=5.0) as client:
        yield client


def _post(
    http: httpx2.Client, sim: Simulator, path: str, **body: Any
) -> tuple[httpx2.Response, str]:
    headers = ANTHROPIC_HEADERS if path == "/v1/messages" else {"authorization": "Bearer k"}
    response = http.post(sim.base_url + path, json=body, headers=headers)
    return response, response.text


def _events(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) of each SSE event in ``text``."""
    events = []
    for block in text.split("\n\n"):
        if not block:
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((fields.get("event"), fields["data"]))
    return events


def _claude(http: httpx2.Client, sim: Simulator, **extra: Any) -> tuple[httpx2.Response, str]:
    body = {"model": "m", "max_tokens": 64, "messages": MESSAGES, "stream": True} | extra
    return _post(http, sim, "/v1/messages", **body)


def _gpt(http: httpx2.Client, sim: Simulator, **extra: Any) -> tuple[httpx2.Response, str]:
    body = {"model": "g", "messages": MESSAGES, "stream": True} | extra
    return _post(http, sim, "/v1/chat/completions", **body)


def test_stream_is_chunked_event_stream(sim: Simulator, http: httpx2.Client) -> None:
    """A streamed reply is text/event-stream, chunked, with the request id header."""
    response, _ = _claude(http, sim)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.headers
    assert response.headers["request-id"] == sim.requests[0].request_id


def test_anthropic_event_sequence(sim: Simulator, http: httpx2.Client) -> None:
    """Named events in the API's order, each data object typed by its event name."""
    _, text = _claude(http, sim)
    events = _events(text)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * len(WORDS),
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    data = [json.loads(d) for _, d in events]
    assert all(d["type"] == name for name, d in zip(names, data, strict=True))
    start = data[0]["message"]
    assert start["content"] == []
    assert start["stop_reason"] is None
    # A token of output up front, as the API reports; the real count comes in message_delta.
    assert start["usage"] == {"input_tokens": estimate_input_tokens(MESSAGES), "output_tokens": 1}
    assert data[1]["content_block"] == {"type": "text", "text": ""}
    assert [d["delta"] for d in data[3:-3]] == [{"type": "text_delta", "text": w} for w in WORDS]
    assert data[-2]["delta"]["stop_reason"] == "end_turn"
    assert data[-2]["usage"] == {"output_tokens": len(WORDS)}


def test_anthropic_error_event_bytes(sim: Simulator, http: httpx2.Client) -> None:
    """The mid-stream error is the documented event, and the body then ends cleanly."""
    sim.script(Reply(stream_error_after=1))
    _, text = _claude(http, sim)
    assert text.endswith(
        'event: error\ndata: {"type":"error","error":'
        '{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    )
    assert [name for name, _ in _events(text)][-2:] == ["content_block_delta", "error"]


def test_openai_chunk_sequence(sim: Simulator, http: httpx2.Client) -> None:
    """Unnamed data lines: a role chunk, content chunks, a finish chunk, then [DONE]."""
    _, text = _gpt(http, sim)
    events = _events(text)
    assert all(name is None for name, _ in events)
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert "usage" not in chunks[0]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": "", "refusal": None}
    assert deltas[1:-1] == [{"content": w} for w in WORDS]
    assert deltas[-1] == {}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_openai_usage_chunk_when_asked(sim: Simulator, http: httpx2.Client) -> None:
    """With include_usage every chunk has usage null and a last chunk with no choices counts."""
    _, text = _gpt(http, sim, stream_options={"include_usage": True})
    chunks = [json.loads(d) for _, d in _events(text)[:-1]]
    assert all(c["usage"] is None for c in chunks[:-1])
    last = chunks[-1]
    assert last["choices"] == []
    assert last["usage"]["completion_tokens"] == len(WORDS)
    assert last["usage"]["total_tokens"] == last["usage"]["prompt_tokens"] + len(WORDS)


def test_openai_error_line_bytes(sim: Simulator, http: httpx2.Client) -> None:
    """The mid-stream error is a data line holding an error object, with no [DONE] after it."""
    sim.script(Reply(stream_error_after=0))
    _, text = _gpt(http, sim)
    error = {
        "message": "The server had an error while processing your request.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    assert _events(text)[-1] == (None, json.dumps({"error": error}, separators=(",", ":")))


@pytest.mark.parametrize("send", [_claude, _gpt])
def test_truncated_body_is_complete_http(sim: Simulator, http: httpx2.Client, send: Any) -> None:
    """A truncated stream is a well-formed HTTP body that simply stops after k deltas."""
    sim.script(Reply(stream_truncate_after=2))
    response, text = send(http, sim)
    assert response.is_stream_consumed
    assert "[DONE]" not in text
    assert "message_stop" not in text
    assert sum(w in text for w in WORDS[:2]) == 2


def test_error_status_is_plain_json(sim: Simulator, http: httpx2.Client) -> None:
    """An error reply to a streaming request is the usual JSON error, not an event stream."""
    sim.script(Reply(status=429))
    response, text = _claude(http, sim)
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    assert json.loads(text)["error"]["type"] == "rate_limit_error"


def test_scripted_body_and_content_type_win(sim: Simulator, http: httpx2.Client) -> None:
    """A scripted body is sent as-is even to a streaming request (e.g. a proxy's HTML page)."""
    sim.script(Reply(body="<html>hi</html>", content_type="text/html"))
    response, text = _claude(http, sim)
    assert (response.headers["content-type"], text) == ("text/html", "<html>hi</html>")


def test_count_tokens_never_streams(sim: Simulator, http: httpx2.Client) -> None:
    """Only generating routes stream; count_tokens answers JSON even with stream=true."""
    response, _ = _post(http, sim, "/v1/messages/count_tokens", messages=MESSAGES, stream=True)
    assert response.headers["content-type"] == "application/json"
