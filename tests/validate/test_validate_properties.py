"""Properties of input validation, over generated requests for both providers.

Valid requests are never refused; a request broken in one place is always refused, with
the path of that place; and no input whatever makes validation raise anything outside
riprap's exception tree.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riprap.errors import RiprapError
from riprap.models import Registry, UnknownModelWarning
from riprap.validate import CheckedRequest, InputRules, PromptValidationError, validate_request

REGISTRY = Registry.default()
ANTHROPIC_MODELS = sorted(m.id for m in REGISTRY if m.provider == "anthropic")
OPENAI_MODELS = sorted(m.id for m in REGISTRY if m.provider == "openai")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

words = st.text(alphabet="abcdefghij klmnop.,", min_size=1, max_size=40).map(str.strip).filter(bool)


# -- valid requests ---------------------------------------------------------------------


@st.composite
def anthropic_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed Anthropic request, with tool exchanges and optional parameters."""
    model = REGISTRY[draw(st.sampled_from(ANTHROPIC_MODELS))]
    messages: list[dict[str, Any]] = [{"role": "user", "content": draw(words)}]
    for n in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            messages.append(
                {"role": "assistant", "content": [{"type": "text", "text": draw(words)}]}
            )
            messages.append({"role": "user", "content": draw(words)})
        else:
            call_id = f"toolu_{n}"
            use = {"type": "tool_use", "id": call_id, "name": "lookup", "input": {"q": draw(words)}}
            result = {"type": "tool_result", "tool_use_id": call_id, "content": draw(words)}
            messages.append({"role": "assistant", "content": [use]})
            messages.append({"role": "user", "content": [result]})
    if model.rejects("prefill") is False and draw(st.booleans()):
        messages.append({"role": "assistant", "content": draw(words)})
    kwargs: dict[str, Any] = {
        "model": draw(st.sampled_from([model.id, *model.aliases])),
        "max_tokens": draw(st.integers(0, model.max_output_tokens)),
        "messages": messages,
    }
    if draw(st.booleans()):
        kwargs["system"] = draw(words)
    if not model.rejects("sampling") and draw(st.booleans()):
        kwargs["extra_body"] = {
            "temperature": draw(st.floats(0, 1)),
            "top_k": draw(st.integers(0, 500)),
        }
    return kwargs


