"""`riprap.wrap`: a drop-in proxy that keeps the SDK client's interface and types.

The proxy follows attribute paths from the client (`client.messages`, then `.create`);
the methods the provider adapter lists as endpoints run under the retry loop, and
everything else is the caller's own SDK object, untouched. Endpoints run on a copy of
the client with `max_retries=0`: one retry layer, never two multiplying each other.
"""

from __future__ import annotations

import dataclasses
import functools
import random as _random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

from riprap._call import LAST_REPORT
from riprap._clock import SystemClock
from riprap._engine import Engine
from riprap._fallback import Chain, Target
from riprap._outer import Outer
from riprap._pipeline import Pipeline
from riprap.breaker import Breaker, Breakers, MemoryBackend
from riprap.decide import RetryBudgetState
from riprap.errors import ConfigError
from riprap.limiter import Limiter, Limits
from riprap.observe import LoggingHook
from riprap.observe._content import content_limit_of
from riprap.policy import Retry, Timeouts
from riprap.providers import adapter_for
from riprap.validate import default_rules, materialize

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Sequence

    from riprap._clock import Clock
    from riprap._fallback import Degraded
    from riprap._report import CallReport
    from riprap.budget import Budgets
    from riprap.context import SlidingWindow, Summarize
    from riprap.observe import Hook
    from riprap.validate import Expect, InputRules

C = TypeVar("C")

_DEFAULT_RETRY = Retry()
_DEFAULT_TIMEOUTS = Timeouts()


def wrap(
    client: C,
    *,
    retry: Retry = _DEFAULT_RETRY,
    timeouts: Timeouts = _DEFAULT_TIMEOUTS,
    hooks: Sequence[Hook] = (),
    logger: logging.Logger | None = None,
    validate: bool = True,
    rules: InputRules | None = None,
    budgets: Budgets | None = None,
    context: SlidingWindow | Summarize | None = None,
    breaker: Breaker | Breakers | Literal[False] | None = None,
    fallbacks: Sequence[str | Target] = (),
    fallback_on_not_found: bool = False,
    degrade: Callable[[Degraded], Any] | None = None,
    limits: Limits | None = None,
    limiter: Limiter | Literal[False] | None = None,
    clock: Clock | None = None,
    random: Callable[[], float] | None = None,
) -> C:
    """Wrap an `anthropic` or `openai` client (sync or async) so its calls survive failures.

    The result has the client's interface and return types (`isinstance` included).
    `hooks` receive every event, besides the logging hook, which logs to `logger`
    (default: the "riprap" logger). Before any network, requests are checked against the
    provider's rules and the model registry (`validate`, with `rules`, default the shipped
    registry), fitted to the context window by `context` when too long, and their
    worst-case cost held against `budgets`. `clock` and `random` are for tests
    (`riprap.testing.FakeClock`). Wrapping a wrapped client wraps the SDK client once.

    `breaker` is a circuit breaker per target (provider, model, endpoint): a
    `riprap.Breaker` policy (state in this process's memory), or a
    `riprap.breaker.Breakers` registry (to share it, or keep it in Redis). An open
    circuit raises `CircuitOpenError` at once, sending nothing, and a chain moves on to
    its next target. By default (`None`) it is on, with `riprap.Breaker()`, when there
    are `fallbacks` (somewhere to send calls while a target is down) and off otherwise
    (without one, failing fast would fail calls that retries could still finish);
    `False` turns it off. Streams consult it before each attempt too.

    `fallbacks` are tried in order after the call's own `model`: a `str` is another
    model of this client, a `riprap.Target(client=..., model=...)` a model on another
    client (the other provider's: the request is translated and the answer comes back
    as this SDK's type; a request it cannot express skips it). Each target gets its own
    retry loop, all under the first one's deadline. A failure moves on when its kind's
    `riprap.RULES[kind].fallback` allows (overload, 5xx, timeouts, quota, an open
    circuit; context overflow only to a larger window; permission and not-found only
    with `fallback_on_not_found=True`), and is raised at once otherwise (invalid
    request, authentication). When every target failed, `degrade` (if given) is called
    with a `riprap.Degraded` and its return value is the call's (the report says
    `degraded`); without it `riprap.AllTargetsFailedError` holds each target's error.
    A stream moves on only while nothing has reached the caller; another provider's
    stream events are translated to this SDK's types.

    Every attempt first waits for room under the scope's rate limits (provider, model,
    API key): requests, input tokens (estimated) and output tokens (`max_tokens`) per
    minute, in arrival order, never past the deadline (else
    `riprap.RateLimitWaitBeyondDeadlineError` at once); the response's usage and
    rate-limit headers then correct the books. By default the limits are learnt from
    the provider's rate-limit headers (a new scope sends one call, then paces by what
    it announced); `limits=riprap.Limits(rpm=..., input_tpm=...)` sets them;
    `limiter=riprap.Limiter(...)` shares one limiter between clients, or across
    processes with `riprap.RedisBackend`; `limiter=False` turns it off.
    """
    raw = _unwrap(client)
    adapter = adapter_for(raw)
    is_async = adapter.is_async(raw)
    clock = SystemClock() if clock is None else clock
    chain = _chain(fallbacks, degrade, on_not_found=fallback_on_not_found, is_async=is_async)
    engine = Engine(
        adapter=adapter,
        retry=retry,
        timeouts=timeouts,
        # The built-in logging hook, unless the caller brings one (it would log twice).
        hooks=(
            *(
                ()
                if any(isinstance(h, LoggingHook) for h in hooks)
                else (LoggingHook(logger=logger),)
            ),
            *hooks,
        ),
        content_limit=content_limit_of(hooks),
        outer=Outer(
            rules=(default_rules() if rules is None else rules) if validate else None,
            budgets=budgets,
            context=context,
        ),
        clock=clock,
        # Jitter needs spread, not secrecy.
        random=_random.Random().random if random is None else random,  # noqa: S311
        budget=None if retry.budget is None else RetryBudgetState(retry.budget),
        breakers=_breakers(breaker, clock, has_fallbacks=chain is not None and bool(chain.targets)),
        chain=chain,
        limiter=_limiter(limits, limiter, clock),
    )
    binding = _Binding(engine=engine, is_async=is_async)
    return Wrapped(raw.with_options(max_retries=0), raw, binding)  # type: ignore[return-value]


