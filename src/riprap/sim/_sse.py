"""Streamed replies as data: the providers' SSE events, and when each is written.

Wire shapes follow what the installed SDKs parse:

* Anthropic (``anthropic._streaming.Stream``): named events. ``ping`` is skipped, ``error``
  raises ``APIStatusError`` from its JSON body, every other named event with data is parsed
  into ``RawMessageStreamEvent`` by its ``type``; ``MessageStream`` accumulates them, taking
  ``usage.output_tokens`` from ``message_delta`` (a cumulative count, so it overwrites).
* OpenAI (``openai._streaming.Stream``): unnamed ``data:`` lines of ``chat.completion.chunk``,
  ended by ``data: [DONE]``; a data line whose JSON has an ``error`` key raises ``APIError``.

A stream is planned here as a tuple of :class:`Step` (wait, then write) and an ending; the
connection plays it on loop timers. Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

if TYPE_CHECKING:
    from riprap.sim._script import Reply

End: TypeAlias = Literal["finish", "cut", "hang"]
"""How a streamed body ends: ``finish`` sends the terminating chunk (a complete HTTP body,
even when the events stop early); ``cut`` closes the connection without it; ``hang`` sends
nothing more and keeps the connection open until the client leaves."""

DONE: Final = b"data: [DONE]\n\n"
_COUNTS: Final = (
    "stream_error_after",
    "stream_cut_after",
    "stream_truncate_after",
    "stream_stall_after",
)
_TERMINALS: Final = _COUNTS[:3]


@dataclass(frozen=True, slots=True)
class Step:
    """Wait ``wait`` seconds, then write ``data`` (possibly empty: a pure wait)."""

    wait: float
    data: bytes


@dataclass(frozen=True, slots=True)
class StreamBody:
    """A streamed response body: its steps in order, and how it ends."""

    steps: tuple[Step, ...]
    end: End


@dataclass(frozen=True, slots=True)
class Events:
    """One reply's events, encoded, in the three runs a stream is made of."""

    opening: tuple[bytes, ...]
    deltas: tuple[bytes, ...]
    closing: tuple[bytes, ...]
    error: bytes


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _named(event: str, data: object) -> bytes:
    return f"event: {event}\ndata: {_json(data)}\n\n".encode()


def _data(data: object) -> bytes:
    return f"data: {_json(data)}\n\n".encode()


def anthropic_events(
    *,
    message_id: str,
    model: str,
    deltas: tuple[str, ...],
    truncated: bool,
    usage: tuple[int, int],
    error: dict[str, object],
) -> Events:
    """The Messages API's events for a one-text-block reply, as the API sends them."""
    tokens_in, tokens_out = usage
    message: dict[str, object] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        # The API reports a token or so of output at the start; the true count comes in
        # message_delta. A stream that breaks before that leaves the caller with this one.
        "usage": {"input_tokens": tokens_in, "output_tokens": min(1, tokens_out)},
    }
    opening = (
        _named("message_start", {"type": "message_start", "message": message}),
        _named(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        _named("ping", {"type": "ping"}),
    )
    encoded = tuple(
        _named(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}},
        )
        for d in deltas
    )
    closing = (
        _named("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _named(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "max_tokens" if truncated else "end_turn",
                    "stop_sequence": None,
                },
                "usage": {"output_tokens": tokens_out},
            },
        ),
        _named("message_stop", {"type": "message_stop"}),
    )
    return Events(opening, encoded, closing, _named("error", {"type": "error", "error": error}))


def openai_events(
    *,
    chunk_id: str,
    created: int,
    model: str,
    deltas: tuple[str, ...],
    truncated: bool,
    usage: tuple[int, int] | None,
    error: dict[str, object],
) -> Events:
    """Chat Completions chunks for a one-choice reply; ``usage`` only if the request asked.

    As the API does with ``stream_options.include_usage``, every chunk then carries
    ``"usage": null`` and a last chunk with no choices carries the counts.
    """
    base: dict[str, object] = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
    }
    if usage is not None:
        base["usage"] = None

    def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _data({**base, "choices": [choice]})

    closing = [chunk({}, "length" if truncated else "stop")]
    if usage is not None:
        tokens_in, tokens_out = usage
        counts = {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        }
        closing.append(_data({**base, "choices": [], "usage": counts}))
    closing.append(DONE)
    return Events(
        opening=(chunk({"role": "assistant", "content": "", "refusal": None}),),
        deltas=tuple(chunk({"content": d}) for d in deltas),
        closing=tuple(closing),
        error=_data({"error": error}),
    )


