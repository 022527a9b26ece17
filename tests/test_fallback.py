"""The fallback chain and degrade handler: real SDK clients on the simulator."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import anthropic
import openai
import pytest

import riprap
from riprap import Kind, Stop
from riprap.breaker import Breakers, MemoryBackend
from riprap.models import ModelInfo, Registry
from riprap.sim import Outage, Reply
from riprap.testing import EventLog
from support import create, make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

MODES = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
FAST = riprap.Retry(max_attempts=2)


def down(model: str, status: int = 529, **options: Any) -> Outage:
    """`model` fails every request with `status` from the first request on."""
    return Outage(start=0, model=model, faults={status: 1.0}, **options)


def models_sent(sim: Simulator) -> list[str]:
    """The `model` of each request the simulator received, in order."""
    return [r.body["model"] for r in sim.requests if isinstance(r.body, dict)]


def run(
    provider: str,
    sim: Simulator,
    *,
    is_async: bool,
    other: tuple[str, str] | None = None,
    **wrap_options: Any,
) -> Any:
    """One call of `provider`'s basic request through a wrapped client; returns or raises.

    `other` is (provider, model) of a `riprap.Target` put after the given `fallbacks`,
    its client made (and closed) in the same event loop as the caller's.
    """
    model = "claude-a" if provider == "anthropic" else "gpt-a"

    def options(client: Any) -> dict[str, Any]:
        if other is None:
            return wrap_options
        target = riprap.Target(client=client, model=other[1])
        return {**wrap_options, "fallbacks": [*wrap_options.get("fallbacks", ()), target]}

    if not is_async:
        second = make_client(other[0], sim, is_async=False) if other else None
        with riprap.wrap(make_client(provider, sim, is_async=False), **options(second)) as client:
            return create(provider, client, model=model)

    async def go() -> Any:
        second = make_client(other[0], sim, is_async=True) if other else None
        try:
            async with riprap.wrap(
                make_client(provider, sim, is_async=True), **options(second)
            ) as client:
                return await create(provider, client, model=model)
        finally:
            if second is not None:
                await second.close()

    return asyncio.run(go())


@MODES
def test_overloaded_primary_falls_back_to_another_model(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A primary answering 529 is retried, then the next model serves in the caller's type."""
    sim.outages = [down("claude-a")]
    log = EventLog()
    message = run(
        "anthropic",
        sim,
        is_async=is_async,
        retry=FAST,
        fallbacks=["claude-b"],
        hooks=[log],
        clock=clock,
        random=lambda: 0.1,  # a 0.2 s backoff: short enough to try the primary again
        validate=False,
    )
    assert isinstance(message, anthropic.types.Message)
    assert models_sent(sim) == ["claude-a", "claude-a", "claude-b"]
    assert clock.sleeps == [pytest.approx(0.2)]
    report = riprap.last_report() if not is_async else None
    if report is not None:
        assert report.target == "anthropic:claude-b"
        assert report.ok
    [moved] = log.of(riprap.FallbackUsed)
    assert (moved.from_target, moved.to_target, moved.reason) == (
        "anthropic:claude-a",
        "anthropic:claude-b",
        "overloaded",
    )


@MODES
def test_a_long_backoff_moves_on_at_once(is_async: bool, sim: Simulator, clock: FakeClock) -> None:
    """With a fallback ready, a backoff draw over `MOVE_ON_WAIT` goes there without waiting."""
    sim.outages = [down("claude-a")]
    log = EventLog()
    run("anthropic", sim, is_async=is_async, fallbacks=["claude-b"], hooks=[log], clock=clock,
        random=lambda: 0.5, validate=False)  # fmt: skip  # 2 s base: a 1 s wait
    assert models_sent(sim) == ["claude-a", "claude-b"]
    assert clock.sleeps == []
    # Each target's own end is a TargetEnded; the chain's CallEnded is the logical call's.
    [ended] = [e for e in log.of(riprap.observe.TargetEnded) if not e.ok]
    assert ended.stop is Stop.MOVED_ON


def test_no_early_move_when_the_next_target_would_be_skipped(
    sim: Simulator, clock: FakeClock
) -> None:
    """A fallback the request cannot reach (outside the common subset) is no reason to stop."""
    sim.script(Reply(status=529))
    other = make_client("openai", sim, is_async=False)
    client = riprap.wrap(
        make_client("anthropic", sim, is_async=False),
        fallbacks=[riprap.Target(client=other, model="gpt-b")],
        clock=clock,
        random=lambda: 0.5,
        validate=False,
    )
    thinking = {"type": "enabled", "budget_tokens": 1024}
    answer = create("anthropic", client, model="claude-a", thinking=thinking)
    assert isinstance(answer, anthropic.types.Message)
    assert models_sent(sim) == ["claude-a", "claude-a"]  # retried, as without a chain
    assert clock.sleeps == [pytest.approx(1.0)]


