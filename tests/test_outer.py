"""The outer layers through `wrap`: requests checked before the network, budgets held."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

import anthropic
import pytest

import riprap
from riprap._outer import UNKNOWN_OVERSHOOT, overshoot
from riprap.budget import Budget, BudgetExceededError, Budgets
from riprap.budget._guard import worst_case
from riprap.context import SlidingWindow, Summarize
from riprap.limiter import estimate_tokens
from riprap.sim import Reply
from riprap.validate import ContextOverflowError, PromptValidationError, validate_request
from support import make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator

MODELS = {"anthropic": "claude-haiku-4-5-20251001", "openai": "gpt-4o"}
PROVIDERS = pytest.mark.parametrize("provider", ["anthropic", "openai"])


#: A registered model with a 200,000-token window.
HAIKU = "claude-haiku-4-5-20251001"


def call(provider: str, client: Any, **kwargs: Any) -> Any:
    """The provider's basic call with a real model name."""
    kwargs.setdefault("model", MODELS[provider])
    kwargs.setdefault("max_tokens", 32)
    kwargs.setdefault("messages", [{"role": "user", "content": "Hello"}])
    if provider == "anthropic":
        return client.messages.create(**kwargs)
    return client.chat.completions.create(**kwargs)


@PROVIDERS
def test_bad_requests_fail_before_the_network_naming_the_field(
    provider: str, sim: Simulator
) -> None:
    """A misspelt role raises PromptValidationError with its path; nothing is sent."""
    client = riprap.wrap(make_client(provider, sim, is_async=False))
    bad = [{"role": "user", "content": "hi"}, {"role": "assitant", "content": "x"}]
    with pytest.raises(PromptValidationError, match=r"messages\[1\]\.role: 'assitant'") as info:
        call(provider, client, messages=bad)
    assert info.value.path == "messages[1].role"
    with pytest.raises(PromptValidationError, match="max_tokens"):
        call(provider, client, max_tokens=10_000_000)
    assert len(sim.requests) == 0


def test_validation_can_be_turned_off(sim: Simulator) -> None:
    """`validate=False` sends what the caller wrote; the API's own 400 is then the answer."""
    sim.script(Reply(status=400))
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), validate=False)
    with pytest.raises(Exception, match="400"):
        call("anthropic", client, messages=[{"role": "assitant", "content": "x"}])
    assert len(sim.requests) == 1


@PROVIDERS
def test_a_prompt_over_the_window_is_refused_or_fitted(provider: str, sim: Simulator) -> None:
    """Too long: ContextOverflowError before the network; with SlidingWindow, trimmed and sent."""
    turn = "word " * 2_000
    # ~2M characters: far over a 128k-200k window.
    history = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"{i} {turn}"}
        for i in range(200)
    ]
    history.append({"role": "user", "content": "and now?"})
    client = riprap.wrap(make_client(provider, sim, is_async=False))
    with pytest.raises(ContextOverflowError):
        call(provider, client, messages=history)
    assert not sim.requests
    fitted = riprap.wrap(make_client(provider, sim, is_async=False), context=SlidingWindow())
    call(provider, fitted, messages=history)
    (sent,) = sim.requests
    assert isinstance(sent.body, dict)
    kept = sent.body["messages"]
    assert kept[-1] == {"role": "user", "content": "and now?"}
    assert 1 < len(kept) < len(history)


def test_fifty_concurrent_calls_cannot_overshoot_a_budget(sim: Simulator) -> None:
    """A budget with room for exactly 20 worst-case calls admits 20 of 50; the rest are refused."""
    budgets = Budgets(running=(Budget(limit=1.0),))
    # Find one call's worst case, then size the budget to hold exactly 20 of them.
    kwargs = {"model": MODELS["anthropic"], "max_tokens": 1000,
              "messages": [{"role": "user", "content": "Hello"}]}  # fmt: skip
    _, estimate = worst_case(budgets, validate_request("anthropic", kwargs))
    assert estimate is not None
    budgets = Budgets(running=(Budget(limit=20.5 * estimate),))
    # Each admitted call is held open for a second: every thread tries to reserve before
    # any settles, so no refund makes room for a 21st (which would be right, not overshoot).
    sim.script(*[Reply(delay=1.0)] * 50)
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), budgets=budgets)
    refused: list[BaseException] = []
    gate = threading.Barrier(50)

    def one() -> None:
        gate.wait()
        try:
            call("anthropic", client, max_tokens=1000)
        except BudgetExceededError as error:
            refused.append(error)

    threads = [threading.Thread(target=one) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sim.requests) == 20
    assert len(refused) == 30
    spent, reserved = budgets.ledger.state(budgets.running[0])
    assert reserved == 0
    assert spent <= budgets.running[0].limit


