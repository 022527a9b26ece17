"""Client-side rate limiting by requests and tokens: wait, don't fail.

A `Limiter` keeps each scope (provider + model + API key) under its requests-per-minute
and token-per-minute limits: a call reserves one request, its estimated input tokens and
its `max_tokens`, waits in arrival order until every bucket has room (never past its
deadline), and settles the reservation with the real usage and the provider's
rate-limit headers when the response arrives. State lives in process memory
(`MemoryBackend`, the default) or in Redis, shared by a fleet (`RedisBackend`).

    limiter = Limiter(limits=Limits(rpm=50, input_tpm=40_000, output_tpm=8_000))
    scope = Scope.of("anthropic", "claude-…", api_key=key)
    permit = limiter.acquire(scope, Need(input_tokens=900, output_tokens=1024),
                             deadline_at=clock.now() + 60)
    … call …
    permit.settle(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                  headers=response.headers)
"""

from riprap.limiter._backend import Backend
from riprap.limiter._config import DIMENSIONS, Limits, Need, Scope, key_fingerprint
from riprap.limiter._errors import LimiterUnavailableError, RateLimitWaitBeyondDeadlineError
from riprap.limiter._estimate import (
    AsyncEstimator,
    Estimator,
    anthropic_token_counter,
    async_anthropic_token_counter,
    estimate_input_tokens,
    estimate_tokens,
)
from riprap.limiter._headers import parse_go_duration, parse_rate_limit_headers
from riprap.limiter._limiter import Limiter, Permit
from riprap.limiter._memory import MemoryBackend
from riprap.limiter._redis import RedisBackend

__all__ = [
    "DIMENSIONS",
    "AsyncEstimator",
    "Backend",
    "Estimator",
    "Limiter",
    "LimiterUnavailableError",
    "Limits",
    "MemoryBackend",
    "Need",
    "Permit",
    "RateLimitWaitBeyondDeadlineError",
    "RedisBackend",
    "Scope",
    "anthropic_token_counter",
    "async_anthropic_token_counter",
    "estimate_input_tokens",
    "estimate_tokens",
    "key_fingerprint",
    "parse_go_duration",
    "parse_rate_limit_headers",
]
