"""Provider wire formats: routes, success bodies, error bodies and headers.

Shapes are checked against the installed SDKs (anthropic 2.x, openai 3.x):

* Anthropic reads the ``request-id`` header into ``APIStatusError.request_id``, ``error.type``
  into ``.type`` and ``error.details.error_code`` (only if a str) into ``.error_code``; the
  pair ``(status, error_code)`` picks the exception subclass (``anthropic._error_classes``).
* OpenAI reads ``x-request-id`` into ``.request_id`` and unwraps ``body["error"]``, whose
  ``code``, ``type`` and ``param`` become attributes of the exception.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from riprap.sim._text import continuation, split_prefill

if TYPE_CHECKING:
    from collections.abc import Mapping

    from riprap.sim._script import Reply

Provider: TypeAlias = Literal["anthropic", "openai"]
Route: TypeAlias = Literal["messages", "count_tokens", "chat", "models", "unknown"]

_ROUTES: Final[Mapping[tuple[str, str], tuple[Provider | None, Route]]] = {
    ("POST", "/v1/messages"): ("anthropic", "messages"),
    ("POST", "/v1/messages/count_tokens"): ("anthropic", "count_tokens"),
    ("POST", "/v1/chat/completions"): ("openai", "chat"),
    ("GET", "/v1/models"): (None, "models"),
}
_OPENAI_PREFIXES: Final = ("/v1/chat/", "/v1/completions", "/v1/responses", "/v1/embeddings")

# Anthropic error `type` and message for each status. 413 is `request_too_large` on the wire
# even though the SDK's `ErrorType` literal does not list it; the SDK keeps any string.
_ANTHROPIC_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "Not found."),
    408: ("timeout_error", "Request timed out."),
    409: ("conflict_error", "Conflict."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    422: ("invalid_request_error", "Unprocessable request."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your rate limit."),
    500: ("api_error", "Internal server error."),
    502: ("api_error", "Bad gateway."),
    503: ("api_error", "Service unavailable."),
    504: ("timeout_error", "Request timed out."),
    529: ("overloaded_error", "Overloaded"),
}
# Anthropic `error.details.error_code` values the SDK maps to dedicated exception classes
# for spend limits (anthropic/types/shared/*spend_limit*):
#   429 "contract_spend_limit_reached"           -> ContractSpendLimitReachedError(RateLimitError)
#   429 "enforced_spend_limit_reached"           -> EnforcedSpendLimitReachedError(RateLimitError)
#   402 "linked_organization_spend_limit_reached" -> LinkedOrganizationSpendLimitReachedError
# Neighbours worth knowing: 429 "ramp_limit_exceeded",
# 402 "linked_organization_billing_unavailable".
ANTHROPIC_SPEND_LIMIT_CODES: Final = frozenset(
    {
        "contract_spend_limit_reached",
        "enforced_spend_limit_reached",
        "linked_organization_spend_limit_reached",
    }
)

# OpenAI error `type`, `code` and message for each status, after the live API.
_OPENAI_ERRORS: Final[Mapping[int, tuple[str, str | None, str]]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", None, "You are not allowed to access this resource."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    408: ("invalid_request_error", None, "Request timed out."),
    409: ("invalid_request_error", None, "Conflict."),
    413: ("invalid_request_error", None, "Request too large."),
    422: ("invalid_request_error", None, "Unprocessable request."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "Gateway timeout."),
    529: ("server_error", None, "Overloaded."),
}
# Codes whose `type` and message differ from the status default. OpenAI reports an exhausted
# balance as 429 with type == code == "insufficient_quota": not retryable, unlike a rate limit.
_OPENAI_CODES: Final[Mapping[str, tuple[str, str, str | None]]] = {
    "insufficient_quota": (
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details.",
        None,
    ),
    "context_length_exceeded": (
        "invalid_request_error",
        "This model's maximum context length was exceeded.",
        "messages",
    ),
}

_WORDS: Final = (
    "stone", "river", "bank", "current", "flood", "rock", "shore", "wave",
    "gravel", "levee", "channel", "bend", "delta", "eddy", "ford", "marsh",
    "pebble", "quay", "reef", "silt", "tide", "weir", "basin", "brook",
    "cobble", "dune", "estuary", "fjord", "groyne", "harbour", "inlet", "jetty",
)  # fmt: skip
_EPOCH: Final = 1_700_000_000  # fixed `created` base so bodies are reproducible
JSON: Final = "application/json"


def route(method: str, path: str, headers: Mapping[str, str]) -> tuple[Provider | None, Route]:
    """Classify a request by endpoint and, where the path is shared, by SDK headers."""
    path = path.rstrip("/") or "/"
    provider, kind = _ROUTES.get((method, path), (None, "unknown"))
    if provider is None:
        if path.startswith("/v1/messages") or "anthropic-version" in headers:
            provider = "anthropic"
        elif path.startswith(_OPENAI_PREFIXES) or "authorization" in headers:
            provider = "openai"
    return provider, kind


def request_id(index: int) -> str:
    """Request id of request number ``index``, as the provider header carries it."""
    return f"req_sim_{index:06d}"


def _canonical(messages: object) -> str:
    return json.dumps(messages, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _words(canonical: str, max_tokens: int | None) -> tuple[str, bool]:
    digest = hashlib.blake2b(canonical.encode(), digest_size=16).digest()
    count = 4 + digest[0] % 9
    truncated = max_tokens is not None and max_tokens < count
    if max_tokens is not None:
        count = min(count, max_tokens)
    return " ".join(_WORDS[b % len(_WORDS)] for b in digest[1 : 1 + count]), truncated


def default_text(messages: object, max_tokens: int | None = None) -> str:
    """The assistant text a default success reply carries for these request ``messages``.

    4 to 12 words chosen by a hash of the canonical JSON of ``messages``, cut to
    ``max_tokens`` words (then the stop reason is ``max_tokens`` / ``length``).
    """
    return _words(_canonical(messages), max_tokens)[0]


def expected_text(messages: object, max_tokens: int | None = None) -> str:
    """The full assistant text an Anthropic caller should end up with for ``messages``.

    A final assistant turn made of text is ignored: the simulator treats it as the start of
    this same text and replies with the rest, so prefill + reply == ``expected_text`` when
    the prefill is a prefix of it. Without such a turn this is ``default_text``. (OpenAI has
    no prefill: there a trailing assistant turn is conversation, use ``default_text``.)
    """
    return _words(_canonical(split_prefill(messages)[0]), max_tokens)[0]


def estimate_input_tokens(messages: object) -> int:
    """Input tokens a default reply reports: a quarter of the canonical JSON's length."""
    return max(1, math.ceil(len(_canonical(messages)) / 4))