class _Plan:
    """Accumulates steps, merging writes that need no wait between them into one."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._steps: list[Step] = []
        self._wait = 0.0

    def wait(self, seconds: float) -> None:
        self._wait += seconds

    def event(self, data: bytes) -> None:
        if self._steps:
            self._wait += self._interval
        if self._steps and self._wait == 0:
            self._steps[-1] = Step(self._steps[-1].wait, self._steps[-1].data + data)
        else:
            self._steps.append(Step(self._wait, data))
        self._wait = 0.0

    def body(self, end: End) -> StreamBody:
        if self._wait:
            self._steps.append(Step(self._wait, b""))
        return StreamBody(tuple(self._steps), end)


def schedule(reply: Reply, events: Events) -> StreamBody:
    """Lay out ``events`` in time, with ``reply``'s stream faults applied.

    Order: the opening events at once (after ``Reply.delay``, which holds back the headers);
    ``stream_first_token_delay``; then at each position ``k`` (deltas sent so far, from 0)
    the stall if ``stream_stall_after == k``, the ending fault if one is set for ``k``, else
    delta ``k``. A position past the last delta means after it, before the closing events.
    ``stream_interval`` separates every two consecutive events.
    """
    plan = _Plan(reply.stream_interval)
    for data in events.opening:
        plan.event(data)
    plan.wait(reply.stream_first_token_delay)
    count = len(events.deltas)
    stall_at = reply.stream_stall_after
    fault, fault_at = next(
        ((name, at) for name in _TERMINALS if (at := getattr(reply, name)) is not None),
        ("", None),
    )
    for k in range(count + 1):
        if stall_at is not None and min(stall_at, count) == k:
            if reply.stream_stall_for is None:
                return plan.body("hang")
            plan.wait(reply.stream_stall_for)
        if fault_at is not None and min(fault_at, count) == k:
            if fault == "stream_error_after":
                plan.event(events.error)
            return plan.body("cut" if fault == "stream_cut_after" else "finish")
        if k < count:
            plan.event(events.deltas[k])
    for data in events.closing:
        plan.event(data)
    return plan.body("finish")


def _check_count(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{name} must be None or an int >= 0 (text deltas), got {value!r}")


def _check_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        # The project reports wrong types as ValueError too (cf. riprap.errors.ConfigError).
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")  # noqa: TRY004
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")


def check_stream_fields(reply: Reply) -> None:
    """Validate a reply's ``stream_*`` fields (called from ``Reply.__post_init__``)."""
    for name in _COUNTS:
        _check_count(name, getattr(reply, name))
    _check_seconds("stream_first_token_delay", reply.stream_first_token_delay)
    _check_seconds("stream_interval", reply.stream_interval)
    stall_after, stall_for = reply.stream_stall_after, reply.stream_stall_for
    if stall_for is not None:
        _check_seconds("stream_stall_for", stall_for)
        if stall_after is None:
            raise ValueError(f"stream_stall_for={stall_for!r} needs stream_stall_after")
    ending = {name: getattr(reply, name) for name in _TERMINALS if getattr(reply, name) is not None}
    if len(ending) > 1:
        raise ValueError(f"a stream ends one way; choose one of {sorted(ending)}, got {ending!r}")
    if ending and stall_after is not None:
        ((name, at),) = ending.items()
        if stall_for is None:
            raise ValueError(
                f"{name}={at!r} is never reached: stream_stall_for=None hangs the stream"
            )
        if at < stall_after:
            raise ValueError(
                f"stream_stall_after={stall_after!r} is never reached: {name}={at!r} ends first"
            )
    shaped = any(getattr(reply, name) is not None for name in _COUNTS) or (
        reply.stream_first_token_delay or reply.stream_interval
    )
    if shaped and (reply.is_error or not reply.sends_response or reply.encoded_body is not None):
        raise ValueError(
            "stream_* fields shape a streamed success; they need a 2xx/3xx status, the "
            "default body and no hang or disconnect"
        )