def _breakers(
    breaker: Breaker | Breakers | Literal[False] | None, clock: Clock, *, has_fallbacks: bool
) -> Breakers | None:
    if breaker is False:
        return None
    if breaker is None:
        # On where it can only help: a chain has a next target for calls it refuses.
        breaker = Breaker() if has_fallbacks else None
    if breaker is None or isinstance(breaker, Breakers):
        return breaker
    if not isinstance(breaker, Breaker):
        raise ConfigError(f"wrap.breaker: {breaker!r} is not a riprap.Breaker or Breakers")
    return Breakers(breaker, backend=MemoryBackend(clock=clock))


def _limiter(
    limits: Limits | None, limiter: Limiter | Literal[False] | None, clock: Clock
) -> Limiter | None:
    if limits is not None and not isinstance(limits, Limits):
        raise ConfigError(f"wrap.limits: {limits!r} is not a riprap.Limits")
    if limiter is False:
        if limits is not None:
            raise ConfigError("wrap: limits= was given with limiter=False; drop one of them")
        return None
    if limiter is None:
        return Limiter(limits=limits, clock=clock)
    if not isinstance(limiter, Limiter):
        raise ConfigError(f"wrap.limiter: {limiter!r} is not a riprap.Limiter or False")
    if limits is not None:
        raise ConfigError(
            "wrap: give limits= or limiter=, not both (a Limiter carries its own limits)"
        )
    return limiter


