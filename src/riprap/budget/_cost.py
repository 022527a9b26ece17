"""Dollars from prices and tokens: the actual cost of a call, and its worst case before it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from riprap.budget._usage import TokenUsage
    from riprap.models import Prices

PER_MILLION = 1_000_000
#: An unpublished cache-read price is charged as a fresh input token: a cache read is never
#: billed above one, so the cost errs high, never low.
CACHE_READ_FALLBACK = 1.0
#: An unpublished cache-write price is charged at twice the input price: the highest
#: multiple either provider publishes (Anthropic's 1-hour write, 2x input).
CACHE_WRITE_FALLBACK = 2.0


def cost(prices: Prices, usage: TokenUsage) -> float:
    """What `usage` costs in dollars at `prices`, long-context band and cache included."""
    band = prices.band(usage.prompt_tokens)
    read = band.cache_read if band.cache_read is not None else band.input * CACHE_READ_FALLBACK
    write = band.cache_write if band.cache_write is not None else band.input * CACHE_WRITE_FALLBACK
    hour = (
        band.cache_write_1h
        if band.cache_write_1h is not None
        else band.input * CACHE_WRITE_FALLBACK
    )
    total = (
        usage.input_tokens * band.input
        + usage.output_tokens * band.output
        + usage.cache_read_tokens * read
        + usage.cache_write_tokens * write
        + usage.cache_write_1h_tokens * hour
    )
    return total / PER_MILLION


def worst_case_cost(prices: Prices, prompt_tokens: int, max_tokens: int) -> float:
    """The most a call can cost: every prompt token fresh, every allowed output token used.

    Cache reads are cheaper than fresh input and the prompt's band is fixed by its size,
    so this bounds the actual cost when `prompt_tokens` is not an under-estimate.
    """
    band = prices.band(prompt_tokens)
    return (prompt_tokens * band.input + max_tokens * band.output) / PER_MILLION
