"""The provider-neutral failure kinds and what each one means for the layers above.

This table is the heart of riprap: a provider adapter classifies every failure once into
a `Kind`, and every later decision (retry, breaker, fallback) reads the kind's `Rule`,
never a status code or an exception class. See docs/architecture.md for the table's
reasoning; `tests/test_kinds.py` pins every row.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType


class Kind(enum.StrEnum):
    """What went wrong, in words that mean the same for every provider."""

    INVALID_REQUEST = "invalid_request"
    CONTEXT_OVERFLOW = "context_overflow"
    AUTHENTICATION = "authentication"
    QUOTA_EXHAUSTED = "quota_exhausted"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    SERVER_ERROR = "server_error"
    CONFLICT = "conflict"
    REQUEST_TIMEOUT = "request_timeout"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    STREAM_INTERRUPTED = "stream_interrupted"
    RESPONSE_INVALID = "response_invalid"
    OUTPUT_INVALID = "output_invalid"


class Fallback(enum.StrEnum):
    """Whether a failure of this kind may move a call to the next target."""

    NO = "no"
    YES = "yes"
    #: Only to a target that can hold more context (or after trimming the prompt).
    LARGER_CONTEXT = "larger_context"
    #: The user decides (a model missing from one plan may exist in another).
    CONFIGURABLE = "configurable"


@dataclass(frozen=True, slots=True)
class Rule:
    """What the layers do with one kind of failure."""

    #: Whether the retry loop may try the same target again.
    retryable: bool
    #: Whether the failure says the target is unhealthy (counts against its breaker).
    counts_against_breaker: bool
    #: Whether a fallback chain may move on to its next target.
    fallback: Fallback
    #: How many attempts this kind allows at most, whatever the policy says; `None` is "the
    #: policy's number". A body that does not parse is retried once: a second garbled body
    #: says the endpoint is broken, not unlucky.
    max_attempts: int | None = None


_Y, _N = True, False

#: design.md §2, as data. Order of the columns: retryable, breaker, fallback.
RULES: MappingProxyType[Kind, Rule] = MappingProxyType(
    {
        Kind.INVALID_REQUEST: Rule(_N, _N, Fallback.NO),
        Kind.CONTEXT_OVERFLOW: Rule(_N, _N, Fallback.LARGER_CONTEXT),
        Kind.AUTHENTICATION: Rule(_N, _N, Fallback.NO),
        Kind.QUOTA_EXHAUSTED: Rule(_N, _N, Fallback.YES),
        Kind.PERMISSION: Rule(_N, _N, Fallback.CONFIGURABLE),
        Kind.NOT_FOUND: Rule(_N, _N, Fallback.CONFIGURABLE),
        # 429 is the limiter's business, not a sign of an unhealthy target.
        Kind.RATE_LIMITED: Rule(_Y, _N, Fallback.YES),
        Kind.OVERLOADED: Rule(_Y, _Y, Fallback.YES),
        Kind.SERVER_ERROR: Rule(_Y, _Y, Fallback.YES),
        Kind.CONFLICT: Rule(_Y, _N, Fallback.NO),
        Kind.REQUEST_TIMEOUT: Rule(_Y, _N, Fallback.NO),
        Kind.TIMEOUT: Rule(_Y, _Y, Fallback.YES),
        Kind.CONNECTION: Rule(_Y, _Y, Fallback.YES),
        Kind.STREAM_INTERRUPTED: Rule(_Y, _Y, Fallback.YES),
        Kind.RESPONSE_INVALID: Rule(_Y, _Y, Fallback.YES, max_attempts=2),
        # Re-asked with the validation error by the output layer, not retried blindly.
        Kind.OUTPUT_INVALID: Rule(_N, _N, Fallback.NO),
    }
)

#: HTTP status → kind, before provider-specific refinements (billing 429s, context
#: overflow in a 400). Statuses not listed fall to `kind_for_status`'s ranges.
STATUS_KINDS: MappingProxyType[int, Kind] = MappingProxyType(
    {
        400: Kind.INVALID_REQUEST,
        401: Kind.AUTHENTICATION,
        402: Kind.QUOTA_EXHAUSTED,
        403: Kind.PERMISSION,
        404: Kind.NOT_FOUND,
        408: Kind.REQUEST_TIMEOUT,
        409: Kind.CONFLICT,
        413: Kind.CONTEXT_OVERFLOW,
        422: Kind.INVALID_REQUEST,
        429: Kind.RATE_LIMITED,
        500: Kind.SERVER_ERROR,
        502: Kind.SERVER_ERROR,
        503: Kind.SERVER_ERROR,
        504: Kind.SERVER_ERROR,
        529: Kind.OVERLOADED,
    }
)


def kind_for_status(status: int) -> Kind:
    """The kind of an HTTP error status, before provider refinements."""
    known = STATUS_KINDS.get(status)
    if known is not None:
        return known
    # Unknown 5xx are the server's fault and transient as far as we can tell; unknown
    # 4xx are ours and will fail the same way again.
    return Kind.SERVER_ERROR if status >= 500 else Kind.INVALID_REQUEST  # noqa: PLR2004
