"""The Anthropic Messages API, through the official `anthropic` SDK."""

from __future__ import annotations

from typing import Any, ClassVar

from riprap._kinds import Kind
from riprap.providers._base import SdkAdapter, body_field

#: `error.details.error_code` values of a 429 that mean money, not rate: the
#: organization's spend limit (`anthropic.types.shared.*_spend_limit_reached_error`).
#: Waiting does not help, so they are `quota_exhausted`, never retried.
SPEND_LIMIT_CODES = frozenset({"enforced_spend_limit_reached", "contract_spend_limit_reached"})

#: The start of Anthropic's message for a prompt over the context window. No field says
#: it (the type is plain `invalid_request_error`), so this is the one place riprap reads
#: a message to decide; the test suite pins it.
CONTEXT_OVERFLOW_MARKER = "prompt is too long"


class AnthropicAdapter(SdkAdapter):
    """Classifies `anthropic` SDK failures; wraps `messages.create` and friends."""

    name: ClassVar[str] = "anthropic"
    module_name: ClassVar[str] = "anthropic"
    request_id_header: ClassVar[str] = "request-id"
    endpoints: ClassVar[frozenset[tuple[str, ...]]] = frozenset(
        {
            ("messages", "create"),
            ("messages", "count_tokens"),
            ("beta", "messages", "create"),
            ("beta", "messages", "count_tokens"),
        }
    )

    def error_code_and_message(self, error: Any) -> tuple[str | None, str]:
        """`error.details.error_code` (or `error.type`) and `error.message` of the body."""
        code = error.error_code or error.type
        message = error.api_message
        if not isinstance(message, str):
            message = str(body_field(error.body, "error", "message") or error.message)
        return (code if isinstance(code, str) else None), message

    def refine(self, kind: Kind, *, status: int, code: str | None, message: str) -> Kind:
        """Spend-limit 429s are quota; "prompt is too long" 400s are context overflow."""
        del status  # the kind already says what the status said
        if kind is Kind.RATE_LIMITED and code in SPEND_LIMIT_CODES:
            return Kind.QUOTA_EXHAUSTED
        if kind is Kind.INVALID_REQUEST and CONTEXT_OVERFLOW_MARKER in message.lower():
            return Kind.CONTEXT_OVERFLOW
        # A 5xx whose body says overloaded (proxies sometimes rewrite 529) is overload.
        if kind is Kind.SERVER_ERROR and code == "overloaded_error":
            return Kind.OVERLOADED
        return kind
