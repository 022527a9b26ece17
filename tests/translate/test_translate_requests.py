"""Request translation: every element of the common subset both ways, and what is outside it."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from riprap.translate import (
    DEFAULT_MAX_TOKENS,
    Unsupported,
    to_anthropic_request,
    to_openai_request,
)

A_MODEL, O_MODEL = "claude-sim", "gpt-sim"
HELLO_A: dict[str, Any] = {"role": "user", "content": "Hello"}
IMAGE_DATA = "iVBORw0KGgo="
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "lookup", "arguments": '{"q": "x"}'},
}
USE = {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"q": "x"}}
SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
EMPTY = {"type": "object", "properties": {}}
LOOKUP_A = {"name": "lookup", "input_schema": SCHEMA}
LOOKUP_O = {"type": "function", "function": {"name": "lookup", "parameters": SCHEMA}}
RESULT_42 = {"type": "tool_result", "tool_use_id": "call_1", "content": "42"}
TOOL_42 = {"role": "tool", "tool_call_id": "call_1", "content": "42"}


def a_request(**extra: Any) -> dict[str, Any]:
    """An Anthropic request with the given parts (a plain "Hello" by default)."""
    return {"model": A_MODEL, "max_tokens": 64, "messages": [HELLO_A], **extra}


def o_request(**extra: Any) -> dict[str, Any]:
    """The OpenAI request that is its exact translation."""
    return {"model": O_MODEL, "messages": [HELLO_A], "max_completion_tokens": 64, **extra}


#: (element, Anthropic arguments, OpenAI arguments): each is the other's exact translation.
PAIRS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("text message", a_request(), o_request()),
    (
        "text blocks",
        a_request(messages=[{"role": "user", "content": [{"type": "text", "text": "a"},
                                                         {"type": "text", "text": "b"}]}]),
        o_request(messages=[{"role": "user", "content": [{"type": "text", "text": "a"},
                                                         {"type": "text", "text": "b"}]}]),
    ),
    (
        "system prompt",
        a_request(system="Be brief."),
        o_request(messages=[{"role": "system", "content": "Be brief."}, HELLO_A]),
    ),
    (
        "system prompt blocks",
        a_request(system=[{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}]),
        o_request(messages=[{"role": "system", "content": [{"type": "text", "text": "One."},
                                                           {"type": "text", "text": "Two."}]},
                            HELLO_A]),
    ),
    (
        "base64 image",
        a_request(messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": IMAGE_DATA}},
            {"type": "text", "text": "What is this?"}]}]),
        o_request(messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{IMAGE_DATA}"}},
            {"type": "text", "text": "What is this?"}]}]),
    ),
    (
        "image url",
        a_request(messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}}]}]),
        o_request(messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}]}]),
    ),
    ("max tokens", a_request(max_tokens=7), o_request(max_completion_tokens=7)),
    (
        "temperature and top_p",
        a_request(extra_body={"temperature": 0.2, "top_p": 0.9}),
        o_request(temperature=0.2, top_p=0.9),
    ),
    ("stop sequences", a_request(stop_sequences=["END", "\n\n"]), o_request(stop=["END", "\n\n"])),
    (
        "tool definitions",
        a_request(tools=[{"name": "lookup", "description": "Find it.", "input_schema": SCHEMA,
                          "strict": True}]),
        o_request(tools=[{"type": "function", "function": {
            "name": "lookup", "description": "Find it.", "parameters": SCHEMA, "strict": True}}]),
    ),
    (
        "tool choice: a named tool, no parallel calls",
        a_request(tools=[LOOKUP_A], tool_choice={
            "type": "tool", "name": "lookup", "disable_parallel_tool_use": True}),
        o_request(tools=[LOOKUP_O],
                  tool_choice={"type": "function", "function": {"name": "lookup"}},
                  parallel_tool_calls=False),
    ),
    (
        "tool choice: any",
        a_request(tools=[LOOKUP_A], tool_choice={"type": "any"}),
        o_request(tools=[LOOKUP_O], tool_choice="required"),
    ),
    (
        "tool choice: none",
        a_request(tools=[LOOKUP_A], tool_choice={"type": "none"}),
        o_request(tools=[LOOKUP_O], tool_choice="none"),
    ),
    (
        "tool call with text",
        a_request(messages=[HELLO_A, {"role": "assistant", "content": [
            {"type": "text", "text": "Looking."}, USE]}]),
        o_request(messages=[HELLO_A, {"role": "assistant", "content": [
            {"type": "text", "text": "Looking."}], "tool_calls": [CALL]}]),
    ),
    (
        "tool call alone",
        a_request(messages=[HELLO_A, {"role": "assistant", "content": [USE]}]),
        o_request(messages=[HELLO_A, {"role": "assistant", "tool_calls": [CALL]}]),
    ),
    (
        "tool results, then the user's text",
        a_request(messages=[HELLO_A, {"role": "assistant", "content": [USE, {**USE, "id": "c2"}]},
                            {"role": "user", "content": [
                                {"type": "tool_result", "tool_use_id": "call_1", "content": "42"},
                                {"type": "tool_result", "tool_use_id": "c2",
                                 "content": [{"type": "text", "text": "43"}]},
                                {"type": "text", "text": "Go on."}]}]),
        o_request(messages=[HELLO_A,
                            {"role": "assistant", "tool_calls": [CALL, {**CALL, "id": "c2"}]},
                            TOOL_42,
                            {"role": "tool", "tool_call_id": "c2",
                             "content": [{"type": "text", "text": "43"}]},
                            {"role": "user", "content": [{"type": "text", "text": "Go on."}]}]),
    ),
    (
        "assistant text turn",
        a_request(messages=[HELLO_A, {"role": "assistant", "content": "Hi."}, HELLO_A]),
        o_request(messages=[HELLO_A, {"role": "assistant", "content": "Hi."}, HELLO_A]),
    ),
    (
        "a system message mid-conversation",
        a_request(messages=[HELLO_A, {"role": "system", "content": "Now in French."}]),
        o_request(messages=[HELLO_A, {"role": "system", "content": "Now in French."}]),
    ),
    ("end user id", a_request(metadata={"user_id": "u-1"}), o_request(safety_identifier="u-1")),
    ("call options", a_request(timeout=9.0), o_request(timeout=9.0)),
]  # fmt: skip


def test_extra_headers_never_cross_to_the_other_vendor() -> None:
    """Headers are one vendor's (often a gateway's credentials): dropped both ways."""
    assert to_openai_request(a_request(extra_headers={"x-a": "1"}), model=O_MODEL) == o_request()
    assert to_anthropic_request(o_request(extra_headers={"x-a": "1"}), model=A_MODEL) == a_request()


@pytest.mark.parametrize(("element", "a", "o"), PAIRS, ids=[p[0] for p in PAIRS])
def test_anthropic_to_openai(element: str, a: dict[str, Any], o: dict[str, Any]) -> None:
    """Each element of an Anthropic request becomes its OpenAI counterpart."""
    del element
    assert to_openai_request(a, model=O_MODEL) == o


@pytest.mark.parametrize(("element", "a", "o"), PAIRS, ids=[p[0] for p in PAIRS])
def test_openai_to_anthropic(element: str, a: dict[str, Any], o: dict[str, Any]) -> None:
    """Each element of an OpenAI request becomes its Anthropic counterpart."""
    del element
    assert to_anthropic_request(o, model=A_MODEL) == a


@pytest.mark.parametrize(
    ("o", "a"),
    [
        (o_request(max_completion_tokens=None, max_tokens=9), a_request(max_tokens=9)),
        (o_request(max_completion_tokens=None), a_request(max_tokens=DEFAULT_MAX_TOKENS)),
        (o_request(stop="END"), a_request(stop_sequences=["END"])),
        (o_request(user="u-1"), a_request(metadata={"user_id": "u-1"})),
        (
            o_request(messages=[{"role": "developer", "content": "A."},
                                {"role": "system", "content": [{"type": "text", "text": "B."}]},
                                HELLO_A]),
            a_request(system=[{"type": "text", "text": "A."}, {"type": "text", "text": "B."}]),
        ),
        (
            o_request(tools=[{"type": "function", "function": {"name": "now"}}]),
            a_request(tools=[{"name": "now", "input_schema": EMPTY}]),
        ),
        (
            o_request(tools=[{"type": "function", "function": {"name": "now"}}],
                      parallel_tool_calls=False),
            a_request(tools=[{"name": "now", "input_schema": EMPTY}],
                      tool_choice={"type": "auto", "disable_parallel_tool_use": True}),
        ),
        (o_request(parallel_tool_calls=False, tool_choice="auto"), a_request()),
        (
            o_request(messages=[{"role": "assistant", "tool_calls": [CALL]},
                                TOOL_42, {"role": "user", "content": "Thanks."}]),
            a_request(messages=[{"role": "assistant", "content": [USE]},
                                {"role": "user", "content": [
                                    RESULT_42, {"type": "text", "text": "Thanks."}]}]),
        ),
        (
            o_request(messages=[{"role": "assistant", "content": "", "tool_calls": [CALL]},
                                TOOL_42]),
            a_request(messages=[{"role": "assistant", "content": [USE]},
                                {"role": "user", "content": [RESULT_42]}]),
        ),
        (
            o_request(messages=[HELLO_A, {"role": "assistant", "content": "On it.",
                                          "tool_calls": [CALL]}]),
            a_request(messages=[HELLO_A, {"role": "assistant", "content": [
                {"type": "text", "text": "On it."}, USE]}]),
        ),
        (o_request(n=1, stream=False, temperature=None), a_request()),
        (o_request(temperature=openai.omit, top_p=openai.NOT_GIVEN), a_request()),
    ],
)  # fmt: skip
def test_openai_forms_with_one_anthropic_reading(o: dict[str, Any], a: dict[str, Any]) -> None:
    """Equivalent OpenAI spellings (legacy max_tokens, a lone stop string, developer role) map."""
    assert to_anthropic_request(o, model=A_MODEL) == a


@pytest.mark.parametrize(
    ("a", "o"),
    [
        (a_request(temperature=0.5), o_request(temperature=0.5)),
        (
            a_request(messages=[{"role": "user", "content": [
                {"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}]}]),
            o_request(messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]),
        ),
        (
            a_request(messages=[HELLO_A, {"role": "assistant", "content": [USE]}, {
                "role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1"}]}]),
            o_request(messages=[HELLO_A, {"role": "assistant", "tool_calls": [CALL]},
                                {"role": "tool", "tool_call_id": "call_1", "content": ""}]),
        ),
        (a_request(stop_sequences=anthropic.omit, system=anthropic.NOT_GIVEN, stream=False),
         o_request()),
    ],
)  # fmt: skip
def test_anthropic_forms_with_one_openai_reading(a: dict[str, Any], o: dict[str, Any]) -> None:
    """Hints with no effect on the answer (cache_control) go; SDK sentinels read as not given."""
    assert to_openai_request(a, model=O_MODEL) == o


def test_sdk_objects_in_messages_translate() -> None:
    """An assistant turn made with `Message.to_param()` (SDK objects inside) translates."""
    message = anthropic.types.Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": A_MODEL,
        "content": [{"type": "text", "text": "Looking."}, USE], "stop_reason": "tool_use",
        "usage": {"input_tokens": 1, "output_tokens": 1}})  # fmt: skip
    request = a_request(messages=[HELLO_A, message.to_param()])
    translated = to_openai_request(request, model=O_MODEL)
    assert not isinstance(translated, Unsupported)
    assert translated["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Looking."}],
        "tool_calls": [CALL],
    }


@pytest.mark.parametrize(
    ("a", "reason"),
    [
        (a_request(thinking={"type": "enabled", "budget_tokens": 2048}), "'thinking'"),
        (a_request(extra_body={"top_k": 5}), "'top_k'"),
        (a_request(extra_query={"beta": "1"}), "'extra_query'"),
        (a_request(service_tier="auto"), "'service_tier'"),
        (a_request(stop_sequences=["a", "b", "c", "d", "e"]), "at most 4"),
        (a_request(tools=[{"type": "web_search_20250305", "name": "web_search"}]),
         "server tool 'web_search_20250305'"),
        (a_request(tools=[{"name": "t", "input_schema": SCHEMA, "input_examples": [{}]}]),
         "'input_examples'"),
        (a_request(messages=[{"role": "user", "content": [
            {"type": "document", "source": {"type": "text", "data": "x"}}]}]),
         "content block type 'document'"),
        (a_request(messages=[{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": "boom", "is_error": True}]}]),
         "is_error"),
        (a_request(messages=[{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": [
                {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}]}]),
         "only text"),
        (a_request(messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "file", "file_id": "f_1"}}]}]),
         "image source type 'file'"),
        (a_request(messages=[{"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hm", "signature": "s"}]}]), "'thinking' block"),
        (a_request(messages=[{"role": "user", "content": [
            {"type": "text", "text": "x", "citations": [{"type": "char_location"}]}]}]),
         "'citations'"),
        (a_request(messages=[{"role": "tool", "content": "x"}]), "role 'tool'"),
    ],
)  # fmt: skip
def test_anthropic_outside_the_subset_is_unsupported(a: dict[str, Any], reason: str) -> None:
    """What Chat Completions cannot express is refused with a reason naming it, not dropped."""
    result = to_openai_request(a, model=O_MODEL)
    assert isinstance(result, Unsupported)
    assert reason in result.reason


@pytest.mark.parametrize(
    ("o", "reason"),
    [
        (o_request(stream=True, stream_options={"include_obfuscation": False}),
         "'include_obfuscation'"),
        (o_request(n=2), "n=2"),
        (o_request(temperature=1.5), "temperature=1.5"),
        (o_request(response_format={"type": "json_object"}), "'response_format'"),
        (o_request(extra_body={"seed": 1}), "'seed'"),
        (o_request(max_completion_tokens=None), "max_tokens"),
        (o_request(user="a", safety_identifier="b"), "differ"),
        (o_request(messages=[{"role": "user", "name": "ann", "content": "Hi"}]), "'name'"),
        (o_request(messages=[{"role": "function", "name": "f", "content": "1"}]),
         "role 'function'"),
        (o_request(messages=[{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}]}]),
         "'input_audio'"),
        (o_request(messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "high"}}]}]),
         "detail 'high'"),
        (o_request(messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/bmp;base64,AA=="}}]}]),
         "image type 'image/bmp'"),
        (o_request(messages=[{"role": "assistant", "content": None, "refusal": "No."}]),
         "'refusal'"),
        (o_request(messages=[{"role": "assistant", "content": None}]), "neither content"),
        (o_request(messages=[{"role": "assistant", "tool_calls": [
            {**CALL, "function": {"name": "f", "arguments": "{oops"}}]}]), "not JSON"),
        (o_request(messages=[{"role": "assistant", "tool_calls": [
            {**CALL, "function": {"name": "f", "arguments": "[1]"}}]}]), "not a JSON object"),
        (o_request(messages=[{"role": "assistant", "tool_calls": [
            {"id": "c", "type": "custom", "custom": {"name": "f", "input": "x"}}]}]),
         "tool call type 'custom'"),
        (o_request(tools=[{"type": "custom", "custom": {"name": "f"}}]), "tool type 'custom'"),
        (o_request(tools=[{"type": "function", "function": {"name": "f"}}],
                   tool_choice={"type": "allowed_tools", "allowed_tools": {}}),
         "tool_choice type 'allowed_tools'"),
    ],
)  # fmt: skip
def test_openai_outside_the_subset_is_unsupported(o: dict[str, Any], reason: str) -> None:
    """What the Messages API cannot express is refused with a reason naming it, not dropped."""
    result = to_anthropic_request(o, model=A_MODEL, default_max_tokens=None)
    assert isinstance(result, Unsupported)
    assert reason in result.reason


def test_streams_translate_both_ways() -> None:
    """A stream stays a stream; the OpenAI side asks for the usage chunk the events need."""
    to_o = to_openai_request(a_request(stream=True), model=O_MODEL)
    assert not isinstance(to_o, Unsupported)
    assert (to_o["stream"], to_o["stream_options"]) == (True, {"include_usage": True})
    options = {"include_usage": True}
    to_a = to_anthropic_request(o_request(stream=True, stream_options=options), model="claude-x")
    assert not isinstance(to_a, Unsupported)
    assert to_a["stream"] is True
    assert "stream_options" not in to_a
