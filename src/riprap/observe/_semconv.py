"""Every name riprap's telemetry exports, in one place: GenAI semantic conventions and ours.

The OpenTelemetry GenAI conventions are still in development and still renaming things:
`gen_ai.system` became `gen_ai.provider.name` (semantic-conventions v1.37.0, PR #2046), and the
conventions have since moved to their own repository (open-telemetry/
semantic-conventions-genai), whose drafts rename `gen_ai.client.operation.duration` to
`gen_ai.client.inference.duration` and split `gen_ai.client.token.usage` into counters.
riprap follows the published conventions that the `opentelemetry-semantic-conventions`
package ships (the names below); when they change, this module is the one to edit, and
every adapter (OpenTelemetry, Prometheus) follows.
"""

from __future__ import annotations

# -- GenAI attributes (opentelemetry-semantic-conventions 0.66b2, gen_ai_attributes.py) --
OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
TOKEN_TYPE = "gen_ai.token.type"  # noqa: S105 - a token count's kind, not a secret
TOKEN_TYPE_INPUT = "input"  # noqa: S105 - as above
TOKEN_TYPE_OUTPUT = "output"  # noqa: S105 - as above
#: `chat` is the well-known operation for both Anthropic Messages and OpenAI Chat
#: Completions; an event may say otherwise in an `operation` field.
OPERATION_CHAT = "chat"

# -- general attributes (stable) ------------------------------------------------------
#: riprap's `Kind` values are the documented list of error types it reports.
ERROR_TYPE = "error.type"
#: The stable fallback value of `error.type`, also used for label values past a bound.
OTHER = "_OTHER"
HTTP_STATUS_CODE = "http.response.status_code"

# -- GenAI metrics ----------------------------------------------------------------------
OPERATION_DURATION = "gen_ai.client.operation.duration"
TOKEN_USAGE = "gen_ai.client.token.usage"  # noqa: S105 - a metric name
#: The conventions' ExplicitBucketBoundaries for operation duration (seconds).
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
#: The conventions' ExplicitBucketBoundaries for token usage (powers of 4).
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

# -- riprap's own names (resilience telemetry, after Polly's) --------------------------
#: Polly: `resilience.polly.strategy.events`, one counter for every resilience event.
EVENTS = "riprap.events"
#: Polly: `resilience.polly.strategy.attempt.duration`.
ATTEMPT_DURATION = "riprap.attempt.duration"
#: Every wait a layer chose (retry backoff, limiter queue), by the event that reported it.
WAIT_DURATION = "riprap.wait.duration"
#: Wait buckets: retry waits run from 50 ms to the 30 s cap, limiter waits up to the
#: deadline; the duration buckets cover both.
WAIT_BUCKETS = DURATION_BUCKETS

EVENT_NAME = "event.name"
OUTCOME = "riprap.outcome"
CALL_ID = "riprap.call_id"
ATTEMPT_NUMBER = "riprap.attempt.number"
ATTEMPT_TIMEOUT = "riprap.attempt.timeout"
ATTEMPTS = "riprap.attempts"
REQUEST_ID = "riprap.request_id"
REQUEST_IDS = "riprap.request_ids"
STOP = "riprap.stop"
#: Span name of one attempt, a child of the call's span (or of its target's span).
ATTEMPT_SPAN = "riprap.attempt"
#: Span name of one target of a fallback chain, a child of the call's span.
TARGET_SPAN = "riprap.target"
#: "provider:model" of the target that served the call (on the call and target spans).
TARGET = "riprap.target"
#: Set (true) on a call answered by the degrade handler.
DEGRADED = "riprap.degraded"


def span_name(operation: str, model: str | None) -> str:
    """The call span's name: `{gen_ai.operation.name} {gen_ai.request.model}`."""
    return f"{operation} {model}" if model else operation
