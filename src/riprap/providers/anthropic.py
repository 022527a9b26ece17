"""The Anthropic Messages API, through the official `anthropic` SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from riprap._kinds import Kind
from riprap.providers._base import SdkAdapter, body_field
from riprap.providers._helpers import anthropic_messages_stream
from riprap.providers._streams import AnthropicStreamCodec

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from riprap._failure import Failure
    from riprap.providers._streams import StreamCodec

#: `error.details.error_code` values of a 429 that mean money, not rate: the
#: organization's spend limit (`anthropic.types.shared.*_spend_limit_reached_error`).
#: Waiting does not help, so they are `quota_exhausted`, never retried.
SPEND_LIMIT_CODES = frozenset({"enforced_spend_limit_reached", "contract_spend_limit_reached"})

#: The start of Anthropic's message for a prompt over the context window. No field says
#: it (the type is plain `invalid_request_error`), so this is the one place riprap reads
#: a message to decide; the test suite pins it.
CONTEXT_OVERFLOW_MARKER = "prompt is too long"
#: The other wording, when the prompt fits but prompt + `max_tokens` do not: "input
#: length and `max_tokens` exceed context limit: 195000 + 8192 > 200000".
CONTEXT_LIMIT_MARKER = "exceed context limit"
#: How Anthropic words a 400 for an account out of prepaid credit: billing, not a bad
#: request, so another provider may still answer (and retrying never helps).
CREDIT_EXHAUSTED_MARKER = "credit balance is too low"

#: `error.type` → kind, for errors that arrive without an error status: an `error` event
#: inside a 200 stream (the SDK raises it as an APIStatusError with status 200).
ERROR_TYPE_KINDS = {
    "invalid_request_error": Kind.INVALID_REQUEST,
    "authentication_error": Kind.AUTHENTICATION,
    "billing_error": Kind.QUOTA_EXHAUSTED,
    "permission_error": Kind.PERMISSION,
    "not_found_error": Kind.NOT_FOUND,
    "request_too_large": Kind.CONTEXT_OVERFLOW,
    "rate_limit_error": Kind.RATE_LIMITED,
    "api_error": Kind.SERVER_ERROR,
    "overloaded_error": Kind.OVERLOADED,
    "timeout_error": Kind.TIMEOUT,
}


class AnthropicAdapter(SdkAdapter):
    """Classifies `anthropic` SDK failures; wraps `messages.create` and friends."""

    name: ClassVar[str] = "anthropic"
    module_name: ClassVar[str] = "anthropic"
    request_id_header: ClassVar[str] = "request-id"
    stream_codec: ClassVar[StreamCodec | None] = AnthropicStreamCodec()
    helpers: ClassVar[Mapping[tuple[str, ...], Callable[..., Any]]] = {
        ("messages", "stream"): anthropic_messages_stream,
    }
    endpoints: ClassVar[frozenset[tuple[str, ...]]] = frozenset(
        {
            ("messages", "create"),
            ("messages", "count_tokens"),
            ("beta", "messages", "create"),
            ("beta", "messages", "count_tokens"),
        }
    )

    def precheck(self, client: Any, kwargs: Mapping[str, object]) -> None:
        """Refuse, as the SDK does, a non-streaming call that may take over 10 minutes.

        The SDK skips its check when the caller sets a timeout; riprap always sets one,
        so it runs the SDK's own check first.
        """
        max_tokens = self.max_tokens(kwargs)
        check = getattr(client, "_calculate_nonstreaming_timeout", None)
        if kwargs.get("stream") is True or max_tokens is None or check is None:
            return
        model = kwargs.get("model")
        limits = getattr(self.sdk, "_constants", None)
        table = getattr(limits, "MODEL_NONSTREAMING_TOKENS", {})
        check(max_tokens, table.get(model) if isinstance(model, str) else None)

    def classify_other(self, error: BaseException, secrets: tuple[str, ...]) -> Failure | None:
        """`anthropic.RetryableError`: middleware asking for a retry, cause unknown."""
        if isinstance(error, self.sdk.RetryableError):
            return self._plain(Kind.SERVER_ERROR, error, secrets)
        return None

    def error_code_and_message(self, error: Any) -> tuple[str | None, str]:
        """`error.details.error_code` (or `error.type`) and `error.message` of the body."""
        code = error.error_code or error.type
        message = error.api_message
        if not isinstance(message, str):
            message = str(body_field(error.body, "error", "message") or error.message)
        return (code if isinstance(code, str) else None), message

    def refine(self, kind: Kind, *, status: int, code: str | None, message: str) -> Kind:
        """Refine a status's kind by the body.

        Spend-limit 429s and out-of-credit 400s are quota; "prompt is too long" 400s are
        context overflow.
        """
        if status < 400:  # noqa: PLR2004 - an error event inside a successful stream
            return ERROR_TYPE_KINDS.get(code or "", Kind.SERVER_ERROR)
        if kind is Kind.RATE_LIMITED and code in SPEND_LIMIT_CODES:
            return Kind.QUOTA_EXHAUSTED
        lowered = message.lower()
        if kind is Kind.INVALID_REQUEST and (
            CONTEXT_OVERFLOW_MARKER in lowered or CONTEXT_LIMIT_MARKER in lowered
        ):
            return Kind.CONTEXT_OVERFLOW
        if kind is Kind.INVALID_REQUEST and CREDIT_EXHAUSTED_MARKER in lowered:
            return Kind.QUOTA_EXHAUSTED
        # A 5xx whose body says overloaded (proxies sometimes rewrite 529) is overload.
        if kind is Kind.SERVER_ERROR and code == "overloaded_error":
            return Kind.OVERLOADED
        return kind