def _int_field(body: object, *names: str) -> int | None:
    if isinstance(body, dict):
        for name in names:
            value = body.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
    return None


def _completion(
    reply: Reply, body: object, limit: int | None, *, prefill: bool = False
) -> tuple[str, bool, int, int]:
    """Text, truncated flag and (input, output) tokens of a success reply.

    With ``prefill`` (Anthropic), a final assistant turn is continued: see ``expected_text``.
    """
    messages = body.get("messages") if isinstance(body, dict) else None
    canonical = _canonical(messages)
    conversation, prefix = split_prefill(messages) if prefill else (messages, None)
    if prefix is not None:
        full = reply.text if reply.text is not None else _words(_canonical(conversation), None)[0]
        cap = limit if reply.text is None else None  # Reply.text is sent whole, as below
        text, truncated = continuation(full, prefix, cap)
    elif reply.text is not None:
        text, truncated = reply.text, False
    else:
        text, truncated = _words(canonical, limit)
    if reply.usage is not None:
        return text, truncated, *reply.usage
    return text, truncated, max(1, math.ceil(len(canonical) / 4)), max(1, len(text.split()))


def max_output_tokens(provider: Provider | None, body: object) -> int | None:
    """The output ceiling a request body sets, under its provider's names."""
    names = ("max_tokens",) if provider == "anthropic" else ("max_completion_tokens", "max_tokens")
    return _int_field(body, *names)