def test_a_stream_settles_its_budget_when_it_ends(sim: Simulator) -> None:
    """A streamed call holds its worst case, then settles what it used: the budget frees up."""
    budgets = Budgets(running=(Budget(limit=1.0),))

    async def go() -> None:
        client = riprap.wrap(make_client("anthropic", sim, is_async=True), budgets=budgets)
        try:
            for _ in range(3):
                stream = await call("anthropic", client, max_tokens=100, stream=True)
                async for _event in stream:
                    pass
        finally:
            await client.close()

    asyncio.run(go())
    (budget,) = budgets.running
    spent, reserved = budgets.ledger.state(budget)
    assert reserved == 0
    assert 0 < spent < 0.01


@PROVIDERS
def test_expect_reasks_until_the_answer_parses(provider: str, sim: Simulator) -> None:
    """Invalid JSON twice, then valid: the parsed value after three calls, usage summed."""
    sim.script(Reply(text="not json"), Reply(text="{oops"), Reply(text='{"answer": 42}'))
    client = riprap.wrap(make_client(provider, sim, is_async=False))
    got = call(provider, riprap.expect(client, riprap.Expect.json()))
    assert got.value == {"answer": 42}
    assert got.attempts == 3
    assert len(sim.requests) == 3
    second = sim.requests[1].body
    assert isinstance(second, dict)
    assert "not json" in str(second["messages"])
    assert got.usage is not None
    assert got.usage.output_tokens == 2 + 1 + 2  # the simulator counts words


def test_expect_gives_up_with_the_raw_text(sim: Simulator) -> None:
    """After the bound, OutputValidationError carries the last raw answer."""
    sim.script(*[Reply(text="nope")] * 3)
    client = riprap.wrap(make_client("openai", sim, is_async=False))
    with pytest.raises(riprap.OutputValidationError) as info:
        call("openai", riprap.expect(client, riprap.Expect.choices(["yes", "no"], max_attempts=2)))
    assert info.value.raw == "nope"
    assert len(sim.requests) == 2


def test_provider_overflow_is_fitted_and_retried_once(sim: Simulator) -> None:
    """The provider says "prompt is too long" though riprap's estimate fit: trimmed, sent again."""
    sim.script(
        Reply(status=400, message="prompt is too long: 210000 tokens > 200000 maximum"), Reply()
    )
    history = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"{i} " + "word " * 5_000}
        for i in range(31)
    ]
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), context=SlidingWindow())
    call("anthropic", client, messages=history)
    first, second = (r.body for r in sim.requests)
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert len(second["messages"]) < len(first["messages"])
    assert second["messages"][-1] == history[-1]


def test_reports_carry_the_cost(sim: Simulator) -> None:
    """A known model's call reports its cost from the registry's prices."""
    client = riprap.wrap(make_client("openai", sim, is_async=False))
    call("openai", client)
    report = riprap.last_report()
    assert report is not None
    assert report.usage is not None
    assert report.cost is not None
    assert report.cost > 0


OVERSHOOT_CASES = [
    ("prompt is too long: 210000 tokens > 200000 maximum", 1.05),
    (
        (
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 160,000 tokens. Please reduce the length of the messages."
        ),
        1.25,
    ),
    (
        (
            "input length and `max_tokens` exceed context limit: 199000 + 8192 > 200000, "
            "decrease input length or `max_tokens` and try again"
        ),
        199000 / (200000 - 8192),
    ),
    ("prompt is too long", UNKNOWN_OVERSHOOT),
    # OpenAI when max_tokens is set: the prompt's share is "in the messages", and what
    # it may have is the window less the completion (131072 - 8192).
    (
        (
            "This model's maximum context length is 131072 tokens. However, you requested "
            "131134 tokens (122942 in the messages, 8192 in the completion). Please reduce "
            "the length of the messages or completion."
        ),
        122942 / (131072 - 8192),
    ),
    (
        (
            "This model's maximum context length is 4097 tokens. However, you requested "
            "4203 tokens (3703 in the messages, 500 in the completion)."
        ),
        3703 / (4097 - 500),
    ),
    # As `str()` of the SDK's error has it: the body's dict, with its request id.
    (
        (
            "Error code: 400 - {'type': 'error', 'error': {'type': 'invalid_request_error', "
            "'message': 'prompt is too long: 210000 tokens > 200000 maximum'}, "
            "'request_id': 'req_011CSHoEeqs5C35K2UUqR7Fy'}"
        ),
        1.05,
    ),
]


@pytest.mark.parametrize(("message", "factor"), OVERSHOOT_CASES)
def test_the_overshoot_is_read_from_the_providers_message(message: str, factor: float) -> None:
    """Both providers' overflow messages name the limit and the count."""
    assert overshoot(message) == pytest.approx(factor)


def _history(turns: int, words: int) -> list[dict[str, str]]:
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"{i} " + "word " * words}
        for i in range(turns)
    ]


