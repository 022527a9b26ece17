"""The model registry: shipped data with sources, lookups, overrides, unknown models."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import pytest

from riprap.errors import ConfigError
from riprap.models import (
    ModelInfo,
    Prices,
    Registry,
    RiprapWarning,
    UnknownModelError,
    UnknownModelWarning,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_every_shipped_model_names_its_source() -> None:
    """Each number in the shipped registry says where it comes from and how sure it is."""
    registry = Registry.default()
    assert len(registry) >= 20
    for model in registry:
        assert model.source, model.id
        assert model.verified in {"provider", "secondary"}, model.id
        assert model.max_output_tokens <= model.context_window, model.id
        assert model.prices is not None, model.id
        assert model.prices.output >= model.prices.input, model.id


def test_both_providers_are_covered() -> None:
    """Current Anthropic and OpenAI models are both in the shipped data."""
    providers = {m.provider for m in Registry.default()}
    assert providers == {"anthropic", "openai"}


def test_aliases_resolve_to_the_dated_id() -> None:
    """An alias finds the same entry as the model's id."""
    registry = Registry.default()
    info = registry["claude-haiku-4-5"]
    assert info.id == "claude-haiku-4-5-20251001"
    assert registry["claude-haiku-4-5-20251001"] is info
    assert (info.context_window, info.max_output_tokens) == (200_000, 64_000)


def test_known_numbers_of_a_provider_verified_model() -> None:
    """Claude Opus 5's limits and prices are the provider's published ones."""
    info = Registry.default()["claude-opus-5"]
    assert (info.context_window, info.max_output_tokens) == (1_000_000, 128_000)
    assert info.prices == Prices(
        input=5.0, output=25.0, cache_read=0.5, cache_write=6.25, cache_write_1h=10.0
    )
    assert info.rejects("prefill")


def test_openai_input_limit_is_below_the_window() -> None:
    """GPT-6's window is 1,050,000 tokens, but at most 922,000 of them may be prompt."""
    info = Registry.default()["gpt-6.2-sol"]
    assert info.context_window == 1_050_000
    assert info.input_limit == 922_000


def test_unknown_model_warns_once_and_returns_none() -> None:
    """A new model must not break users: it is a warning, issued once per registry."""
    registry = Registry.default()
    with pytest.warns(UnknownModelWarning, match="claude-next"):
        assert registry.get("claude-next") is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert registry.get("claude-next") is None


def test_unknown_model_warning_is_a_riprap_warning() -> None:
    """All of riprap's warnings can be filtered with one category."""
    assert issubclass(UnknownModelWarning, RiprapWarning)
    assert issubclass(RiprapWarning, UserWarning)


def test_strict_registry_raises_for_unknown_models() -> None:
    """In strict mode an unknown model is an error that names it."""
    registry = Registry.default(strict=True)
    with pytest.raises(UnknownModelError, match="claude-next") as caught:
        registry.get("claude-next")
    assert caught.value.model == "claude-next"
    assert isinstance(caught.value, LookupError)


def test_user_additions_and_overrides() -> None:
    """Users add models and override prices at runtime, without changing the original."""
    base = Registry.default()
    mine = ModelInfo(
        id="my-finetune", provider="openai", context_window=128_000, max_output_tokens=4_096
    )
    extended = base.with_models(mine).replace("gpt-4o", prices=Prices(input=1.0, output=2.0))
    assert extended["my-finetune"] is mine
    assert extended["gpt-4o"].prices == Prices(input=1.0, output=2.0)
    assert base["gpt-4o"].prices != Prices(input=1.0, output=2.0)
    assert "my-finetune" not in base


def test_registry_from_a_users_toml(tmp_path: Path) -> None:
    """A registry loads from a TOML file shaped like riprap's own."""
    path = tmp_path / "models.toml"
    path.write_text(
        '[[model]]\nid = "local-llm"\nprovider = "openai"\ncontext_window = 8192\n'
        "max_output_tokens = 1024\naliases = ['llm']\n"
        "prices = { input = 0.0, output = 0.0 }\n"
    )
    registry = Registry.from_toml(path)
    assert registry["llm"].id == "local-llm"
    assert registry["llm"].prices == Prices(input=0.0, output=0.0)


def test_bad_entries_fail_with_the_field_and_value() -> None:
    """A bad model entry raises ConfigError naming the field and the value."""
    with pytest.raises(ConfigError, match=r"ModelInfo.context_window: 0 is not"):
        ModelInfo(id="x", provider="openai", context_window=0, max_output_tokens=1)
    with pytest.raises(ConfigError, match=r"ModelInfo.provider: 'google'"):
        ModelInfo(id="x", provider="google", context_window=1, max_output_tokens=1)
    with pytest.raises(ConfigError, match=r"Prices.input: -1"):
        Prices(input=-1, output=1)
    with pytest.raises(ConfigError, match="unexpected keyword"):
        Registry.from_data({"model": [{"id": "x", "provider": "openai", "window": 5}]})


def test_long_context_band() -> None:
    """Prompts over the threshold are priced entirely at the long-context band."""
    long = Prices(input=4.0, output=15.0)
    prices = Prices(input=2.0, output=10.0, long_context_above=272_000, long_context=long)
    assert prices.band(272_000) is prices
    assert prices.band(272_001) is long
    with pytest.raises(ConfigError, match="long_context"):
        Prices(input=1.0, output=1.0, long_context=long)