@st.composite
def openai_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed OpenAI request, with tool calls and optional parameters."""
    model = REGISTRY[draw(st.sampled_from(OPENAI_MODELS))]
    messages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        messages.append(
            {"role": draw(st.sampled_from(["system", "developer"])), "content": draw(words)}
        )
    for n in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["user", "assistant", "tools"]))
        if kind == "tools":
            ids = [f"call_{n}_{k}" for k in range(draw(st.integers(1, 3)))]
            calls = [
                {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                for i in ids
            ]
            messages.append({"role": "assistant", "content": None, "tool_calls": calls})
            messages += [
                {"role": "tool", "tool_call_id": i, "content": draw(words)}
                for i in draw(st.permutations(ids))
            ]
        else:
            messages.append({"role": kind, "content": draw(words)})
    kwargs: dict[str, Any] = {"model": model.id, "messages": messages}
    if draw(st.booleans()):
        kwargs[draw(st.sampled_from(["max_tokens", "max_completion_tokens"]))] = draw(
            st.integers(1, model.max_output_tokens)
        )
    if draw(st.booleans()):
        kwargs["temperature"] = draw(st.floats(0, 2))
    if draw(st.booleans()):
        kwargs["top_p"] = draw(st.floats(0, 1))
    return kwargs


@FAST
@given(anthropic_requests())
def test_valid_anthropic_requests_are_never_refused(kwargs: dict[str, Any]) -> None:
    """Every well-formed Anthropic request passes validation."""
    assert isinstance(validate_request("anthropic", kwargs), CheckedRequest)


@FAST
@given(openai_requests())
def test_valid_openai_requests_are_never_refused(kwargs: dict[str, Any]) -> None:
    """Every well-formed OpenAI request passes validation."""
    assert isinstance(validate_request("openai", kwargs), CheckedRequest)


# -- one thing broken -------------------------------------------------------------------

bad_roles = st.text(min_size=0, max_size=12).filter(
    lambda r: r not in {"user", "assistant", "system", "developer", "tool", "function"}
)


@st.composite
def broken_anthropic(draw: st.DrawFn) -> tuple[dict[str, Any], str]:  # noqa: PLR0911 - one return per kind of break
    """A valid request broken in one place, and the path of that place."""
    kwargs = copy.deepcopy(draw(anthropic_requests()))
    messages = kwargs["messages"]
    model = REGISTRY[kwargs["model"]]
    i = draw(st.integers(0, len(messages) - 1))
    how = draw(st.sampled_from(["empty", "role", "system", "first", "max_tokens", "model",
                                "content", "temperature", "tool_id"]))  # fmt: skip
    if how == "empty":
        kwargs["messages"] = []
        return kwargs, "messages"
    if how == "role":
        messages[i]["role"] = draw(bad_roles)
        return kwargs, f"messages[{i}].role"
    if how == "system":
        messages[i]["role"] = "system"
        return kwargs, f"messages[{i}].role"
    if how == "first":
        messages[0]["role"] = "assistant"
        return kwargs, "messages[0].role"
    if how == "max_tokens":
        kwargs["max_tokens"] = draw(
            st.one_of(st.integers(max_value=-1), st.integers(min_value=model.max_output_tokens + 1))
        )
        return kwargs, "max_tokens"
    if how == "model":
        kwargs["model"] = draw(st.sampled_from(["", None, 42, "gpt-4o"]))
        return kwargs, "model"
    if how == "temperature" and not model.rejects("sampling"):
        kwargs["extra_body"] = {"temperature": draw(st.floats(1.01, 100))}
        return kwargs, "extra_body.temperature"
    results = [
        (n, j)
        for n, m in enumerate(messages)
        if isinstance(m["content"], list)
        for j, b in enumerate(m["content"])
        if b["type"] == "tool_result"
    ]
    if how == "tool_id" and results:
        n, j = draw(st.sampled_from(results))
        messages[n]["content"][j]["tool_use_id"] = "toolu_nowhere"
        return kwargs, f"messages[{n}].content[{j}].tool_use_id"
    # "content", and the fallbacks: empty the first message's text.
    messages[0]["content"] = ""
    return kwargs, "messages[0].content"


@st.composite
def broken_openai(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid request broken in one place, and the path of that place."""
    kwargs = copy.deepcopy(draw(openai_requests()))
    messages = kwargs["messages"]
    model = REGISTRY[kwargs["model"]]
    i = draw(st.integers(0, len(messages) - 1))
    how = draw(st.sampled_from(["empty", "role", "max_tokens", "temperature", "top_p", "tool"]))
    if how == "empty":
        kwargs["messages"] = []
        return kwargs, "messages"
    if how == "role":
        messages[i]["role"] = draw(bad_roles)
        return kwargs, f"messages[{i}].role"
    if how == "max_tokens":
        kwargs.pop("max_completion_tokens", None)
        kwargs["max_tokens"] = draw(
            st.one_of(st.integers(max_value=0), st.integers(min_value=model.max_output_tokens + 1))
        )
        return kwargs, "max_tokens"
    if how == "temperature":
        kwargs["temperature"] = draw(st.one_of(st.floats(2.01, 1e6), st.floats(-1e6, -0.01)))
        return kwargs, "temperature"
    tools = [n for n, m in enumerate(messages) if m["role"] == "tool"]
    if how == "tool" and tools:
        n = draw(st.sampled_from(tools))
        answered = messages[n]["tool_call_id"]
        del messages[n]
        caller = max(k for k, m in enumerate(messages[:n]) if m.get("tool_calls"))
        k = next(k for k, c in enumerate(messages[caller]["tool_calls"]) if c["id"] == answered)
        return kwargs, f"messages[{caller}].tool_calls[{k}].id"
    kwargs["top_p"] = draw(st.floats(1.01, 10))
    return kwargs, "top_p"


@FAST
@given(broken_anthropic())
def test_broken_anthropic_requests_are_refused_at_the_broken_field(
    case: tuple[dict[str, Any], str],
) -> None:
    """A request broken in one place is refused, with that place's path."""
    kwargs, path = case
    with pytest.raises(PromptValidationError) as caught:
        validate_request("anthropic", kwargs)
    assert caught.value.path == path, str(caught.value)


@FAST
@given(broken_openai())
def test_broken_openai_requests_are_refused_at_the_broken_field(
    case: tuple[dict[str, Any], str],
) -> None:
    """A request broken in one place is refused, with that place's path."""
    kwargs, path = case
    with pytest.raises(PromptValidationError) as caught:
        validate_request("openai", kwargs)
    assert caught.value.path == path, str(caught.value)


# -- anything at all --------------------------------------------------------------------

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["role", "content", "type", "text", "id", "name", "input", "tool_use_id", "tool_calls",
         "tool_call_id", "source", "image_url", "url", "function"]), inner, max_size=5),
    max_leaves=20,
)  # fmt: skip
garbage = st.dictionaries(
    st.sampled_from(["model", "max_tokens", "max_completion_tokens", "messages", "system",
                     "temperature", "top_p", "top_k", "n", "tools", "extra_body",
                     "stop_sequences"]),
    json_like | st.sampled_from(["claude-haiku-4-5", "gpt-4o", "claude-opus-4-6"]),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["anthropic", "openai"]), garbage)
def test_nothing_raises_outside_riprap(provider: str, kwargs: dict[str, Any]) -> None:
    """Whatever the arguments, validation passes or raises a riprap error, nothing else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownModelWarning)
        with contextlib.suppress(RiprapError):
            validate_request(provider, kwargs, rules=InputRules())