@MODES
def test_anthropic_caller_gets_a_message_from_an_openai_target(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Anthropic down, OpenAI serves: the caller still gets an `anthropic.types.Message`."""
    sim.outages = [down("claude-a")]
    message = run(
        "anthropic",
        sim,
        is_async=is_async,
        retry=FAST,
        other=("openai", "gpt-b"),
        clock=clock,
        validate=False,
    )
    assert isinstance(message, anthropic.types.Message)
    assert message.content[0].type == "text"
    assert sim.requests[-1].path == "/v1/chat/completions"
    assert models_sent(sim)[-1] == "gpt-b"


@MODES
def test_openai_caller_gets_a_chat_completion_from_an_anthropic_target(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """OpenAI down, Anthropic serves: the caller still gets a `ChatCompletion`."""
    sim.outages = [down("gpt-a", 503)]
    completion = run(
        "openai",
        sim,
        is_async=is_async,
        retry=FAST,
        other=("anthropic", "claude-b"),
        clock=clock,
        validate=False,
    )
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    assert completion.choices[0].message.content
    assert sim.requests[-1].path == "/v1/messages"


def test_invalid_request_never_falls_back(sim: Simulator, clock: FakeClock) -> None:
    """A 400 is the caller's bug: raised as the SDK raises it, no fallback is called."""
    sim.outages = [down("claude-a", 400)]
    with pytest.raises(anthropic.BadRequestError):
        run("anthropic", sim, is_async=False, fallbacks=["claude-b"], clock=clock, validate=False)
    assert models_sent(sim) == ["claude-a"]


def test_quota_exhausted_falls_back_at_once(sim: Simulator, clock: FakeClock) -> None:
    """Out of credit (402) is not retried on that model, and the next target serves."""
    sim.outages = [down("claude-a", 402)]
    run("anthropic", sim, is_async=False, fallbacks=["claude-b"], clock=clock, validate=False)
    assert models_sent(sim) == ["claude-a", "claude-b"]
    assert clock.sleeps == []


def test_context_overflow_goes_only_to_a_larger_window(sim: Simulator, clock: FakeClock) -> None:
    """A prompt too long for the primary skips a smaller-window fallback for a larger one."""
    registry = Registry().with_models(
        ModelInfo(
            id="claude-a", provider="anthropic", context_window=200_000, max_output_tokens=64
        ),
        ModelInfo(
            id="claude-s", provider="anthropic", context_window=100_000, max_output_tokens=64
        ),
        ModelInfo(
            id="claude-l", provider="anthropic", context_window=1_000_000, max_output_tokens=64
        ),
    )
    sim.script(Reply(status=400, message="prompt is too long: 250000 tokens > 200000 maximum"))
    log = EventLog()
    run(
        "anthropic",
        sim,
        is_async=False,
        fallbacks=["claude-s", "claude-l"],
        rules=riprap.InputRules(registry=registry),
        hooks=[log],
        clock=clock,
    )
    assert models_sent(sim) == ["claude-a", "claude-l"]
    reasons = [e.reason for e in log.of(riprap.FallbackUsed)]
    assert reasons[0] == "context_overflow"
    assert reasons[1].startswith("skipped: context window 100000")


def test_not_found_moves_on_only_when_asked(sim: Simulator, clock: FakeClock) -> None:
    """A 404 model is raised by default, and falls back with `fallback_on_not_found=True`."""
    sim.outages = [down("claude-a", 404)]
    options: dict[str, Any] = {"fallbacks": ["claude-b"], "clock": clock, "validate": False}
    with pytest.raises(anthropic.NotFoundError):
        run("anthropic", sim, is_async=False, **options)
    run("anthropic", sim, is_async=False, fallback_on_not_found=True, **options)
    assert models_sent(sim) == ["claude-a", "claude-a", "claude-b"]


def test_open_circuit_moves_on_without_calling_the_primary(
    sim: Simulator, clock: FakeClock
) -> None:
    """With the primary's circuit open, the call goes to the fallback at once, sending nothing."""
    breakers = Breakers(riprap.Breaker(), backend=MemoryBackend(clock=clock))
    breakers.for_target("anthropic", "claude-a", "messages.create").isolate()
    log = EventLog()
    run(
        "anthropic",
        sim,
        is_async=False,
        breaker=breakers,
        fallbacks=["claude-b"],
        hooks=[log],
        clock=clock,
        validate=False,
    )
    assert models_sent(sim) == ["claude-b"]
    assert [e.reason for e in log.of(riprap.FallbackUsed)] == ["circuit_open"]


def test_tight_deadline_moves_on_instead_of_waiting(sim: Simulator, clock: FakeClock) -> None:
    """A retry-after over half the time left is not waited for when a fallback is ready."""
    sim.outages = [down("claude-a", retry_after=6)]
    retry = riprap.Retry(deadline=10.0)
    run("anthropic", sim, is_async=False, retry=retry, fallbacks=["claude-b"], clock=clock,
        validate=False)  # fmt: skip
    assert models_sent(sim) == ["claude-a", "claude-b"]
    assert clock.sleeps == []
    # Alone, the same call waits out the retry-after: the rule is only for chains.
    sim.reset()
    with pytest.raises(riprap.RetryAfterBeyondDeadlineError):
        run("anthropic", sim, is_async=False, retry=retry, clock=clock, validate=False)
    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] >= 6


