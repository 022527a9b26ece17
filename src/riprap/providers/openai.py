"""OpenAI Chat Completions (and Responses, embeddings), through the official `openai` SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from riprap._failure import Failure, clip_message
from riprap._kinds import RULES, Kind
from riprap.providers._base import SdkAdapter, body_field
from riprap.providers._helpers import openai_chat_stream
from riprap.providers._streams import OpenAIStreamCodec

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from riprap.providers._streams import StreamCodec

#: Error codes that mean the account cannot pay, whatever the status (OpenAI sends
#: `insufficient_quota` with a 429). Waiting does not help: `quota_exhausted`.
QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})

#: `error.code` / `error.type` of an error event inside a stream → kind; anything else
#: the server sends mid-stream is taken as its own transient failure.
STREAM_ERROR_KINDS = {
    "rate_limit_exceeded": Kind.RATE_LIMITED,
    "insufficient_quota": Kind.QUOTA_EXHAUSTED,
    "invalid_request_error": Kind.INVALID_REQUEST,
    "context_length_exceeded": Kind.CONTEXT_OVERFLOW,
}

#: The error code OpenAI sends with a 400 for a prompt over the context window.
CONTEXT_OVERFLOW_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})


class OpenAIAdapter(SdkAdapter):
    """Classifies `openai` SDK failures; wraps `chat.completions.create` and friends."""

    name: ClassVar[str] = "openai"
    module_name: ClassVar[str] = "openai"
    request_id_header: ClassVar[str] = "x-request-id"
    stream_codec: ClassVar[StreamCodec | None] = OpenAIStreamCodec()
    helpers: ClassVar[Mapping[tuple[str, ...], Callable[..., Any]]] = {
        ("chat", "completions", "stream"): openai_chat_stream,
    }
    secret_attributes: ClassVar[tuple[str, ...]] = ("api_key", "admin_api_key", "webhook_secret")
    endpoints: ClassVar[frozenset[tuple[str, ...]]] = frozenset(
        {
            ("chat", "completions", "create"),
            ("responses", "create"),
            ("embeddings", "create"),
        }
    )

    def classify_other(self, error: BaseException, secrets: tuple[str, ...]) -> Failure | None:
        """An error event inside a 200 stream: the SDK raises a bare `APIError` with its body."""
        if not isinstance(error, self.sdk.APIError):
            return None
        code = error.code or error.type
        kind = STREAM_ERROR_KINDS.get(code or "", Kind.SERVER_ERROR)
        return Failure(
            kind=kind,
            retryable=RULES[kind].retryable,
            provider=self.name,
            error_code=code,
            message=clip_message(str(error.message), secrets=secrets),
        )

    def error_code_and_message(self, error: Any) -> tuple[str | None, str]:
        """`error.code` (or `error.type`) and `error.message`; the SDK unwraps `error`."""
        code = error.code or error.type
        message = body_field(error.body, "message")
        if not isinstance(message, str):
            message = str(error.message)
        return (code if isinstance(code, str) else None), message

    def refine(self, kind: Kind, *, status: int, code: str | None, message: str) -> Kind:
        """Billing codes are quota at any status; `context_length_exceeded` is overflow."""
        del status, message  # OpenAI's codes say it all; its messages are for people
        if code in QUOTA_CODES:
            return Kind.QUOTA_EXHAUSTED
        if code in CONTEXT_OVERFLOW_CODES:
            return Kind.CONTEXT_OVERFLOW
        return kind