def _chain(
    fallbacks: Sequence[str | Target],
    degrade: Callable[[Degraded], Any] | None,
    *,
    on_not_found: bool,
    is_async: bool,
) -> Chain | None:
    targets = tuple(fallbacks)
    for target in targets:
        if isinstance(target, str) and target:
            continue
        if not isinstance(target, Target):
            raise ConfigError(f"wrap.fallbacks: {target!r} is not a model name or a riprap.Target")
        other = _unwrap(target.client)
        if adapter_for(other).is_async(other) != is_async:
            raise ConfigError(
                f"wrap.fallbacks: {target!r} must be {'async' if is_async else 'sync'} "
                "like the client it backs up"
            )
    if degrade is not None and not callable(degrade):
        raise ConfigError(f"wrap.degrade: {degrade!r} is not callable")
    if not isinstance(on_not_found, bool):
        raise ConfigError(f"wrap.fallback_on_not_found: {on_not_found!r} is not a bool")
    if not targets and degrade is None:
        return None
    return Chain(targets=targets, fallback_on_not_found=on_not_found, degrade=degrade)


def with_policy(client: C, *, retry: Retry | None = None, timeouts: Timeouts | None = None) -> C:
    """A copy of a wrapped client with another policy, for per-call overrides.

    The copy shares the original's hooks and, when its `Retry.budget` is the same, its
    retry budget: a burst of calls with a looser policy must not escape the client's
    budget. A `Retry` with another budget gets a budget of its own (or none).
    """
    wrapped = _wrapped(client, "with_policy")
    engine = wrapped._riprap_binding.engine
    changes: dict[str, Any] = {}
    if retry is not None:
        changes["retry"] = retry
        if retry.budget != engine.retry.budget:
            changes["budget"] = None if retry.budget is None else RetryBudgetState(retry.budget)
    if timeouts is not None:
        changes["timeouts"] = timeouts
    return wrapped._riprap_copy(engine=dataclasses.replace(engine, **changes))  # type: ignore[return-value]


def results(client: object) -> Any:
    """A view of a wrapped client whose endpoint calls return `Result`s instead of raising."""
    return _wrapped(client, "results")._riprap_copy(as_result=True)


def expect(client: object, spec: Expect) -> Any:
    """A view of a wrapped client whose text calls validate the answer against `spec`.

    A failing answer is asked again with the validation error, at most
    `spec.max_attempts` times; the call returns `riprap.validate.Expected` (the parsed
    `value`, the last `response`, `attempts`, and `usage` summed over every attempt), or
    raises `OutputValidationError` carrying the raw text.
    """
    return _wrapped(client, "expect")._riprap_copy(expect=spec)


def last_report() -> CallReport | None:
    """The report of the last call riprap finished in this thread or task.

    A call made in another task (`asyncio.gather`, `wait_for`, a task group) sets it in
    that task's context only; use `riprap.results` to get each call's report with it.
    """
    return LAST_REPORT.get()


def _unwrap(client: object) -> Any:
    return client._riprap_original if isinstance(client, Wrapped) else client


def _wrapped(client: object, what: str) -> Wrapped:
    if not isinstance(client, Wrapped):
        raise TypeError(f"riprap.{what}: expected a client made by riprap.wrap, got {client!r}")
    return client


@dataclass(frozen=True, slots=True)
class _Binding:
    """What every proxy of one wrapped client shares."""

    engine: Engine
    is_async: bool
    #: Endpoint calls return `Result`s instead of raising (`riprap.results`).
    as_result: bool = False
    #: Endpoint calls validate the answer and return `Expected` (`riprap.expect`).
    expect: Expect | None = None