def test_a_refit_cuts_below_what_the_provider_counted(sim: Simulator) -> None:
    """The estimate fit; the provider counted 25 % over its limit: the resend is cut to match.

    Fitting again to the same budget would send the same prompt and fail the same way.
    """
    sim.script(
        Reply(status=400, message="prompt is too long: 250000 tokens > 200000 maximum"), Reply()
    )
    history = _history(31, 2_000)  # ~100k tokens by riprap's estimate: it fits 200k
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), context=SlidingWindow())
    client.messages.create(model=HAIKU, max_tokens=1024, messages=history)
    first, second = (r.body for r in sim.requests)
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert first["messages"] == history
    sent = estimate_tokens(str(first["messages"]))
    resent = estimate_tokens(str(second["messages"]))
    assert resent <= sent / 1.25
    assert second["messages"][-1] == history[-1]


def test_a_refit_that_cannot_cut_anything_is_not_sent_again(sim: Simulator) -> None:
    """One long message and nothing older to drop: the provider's error, after one request."""
    sim.script(Reply(status=400, message="prompt is too long: 250000 tokens > 200000 maximum"))
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), context=SlidingWindow())
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(
            model=HAIKU, max_tokens=1024, messages=[{"role": "user", "content": "word " * 10}]
        )
    assert len(sim.requests) == 1


def test_an_async_client_fits_with_an_async_summarizer_alone(sim: Simulator) -> None:
    """`Summarize(asummarize=...)` without a sync one: awaited before the call is sent."""
    summarized: list[int] = []

    async def asummarize(old: Any) -> str:
        summarized.append(len(old))
        return "They talked about words."

    history = _history(41, 7_000)  # ~370k tokens by riprap's estimate: over 200k

    async def go() -> Any:
        client = riprap.wrap(
            make_client("anthropic", sim, is_async=True),
            context=Summarize(asummarize=asummarize),
        )
        try:
            return await client.messages.create(model=HAIKU, max_tokens=1024, messages=history)
        finally:
            await client.close()

    asyncio.run(go())
    assert len(summarized) == 1
    [request] = sim.requests
    assert isinstance(request.body, dict)
    assert len(request.body["messages"]) < len(history)
    assert "They talked about words." in request.body["system"]  # Anthropic: the system prompt


def test_an_openai_refit_cuts_by_the_prompts_share_not_the_completions(sim: Simulator) -> None:
    """OpenAI names the completion's tokens too: the refit cuts by a few %, not 16 times.

    Reading the smallest number in the message as the limit took 8192 (the completion)
    for it, and the resend kept about a sixteenth of the conversation.
    """
    message = (
        "This model's maximum context length is 128000 tokens. However, you requested "
        "134192 tokens (126000 in the messages, 8192 in the completion). Please reduce "
        "the length of the messages or completion."
    )
    sim.script(Reply(status=400, error_code="context_length_exceeded", message=message), Reply())
    history = _history(31, 2_000)  # ~78k tokens by riprap's estimate: it fits 128k
    client = riprap.wrap(make_client("openai", sim, is_async=False), context=SlidingWindow())
    client.chat.completions.create(model="gpt-4o", max_tokens=8192, messages=history)
    first, second = (r.body for r in sim.requests)
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    sent = estimate_tokens(str(first["messages"]))
    resent = estimate_tokens(str(second["messages"]))
    factor = 126000 / (128000 - 8192)
    assert sent / factor * 0.85 <= resent <= sent / factor
    assert second["messages"][-1] == history[-1]


def test_a_refit_of_a_tuple_of_messages_that_cuts_nothing_is_not_sent_again(
    sim: Simulator,
) -> None:
    """Messages given as a tuple: a refit that drops nothing is the same prompt, not a new one."""
    sim.script(Reply(status=400, message="prompt is too long: 250000 tokens > 200000 maximum"))
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), context=SlidingWindow())
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(
            model=HAIKU, max_tokens=1024, messages=({"role": "user", "content": "word " * 10},)
        )
    assert len(sim.requests) == 1


def test_messages_given_as_an_iterator_reach_a_fallback_target(sim: Simulator) -> None:
    """An iterator of messages is read once for the whole call: the fallback gets them too."""
    sim.script(Reply(status=402), Reply())  # out of credit: straight to the fallback
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), fallbacks=[HAIKU])
    messages = [{"role": "user", "content": "Hello"}]
    client.messages.create(model=MODELS["anthropic"], max_tokens=16, messages=iter(messages))
    assert [r.body["messages"] for r in sim.requests] == [messages, messages]  # type: ignore[index]


def test_messages_given_as_an_iterator_are_refitted(sim: Simulator) -> None:
    """The same for the refit after the provider's overflow: it cuts the real history."""
    sim.script(
        Reply(status=400, message="prompt is too long: 250000 tokens > 200000 maximum"), Reply()
    )
    history = _history(31, 2_000)
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), context=SlidingWindow())
    client.messages.create(model=HAIKU, max_tokens=1024, messages=iter(history))
    first, second = (r.body for r in sim.requests)
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert 1 < len(second["messages"]) < len(history)
    assert second["messages"][-1] == history[-1]
