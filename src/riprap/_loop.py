"""The retry loops: thin sync and async shells over `CallState`.

They only ask the breaker and the rate limiter, call, sleep and loop; every decision
is `CallState`'s (and, through it, the pure `riprap.decide`'s). The two read top to
bottom as the same plain `while`, so the logic exists once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riprap._limit import areserve, asettle, reserve, settle

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from riprap._call import CallState


def allow(call: CallState) -> None:
    """Ask the breaker (if any) before an attempt; an open circuit ends the call."""
    if call.breaker is not None:
        call.admitted(call.breaker.allow())


async def aallow(call: CallState) -> None:
    """`allow`, awaitable."""
    if call.breaker is not None:
        call.admitted(await call.breaker.aallow())


def tell(call: CallState) -> None:
    """Tell the limiter and the breaker how the attempt that just ended went."""
    settle(call)
    verdict = call.verdict()
    if verdict is not None:
        breaker, permit = verdict.breaker, verdict.permit
        call.judged(
            breaker.release(permit)
            if verdict.release
            else breaker.record(permit, verdict.kind, latency=verdict.latency)
        )


async def atell(call: CallState) -> None:
    """`tell`, awaitable."""
    await asettle(call)
    verdict = call.verdict()
    if verdict is not None:
        breaker, permit = verdict.breaker, verdict.permit
        call.judged(
            await breaker.arelease(permit)
            if verdict.release
            else await breaker.arecord(permit, verdict.kind, latency=verdict.latency)
        )


def run_sync(
    call: CallState, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Call `fn` under the call's policy, blocking the thread between attempts."""
    try:
        while True:
            allow(call)
            reserve(call)
            attempt_kwargs = call.begin(kwargs)
            try:
                value = call.checked(fn(*args, **attempt_kwargs))
            except Exception as error:  # noqa: BLE001 - classified; what is not ours is re-raised
                outcome = call.failed(error)
                tell(call)
                if isinstance(outcome, BaseException):
                    raise outcome  # noqa: B904 - `error` itself, or a riprap error caused by it
                call.engine.clock.sleep(outcome)
                continue
            value = call.succeeded(value)
            tell(call)
            return value
    except BaseException:
        call.abandoned()
        tell(call)  # an interrupted attempt frees its probe slot and its reservation
        raise


async def run_async(
    call: CallState,
    fn: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """Await `fn` under the call's policy, suspending the task between attempts."""
    try:
        while True:
            await aallow(call)
            await areserve(call)
            attempt_kwargs = call.begin(kwargs)
            try:
                value = call.checked(await fn(*args, **attempt_kwargs))
            except Exception as error:  # noqa: BLE001 - classified; what is not ours is re-raised
                outcome = call.failed(error)
                await atell(call)
                if isinstance(outcome, BaseException):
                    raise outcome  # noqa: B904 - `error` itself, or a riprap error caused by it
                await call.engine.clock.asleep(outcome)
                continue
            value = call.succeeded(value)
            await atell(call)
            return value
    except BaseException:
        call.abandoned()
        await atell(call)  # an interrupted attempt frees its probe slot
        raise