def test_all_failing_raises_one_group_with_each_target_error(
    sim: Simulator, clock: FakeClock
) -> None:
    """Every target failing raises `AllTargetsFailedError` holding each target's own error."""
    sim.outages = [down("claude-a"), down("claude-b", 500)]
    with pytest.raises(riprap.AllTargetsFailedError) as caught:
        run("anthropic", sim, is_async=False, retry=FAST, fallbacks=["claude-b"], clock=clock,
            validate=False)  # fmt: skip
    group = caught.value
    assert isinstance(group, ExceptionGroup)
    assert [type(e) for e in group.exceptions] == [
        anthropic.OverloadedError,
        anthropic.InternalServerError,
    ]
    reports = [riprap.report_of(e) for e in group.exceptions]
    assert [r.target for r in reports if r] == ["anthropic:claude-a", "anthropic:claude-b"]
    assert [r.attempts[-1].kind for r in reports if r] == [Kind.OVERLOADED, Kind.SERVER_ERROR]
    assert group.report is reports[-1]


@MODES
def test_degrade_answers_when_everything_failed(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """The degrade handler's value is returned as is, with every request id, marked degraded."""
    sim.outages = [down("claude-a"), down("claude-b")]
    seen: list[riprap.Degraded] = []

    def degrade(degraded: riprap.Degraded) -> str:
        seen.append(degraded)
        return f"Try again later (ref {', '.join(degraded.request_ids)})"

    value = run("anthropic", sim, is_async=is_async, retry=FAST, fallbacks=["claude-b"],
                degrade=degrade, clock=clock, random=lambda: 0.0, validate=False)  # fmt: skip
    [degraded] = seen
    assert len(degraded.failures) == 2
    assert len(degraded.request_ids) == 4
    assert value == f"Try again later (ref {', '.join(degraded.request_ids)})"
    assert degraded.kwargs["model"] == "claude-a"


def test_degraded_report_is_marked(sim: Simulator, clock: FakeClock) -> None:
    """`riprap.last_report()` after a degraded answer says `degraded=True`."""
    sim.outages = [down("claude-a")]
    run("anthropic", sim, is_async=False, retry=FAST, degrade=lambda _: "later", clock=clock,
        validate=False)  # fmt: skip
    report = riprap.last_report()
    assert report is not None
    assert report.degraded
    assert not report.ok
    assert report.stop is Stop.MAX_ATTEMPTS


def test_a_request_outside_the_common_subset_skips_the_other_provider(
    sim: Simulator, clock: FakeClock
) -> None:
    """A request the other API cannot express skips that target, with the reason recorded."""
    sim.outages = [down("claude-a")]
    other = make_client("openai", sim, is_async=False)
    with (
        riprap.wrap(
            make_client("anthropic", sim, is_async=False),
            retry=FAST,
            fallbacks=[riprap.Target(client=other, model="gpt-b")],
            clock=clock,
            validate=False,
        ) as client,
        pytest.raises(riprap.AllTargetsFailedError) as caught,
    ):
        create("anthropic", client, model="claude-a", thinking={"type": "enabled",
               "budget_tokens": 1024})  # fmt: skip
    [(target, why)] = caught.value.skipped
    assert target == "openai:gpt-b"
    assert why
    assert models_sent(sim) == ["claude-a", "claude-a"]


def test_fallbacks_must_match_the_client_mode(sim: Simulator) -> None:
    """An async Target behind a sync client is refused when wrapping, naming the field."""
    other = make_client("openai", sim, is_async=True)
    with pytest.raises(riprap.ConfigError, match=r"wrap\.fallbacks"):
        riprap.wrap(
            make_client("anthropic", sim, is_async=False),
            fallbacks=[riprap.Target(client=other, model="gpt-b")],
        )
    asyncio.run(other.close())


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_degrade_with_text_answers_in_the_callers_type(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """`degrade_with_text` returns the caller's SDK type, its text quoting the request ids."""
    sim.outages = [Outage(start=0, faults={529: 1.0})]
    handler = riprap.degrade_with_text("Try again later (ref {request_ids})")
    value = run(provider, sim, is_async=False, retry=FAST, degrade=handler, clock=clock,
                validate=False)  # fmt: skip
    ids = ", ".join(r.request_id for r in sim.requests if r.request_id)
    if provider == "anthropic":
        assert isinstance(value, anthropic.types.Message)
        assert value.content[0].type == "text"
        assert value.content[0].text == f"Try again later (ref {ids})"
    else:
        assert isinstance(value, openai.types.chat.ChatCompletion)
        assert value.choices[0].message.content == f"Try again later (ref {ids})"


def test_degrade_with_text_refuses_a_bad_template() -> None:
    """A template with an unknown field fails when made, not in the middle of an outage."""
    with pytest.raises(riprap.ConfigError, match="request_ids"):
        riprap.degrade_with_text("ref {ids}")


def test_every_report_names_its_target(sim: Simulator) -> None:
    """A plain call's report says which target served it, as "provider:model"."""
    with riprap.wrap(make_client("openai", sim, is_async=False), validate=False) as client:
        create("openai", client)
    report = riprap.last_report()
    assert report is not None
    assert report.target == "openai:gpt-sim"
    assert not report.degraded


def test_a_prompt_riprap_knows_is_too_long_goes_to_a_larger_window(sim: Simulator) -> None:
    """Riprap's own pre-send overflow moves on like the provider's: to a larger window only."""
    history = [{"role": "user", "content": "word " * 150_000}]  # ~190k tokens by estimate
    client = riprap.wrap(make_client("openai", sim, is_async=False), fallbacks=["gpt-4.1"])
    answer = client.chat.completions.create(model="gpt-4o", max_tokens=32, messages=history)
    assert isinstance(answer, openai.types.chat.ChatCompletion)
    assert models_sent(sim) == ["gpt-4.1"]  # gpt-4o (128k) was never sent the prompt


def test_a_fallbacks_own_refusal_keeps_the_earlier_failures(sim: Simulator) -> None:
    """Primary overloaded, fallback refuses the request: one group error holding both."""
    sim.script(*[Reply(status=529)] * 2, Reply(status=400))
    client = riprap.wrap(
        make_client("anthropic", sim, is_async=False),
        retry=FAST,
        fallbacks=[
            riprap.Target(client=make_client("openai", sim, is_async=False), model="gpt-sim")
        ],
    )
    with pytest.raises(riprap.AllTargetsFailedError) as info:
        create("anthropic", client)
    kinds = [type(e) for e in info.value.exceptions]
    assert kinds == [anthropic.OverloadedError, openai.BadRequestError]


def test_a_fallback_riprap_refuses_before_sending_is_skipped(
    sim: Simulator, clock: FakeClock
) -> None:
    """A fallback whose own checks refuse the request (max_tokens over its limit) is skipped."""
    registry = Registry().with_models(
        *(
            ModelInfo(id=name, provider="anthropic", context_window=200_000, max_output_tokens=n)
            for name, n in (("claude-a", 4096), ("claude-s", 16), ("claude-l", 4096))
        )
    )
    sim.outages = [down("claude-a")]
    log = EventLog()
    answer = run("anthropic", sim, is_async=False, retry=FAST, fallbacks=["claude-s", "claude-l"],
                 rules=riprap.InputRules(registry=registry), hooks=[log], clock=clock,
                 random=lambda: 0.0)  # fmt: skip
    assert isinstance(answer, anthropic.types.Message)
    assert models_sent(sim) == ["claude-a", "claude-a", "claude-l"]
    reasons = [e.reason for e in log.of(riprap.FallbackUsed)]
    assert reasons[0] == "overloaded"
    assert reasons[1].startswith("skipped: PromptValidationError")
    assert "max_tokens" in reasons[1]


def test_a_fallback_with_too_little_deadline_left_is_skipped(
    sim: Simulator, clock: FakeClock
) -> None:
    """When the primary spent the shared deadline, the fallback is skipped, not started."""
    sim.outages = [down("claude-a")]

    def slow(event: riprap.Event) -> None:
        if isinstance(event, riprap.AttemptStarted):
            clock.advance(0.9)  # the attempt takes 0.9 s of the 1 s deadline

    with pytest.raises(riprap.AllTargetsFailedError) as caught:
        run("anthropic", sim, is_async=False, retry=riprap.Retry(deadline=1.0), hooks=[slow],
            fallbacks=["claude-b"], clock=clock, validate=False)  # fmt: skip
    assert models_sent(sim) == ["claude-a"]
    [(target, why)] = caught.value.skipped
    assert (target, why) == ("anthropic:claude-b", "0.1s of the deadline left")
