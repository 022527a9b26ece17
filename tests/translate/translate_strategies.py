"""Hypothesis strategies for requests inside the common subset, in each API's own shape.

Each generates the shape that translation maps back exactly (a user string after tool
results, say, comes back as a one-part list: equal in meaning, not in form).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

texts = st.text(max_size=12)
names = st.text(alphabet="abcdefgh_", min_size=1, max_size=6)
ids = st.text(alphabet="abc0123", min_size=1, max_size=5).map(lambda s: f"call_{s}")
json_values = st.one_of(st.integers(-5, 5), texts, st.booleans(), st.none())
inputs = st.dictionaries(names, json_values, max_size=3)
schemas = st.builds(
    lambda props: {"type": "object", "properties": {p: {"type": "string"} for p in props}},
    st.lists(names, max_size=3),
)
media = st.sampled_from(["image/jpeg", "image/png", "image/gif", "image/webp"])
b64 = st.text(alphabet="ABCxyz019+/", min_size=4, max_size=12)
urls = st.builds(lambda n: f"https://example.com/{n}.png", names)


# -- Anthropic ------------------------------------------------------------------------------

a_text = st.builds(lambda t: {"type": "text", "text": t}, texts)
a_image = st.one_of(
    st.builds(lambda m, d: {"type": "image", "source": {"type": "base64", "media_type": m,
                                                        "data": d}}, media, b64),
    st.builds(lambda u: {"type": "image", "source": {"type": "url", "url": u}}, urls),
)  # fmt: skip
a_user_content = st.one_of(texts, st.lists(st.one_of(a_text, a_image), min_size=1, max_size=3))
a_use = st.builds(lambda i, n, x: {"type": "tool_use", "id": i, "name": n, "input": x},
                  ids, names, inputs)  # fmt: skip


@st.composite
def a_conversation(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Alternating turns; tool calls answered by tool results at the start of the next turn."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": draw(a_user_content)}]
    for _ in range(draw(st.integers(0, 3))):
        calls = draw(st.lists(a_use, max_size=2, unique_by=lambda b: b["id"]))
        said = draw(st.lists(a_text, max_size=2))
        plain = draw(texts) if not calls and draw(st.booleans()) else None
        content: Any = plain if plain is not None else said + calls
        if content == []:
            content = "…"
        messages.append({"role": "assistant", "content": content})
        results = [
            {"type": "tool_result", "tool_use_id": c["id"],
             "content": draw(st.one_of(texts, st.lists(a_text, max_size=2)))}
            for c in calls
        ]  # fmt: skip
        rest = draw(st.lists(st.one_of(a_text, a_image), min_size=0 if results else 1,
                             max_size=2))  # fmt: skip
        if not results and draw(st.booleans()):
            messages.append({"role": "user", "content": draw(texts)})
        else:
            messages.append({"role": "user", "content": results + rest})
        if draw(st.booleans()):
            messages.append({"role": "system", "content": draw(texts)})
    return messages


@st.composite
def anthropic_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A Messages request inside the common subset."""
    request: dict[str, Any] = {"model": "claude-sim", "max_tokens": draw(st.integers(1, 4096)),
                               "messages": draw(a_conversation())}  # fmt: skip
    system = draw(st.one_of(st.none(), texts, st.lists(a_text, min_size=1, max_size=2)))
    if system is not None:
        request["system"] = system
    sampling = {}
    if draw(st.booleans()):
        sampling["temperature"] = draw(st.floats(0, 1))
    if draw(st.booleans()):
        sampling["top_p"] = draw(st.floats(0, 1))
    if sampling:
        request["extra_body"] = sampling
    if draw(st.booleans()):
        request["stop_sequences"] = draw(st.lists(texts, max_size=4))
    tools = draw(st.lists(names, max_size=2, unique=True))
    if tools:
        request["tools"] = [
            {"name": n, "description": draw(texts), "input_schema": draw(schemas)} for n in tools
        ]
        choice: dict[str, Any] = draw(st.sampled_from([
            {"type": "auto"}, {"type": "any"}, {"type": "none"}, {"type": "tool", "name": tools[0]},
        ]))  # fmt: skip
        if choice["type"] != "none" and draw(st.booleans()):
            choice["disable_parallel_tool_use"] = draw(st.booleans())
        if draw(st.booleans()):
            request["tool_choice"] = choice
    if draw(st.booleans()):
        request["metadata"] = {"user_id": draw(names)}
    return request


# -- OpenAI ---------------------------------------------------------------------------------

o_text = st.builds(lambda t: {"type": "text", "text": t}, texts)
o_image = st.one_of(
    st.builds(lambda m, d: {"type": "image_url", "image_url": {"url": f"data:{m};base64,{d}"}},
              media, b64),
    st.builds(lambda u: {"type": "image_url", "image_url": {"url": u}}, urls),
)  # fmt: skip
o_call = st.builds(
    lambda i, n, x: {"id": i, "type": "function",
                     "function": {"name": n, "arguments": json.dumps(x, ensure_ascii=False)}},
    ids, names, inputs,
)  # fmt: skip


@st.composite
def o_conversation(draw: st.DrawFn) -> list[dict[str, Any]]:
    """User and assistant turns; each tool call answered by a tool message right after."""
    messages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": draw(st.one_of(
            texts, st.lists(o_text, min_size=1, max_size=2)))})  # fmt: skip
    messages.append({"role": "user", "content": draw(st.one_of(
        texts, st.lists(st.one_of(o_text, o_image), min_size=1, max_size=3)))})  # fmt: skip
    for _ in range(draw(st.integers(0, 3))):
        calls = draw(st.lists(o_call, max_size=2, unique_by=lambda c: c["id"]))
        assistant: dict[str, Any] = {"role": "assistant"}
        if calls:
            said = draw(st.lists(o_text, max_size=2))
            if said:
                assistant["content"] = said
            assistant["tool_calls"] = calls
        else:
            assistant["content"] = draw(st.one_of(texts, st.lists(o_text, min_size=1, max_size=2)))
        messages.append(assistant)
        messages.extend(
            {"role": "tool", "tool_call_id": c["id"],
             "content": draw(st.one_of(texts, st.lists(o_text, max_size=2)))}
            for c in calls
        )  # fmt: skip
        user = draw(st.lists(st.one_of(o_text, o_image), min_size=1, max_size=2))
        messages.append({"role": "user", "content": draw(texts) if not calls else user})
    return messages


@st.composite
def openai_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A Chat Completions request inside the common subset."""
    request: dict[str, Any] = {"model": "gpt-sim", "messages": draw(o_conversation()),
                               "max_completion_tokens": draw(st.integers(1, 4096))}  # fmt: skip
    if draw(st.booleans()):
        request["temperature"] = draw(st.floats(0, 1))
    if draw(st.booleans()):
        request["top_p"] = draw(st.floats(0, 1))
    if draw(st.booleans()):
        request["stop"] = draw(st.lists(texts, max_size=4))
    tools = draw(st.lists(names, max_size=2, unique=True))
    if tools:
        request["tools"] = [
            {"type": "function", "function": {"name": n, "description": draw(texts),
                                              "parameters": draw(schemas)}}
            for n in tools
        ]  # fmt: skip
        choice = draw(
            st.sampled_from(
                ["auto", "required", "none", {"type": "function", "function": {"name": tools[0]}}]
            )
        )
        if draw(st.booleans()):
            request["tool_choice"] = choice
            if choice != "none" and draw(st.booleans()):
                request["parallel_tool_calls"] = draw(st.booleans())
    if draw(st.booleans()):
        request["safety_identifier"] = draw(names)
    return request