class _Node:
    """A proxy over one object of the client's attribute tree.

    It walks two trees in step: the SDK client with its retries off (`_riprap_target`),
    whose endpoints riprap runs, and the caller's own client (`_riprap_original`), which
    serves everything riprap does not wrap. So a method riprap does not handle (files,
    batches, the streaming helpers for now) behaves exactly as it did before `wrap`, the
    SDK's own retries included, instead of silently losing them.
    """

    __slots__ = ("_riprap_binding", "_riprap_cache", "_riprap_original", "_riprap_path",
                 "_riprap_root", "_riprap_target")  # fmt: skip

    def __init__(
        self,
        target: Any,
        original: Any,
        binding: _Binding,
        *,
        root: Any,
        path: tuple[str, ...] = (),
    ) -> None:
        self._riprap_target = target
        self._riprap_original = original
        self._riprap_binding = binding
        #: The no-retries SDK client the endpoints below this node call through.
        self._riprap_root = root
        self._riprap_path = path
        self._riprap_cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_riprap_"):
            # Only reached before __init__ ran (copy, pickle): never recurse into the cache.
            raise AttributeError(name)
        cached = self._riprap_cache.get(name)
        if cached is not None:
            return cached
        path = (*self._riprap_path, name)
        adapter = self._riprap_binding.engine.adapter
        node: Any
        helper = adapter.helpers.get(path)
        if helper is not None:
            node = _helper(helper, self, getattr(self._riprap_original, name))
        elif path in adapter.endpoints:
            node = _endpoint(
                getattr(self._riprap_target, name), self._riprap_binding, self._riprap_root, path
            )
        elif path in adapter.prefixes:
            node = _Node(
                getattr(self._riprap_target, name),
                getattr(self._riprap_original, name),
                self._riprap_binding,
                root=self._riprap_root,
                path=path,
            )
        else:
            return getattr(self._riprap_original, name)
        self._riprap_cache[name] = node
        return node

    def __dir__(self) -> list[str]:
        return dir(self._riprap_original)


def _helper(
    build: Callable[..., Any], node: _Node, original: Callable[..., Any]
) -> Callable[..., Any]:
    is_async = node._riprap_binding.is_async

    @functools.wraps(original)
    def helper(**kwargs: Any) -> Any:
        return build(node, original, is_async=is_async, kwargs=kwargs)

    return helper


def _endpoint(
    method: Callable[..., Any], binding: _Binding, client: Any, path: tuple[str, ...]
) -> Callable[..., Any]:
    pipeline = Pipeline(
        engine=binding.engine,
        method=method,
        client=client,
        path=path,
        as_result=binding.as_result,
        expect=binding.expect,
    )
    if binding.is_async:

        @functools.wraps(method)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            # Iterators read once per call: a fallback, a refit and a re-ask resend them.
            return await pipeline.call_async(args, materialize(kwargs))

        return call_async

    @functools.wraps(method)
    def call_sync(*args: Any, **kwargs: Any) -> Any:
        # Iterators read once per call: a fallback, a refit and a re-ask resend them.
        return pipeline.call_sync(args, materialize(kwargs))

    return call_sync


class Wrapped(_Node):
    """The client as `riprap.wrap` returns it: the SDK client's interface, riprap's calls."""

    __slots__ = ()

    def __init__(self, target: Any, original: Any, binding: _Binding) -> None:
        super().__init__(target, original, binding, root=target)

    @property  # type: ignore[misc]  # the proxy's class is the SDK client's, for isinstance
    def __class__(self) -> type:
        return type(self._riprap_original)

    def _riprap_copy(self, **changes: Any) -> Wrapped:
        binding = dataclasses.replace(self._riprap_binding, **changes)
        return Wrapped(self._riprap_target, self._riprap_original, binding)

    def with_options(self, **options: Any) -> Wrapped:
        """The SDK's `with_options`, still wrapped; riprap's calls keep the SDK's retries off."""
        original = self._riprap_original.with_options(**options)
        return Wrapped(original.with_options(max_retries=0), original, self._riprap_binding)

    copy = with_options

    def __repr__(self) -> str:
        # Never the SDK client's repr or its attributes: they hold the API key.
        kind = type(self._riprap_original).__qualname__
        return f"<riprap.wrap({kind}) provider={self._riprap_binding.engine.adapter.name}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # One connection pool serves both trees (`with_options` shares the HTTP client).
        self._riprap_original.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._riprap_original.close()