def usage_of(reply: Reply, provider: Provider | None, body: object) -> tuple[int, int]:
    """(input, output) tokens a success ``reply`` to ``body`` reports in its usage."""
    limit = max_output_tokens(provider, body)
    _, _, tokens_in, tokens_out = _completion(reply, body, limit, prefill=provider == "anthropic")
    return tokens_in, tokens_out


def _model(body: object, fallback: str) -> str:
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else fallback


def _anthropic_success(reply: Reply, route_: Route, index: int, body: object) -> object:
    if route_ == "models":
        model = {
            "type": "model",
            "id": "claude-sim-1",
            "display_name": "Claude Sim",
            "created_at": "2025-01-01T00:00:00Z",
            "lifecycle": "active",
        }
        return {"data": [model], "has_more": False, "first_id": model["id"], "last_id": model["id"]}
    if route_ == "count_tokens":
        return {"input_tokens": _completion(reply, body, None)[2]}
    text, truncated, tokens_in, tokens_out = _completion(
        reply, body, _int_field(body, "max_tokens"), prefill=True
    )
    return {
        "id": f"msg_sim_{index:06d}",
        "type": "message",
        "role": "assistant",
        "model": _model(body, "claude-sim-1"),
        "content": [{"type": "text", "text": text}],
        "stop_reason": "max_tokens" if truncated else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
    }


def _openai_success(reply: Reply, route_: Route, index: int, body: object) -> object:
    if route_ == "models":
        model = {"id": "gpt-sim-1", "object": "model", "created": _EPOCH, "owned_by": "riprap"}
        return {"object": "list", "data": [model]}
    limit = _int_field(body, "max_completion_tokens", "max_tokens")
    text, truncated, tokens_in, tokens_out = _completion(reply, body, limit)
    return {
        "id": f"chatcmpl-sim{index:06d}",
        "object": "chat.completion",
        "created": _EPOCH + index,
        "model": _model(body, "gpt-sim-1"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "length" if truncated else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        },
    }


def _anthropic_error(reply: Reply, index: int) -> object:
    status = reply.status
    default_type, default_message = _ANTHROPIC_ERRORS.get(
        status,
        ("api_error" if status >= 500 else "invalid_request_error", f"HTTP {status}"),  # noqa: PLR2004
    )
    error: dict[str, object] = {
        "type": reply.error_type or default_type,
        "message": reply.message or default_message,
    }
    if reply.error_code is not None:
        error["details"] = {"error_code": reply.error_code}
    return {"type": "error", "error": error, "request_id": request_id(index)}


def _openai_error(reply: Reply) -> object:
    status = reply.status
    error_type, code, message = _OPENAI_ERRORS.get(
        status,
        ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}"),  # noqa: PLR2004
    )
    param = None
    if reply.error_code is not None:
        code = reply.error_code
        error_type, message, param = _OPENAI_CODES.get(code, (error_type, message, None))
    return {
        "error": {
            "message": reply.message or message,
            "type": reply.error_type or error_type,
            "param": param,
            "code": code,
        }
    }


def render(
    reply: Reply, provider: Provider | None, route_: Route, index: int, body: object
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body bytes of ``reply`` to request ``index`` on this route."""
    payload = reply.encoded_body
    if payload is None:
        if reply.is_error:
            shaped = (
                _anthropic_error(reply, index) if provider == "anthropic" else _openai_error(reply)
            )
        elif provider == "anthropic":
            shaped = _anthropic_success(reply, route_, index, body)
        else:
            shaped = _openai_success(reply, route_, index, body)
        payload = json.dumps(shaped, separators=(",", ":")).encode()
    rid = request_id(index)
    headers = [("content-type", reply.content_type or JSON)]
    # Each SDK reads only its own header; an unclassified request gets both.
    if provider != "openai":
        headers.append(("request-id", rid))
    if provider != "anthropic":
        headers.append(("x-request-id", rid))
    if reply.headers:
        headers = [(k, v) for k, v in headers if k not in reply.headers]
        headers.extend(reply.headers.items())
    return reply.status, headers, payload
