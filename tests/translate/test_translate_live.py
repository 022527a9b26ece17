"""Fallback across providers on the wire: real SDK clients on the simulator, both ways."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from anthropic.types import Message
from openai.types.chat import ChatCompletion

from riprap.sim import Reply, default_text, estimate_input_tokens
from riprap.translate import (
    Unsupported,
    to_anthropic_message,
    to_anthropic_request,
    to_openai_completion,
    to_openai_request,
)
from support import make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}
ANTHROPIC_CALL: dict[str, Any] = {
    "model": "claude-sim",
    "max_tokens": 64,
    "system": "Answer briefly.",
    "messages": [{"role": "user", "content": "Weather in Oslo?"}],
    "tools": [{"name": "weather", "description": "Current weather.", "input_schema": SCHEMA}],
    "stop_sequences": ["END"],
    "extra_body": {"temperature": 0.2},
}
OPENAI_CALL: dict[str, Any] = {
    "model": "gpt-sim",
    "max_completion_tokens": 64,
    "messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Weather in Oslo?"},
    ],
    "tools": [{"type": "function", "function": {"name": "weather", "parameters": SCHEMA}}],
    "stop": ["END"],
    "temperature": 0.2,
}


def as_openai(request: dict[str, Any]) -> dict[str, Any]:
    """The Anthropic call translated for the OpenAI fallback target."""
    translated = to_openai_request(request, model="gpt-sim")
    assert not isinstance(translated, Unsupported)
    return translated


def as_anthropic(request: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI call translated for the Anthropic fallback target."""
    translated = to_anthropic_request(request, model="claude-sim")
    assert not isinstance(translated, Unsupported)
    return translated


def check_message(result: Message, sim: Simulator) -> None:
    """`result` is the simulator's OpenAI answer, as an Anthropic Message."""
    body = sim.requests[0].body
    assert isinstance(body, dict)
    assert sim.requests[0].path == "/v1/chat/completions"
    assert body["max_completion_tokens"] == 64
    assert body["tools"][0]["function"]["name"] == "weather"
    text = default_text(body["messages"], 64)
    assert type(result) is Message
    assert (result.model, result.stop_reason) == ("gpt-sim", "end_turn")
    assert [(b.type, getattr(b, "text", None)) for b in result.content] == [("text", text)]
    assert result.usage.input_tokens == estimate_input_tokens(body["messages"])
    assert result.usage.output_tokens == len(text.split())
    assert result._request_id == "req_sim_000000"


def check_completion(result: ChatCompletion, sim: Simulator) -> None:
    """`result` is the simulator's Anthropic answer, as an OpenAI ChatCompletion."""
    body = sim.requests[0].body
    assert isinstance(body, dict)
    assert sim.requests[0].path == "/v1/messages"
    assert (body["system"], body["max_tokens"], body["temperature"]) == ("Answer briefly.", 64, 0.2)
    text = default_text(body["messages"], 64)
    assert type(result) is ChatCompletion
    assert result.model == "claude-sim"
    assert result.choices[0].message.content == text
    assert result.choices[0].finish_reason == "stop"
    assert result.usage is not None
    assert result.usage.prompt_tokens == estimate_input_tokens(body["messages"])
    assert result._request_id == "req_sim_000000"


def test_anthropic_call_served_by_openai(sim: Simulator) -> None:
    """An Anthropic request, sent to OpenAI translated, comes back as an anthropic Message."""
    client = make_client("openai", sim, is_async=False, max_retries=0)
    completion = client.chat.completions.create(**as_openai(ANTHROPIC_CALL))
    check_message(to_anthropic_message(completion), sim)


def test_openai_call_served_by_anthropic(sim: Simulator) -> None:
    """An OpenAI request, sent to Anthropic translated, comes back as a ChatCompletion."""
    client = make_client("anthropic", sim, is_async=False, max_retries=0)
    message = client.messages.create(**as_anthropic(OPENAI_CALL))
    check_completion(to_openai_completion(message), sim)


def test_async_clients_both_ways(sim: Simulator) -> None:
    """The async SDK clients carry translated calls the same way."""

    async def go() -> tuple[Message, ChatCompletion]:
        gpt = make_client("openai", sim, is_async=True, max_retries=0)
        claude = make_client("anthropic", sim, is_async=True, max_retries=0)
        try:
            completion = await gpt.chat.completions.create(**as_openai(ANTHROPIC_CALL))
            message = await claude.messages.create(**as_anthropic(OPENAI_CALL))
        finally:
            await gpt.close()
            await claude.close()
        return to_anthropic_message(completion), to_openai_completion(message)

    message, completion = asyncio.run(go())
    assert type(message) is Message
    assert message.model == "gpt-sim"
    assert type(completion) is ChatCompletion
    assert completion.model == "claude-sim"
    assert completion._request_id == "req_sim_000001"


def test_tool_call_answer_becomes_tool_use(sim: Simulator) -> None:
    """OpenAI's tool call, answering a translated Anthropic request, arrives as a tool_use block."""
    sim.script(Reply(body={
        "id": "chatcmpl-tool", "object": "chat.completion", "created": 1, "model": "gpt-sim",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None, "tool_calls": [{
                "id": "call_9", "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28},
    }))  # fmt: skip
    client = make_client("openai", sim, is_async=False, max_retries=0)
    message = to_anthropic_message(client.chat.completions.create(**as_openai(ANTHROPIC_CALL)))
    assert message.stop_reason == "tool_use"
    assert [b.model_dump(exclude_none=True) for b in message.content] == [
        {"type": "tool_use", "id": "call_9", "name": "weather", "input": {"city": "Oslo"}}
    ]
    follow_up = {
        **ANTHROPIC_CALL,
        "messages": [
            *ANTHROPIC_CALL["messages"],
            message.to_param(),
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_9", "content": "12°C"}]},
        ],
    }  # fmt: skip
    client.chat.completions.create(**as_openai(follow_up))
    sent = sim.requests[1].body
    assert isinstance(sent, dict)
    assert sent["messages"][-2:] == [
        {"role": "assistant", "tool_calls": [{"id": "call_9", "type": "function", "function": {
            "name": "weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": "12°C"},
    ]  # fmt: skip


def test_tool_use_answer_becomes_tool_calls(sim: Simulator) -> None:
    """Anthropic's tool_use, answering a translated OpenAI request, arrives as tool_calls."""
    sim.script(Reply(body={
        "id": "msg_tool", "type": "message", "role": "assistant", "model": "claude-sim",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "weather",
                     "input": {"city": "Oslo"}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 8},
    }))  # fmt: skip
    client = make_client("anthropic", sim, is_async=False, max_retries=0)
    completion = to_openai_completion(client.messages.create(**as_anthropic(OPENAI_CALL)))
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [c.model_dump() for c in choice.message.tool_calls or []] == [
        {"id": "toolu_1", "type": "function",
         "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}
    ]  # fmt: skip


def test_truncated_answers_say_so_both_ways(sim: Simulator) -> None:
    """An answer cut by the token limit reads max_tokens / length in the caller's type."""
    gpt = make_client("openai", sim, is_async=False, max_retries=0)
    claude = make_client("anthropic", sim, is_async=False, max_retries=0)
    short_a = as_openai({**ANTHROPIC_CALL, "max_tokens": 2})
    assert to_anthropic_message(gpt.chat.completions.create(**short_a)).stop_reason == "max_tokens"
    short_o = as_anthropic({**OPENAI_CALL, "max_completion_tokens": 2})
    completion = to_openai_completion(claude.messages.create(**short_o))
    assert completion.choices[0].finish_reason == "length"
