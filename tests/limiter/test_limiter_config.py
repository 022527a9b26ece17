"""The limiter's config objects: validated where they are made, with the bad value named."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from riprap import ConfigError
from riprap.limiter import Limiter, Limits, Need, RedisBackend, Scope, key_fingerprint


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rpm", 0),
        ("input_tpm", -1.0),
        ("output_tpm", float("nan")),
        ("tpm", True),
        ("burst_seconds", 0),
        ("headroom", 0),
        ("headroom", 1.5),
        ("jitter", -0.1),
        ("adopt", "yes"),
    ],
)
def test_limits_reject_bad_values(field: str, value: object) -> None:
    """A bad number raises ConfigError naming the field and the value."""
    with pytest.raises(ConfigError, match=rf"Limits\.{field}: {value!r}"):
        Limits(**{field: value})  # type: ignore[arg-type]


def test_limits_are_frozen_and_keyword_only() -> None:
    """Limits are values: variants come from dataclasses.replace."""
    limits = Limits(rpm=50)
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.rpm = 60  # type: ignore[misc]
    with pytest.raises(TypeError):
        Limits(50)  # type: ignore[call-arg]
    assert dataclasses.replace(limits, tpm=1000).per_minute == (50, None, None, 1000)


def test_scope_keeps_a_hash_of_the_key_never_the_key() -> None:
    """A scope names the key by a 12-digit hash; two keys never share a scope."""
    scope = Scope.of("anthropic", "claude-x", api_key="sk-ant-secret-1")
    assert scope.key_id == key_fingerprint("sk-ant-secret-1")
    assert len(scope.key_id or "") == 12
    assert "secret" not in repr(scope)
    assert Scope.of("anthropic", "claude-x", api_key="sk-ant-secret-2") != scope
    assert Scope.of("anthropic", "claude-x").key_id is None


def test_scope_keys_are_unambiguous() -> None:
    """Colons in a model name cannot make two scopes share a storage key."""
    a = Scope(provider="p", model="a:b", key_id=None)
    b = Scope(provider="p:a", model="b", key_id=None)
    assert a.key() != b.key()
    assert a.key() == "p:a%3Ab:-"


@pytest.mark.parametrize(("field", "value"), [("provider", ""), ("model", 3), ("key_id", "a:b")])
def test_scope_rejects_bad_values(field: str, value: object) -> None:
    """Empty names and non-alphanumeric key ids are refused."""
    fields: dict[str, object] = {"provider": "p", "model": "m", "key_id": None, field: value}
    with pytest.raises(ConfigError, match=rf"Scope\.{field}"):
        Scope(**fields)  # type: ignore[arg-type]


def test_need_vector() -> None:
    """A need is one request, its input, its output, and both together."""
    assert Need(input_tokens=10, output_tokens=5).vector() == (1.0, 10.0, 5.0, 15.0)
    with pytest.raises(ConfigError, match=r"Need\.input_tokens"):
        Need(input_tokens=-1, output_tokens=5)


def test_limiter_rejects_bad_values() -> None:
    """The limiter checks its own arguments too."""
    with pytest.raises(ConfigError, match=r"Limiter\.limits"):
        Limiter(limits={"rpm": 5})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"Limiter.per_model\['m'\]"):
        Limiter(per_model={"m": 5})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match=r"Limiter\.poll_interval"):
        Limiter(poll_interval=0)


def test_per_model_limits() -> None:
    """A model with its own entry gets its own limits; the rest share the default."""
    limiter = Limiter(limits=Limits(rpm=10), per_model={"big": Limits(rpm=1)})
    assert limiter.plan(Scope(provider="p", model="big")).rates[0] == pytest.approx(1 / 60)
    assert limiter.plan(Scope(provider="p", model="small")).rates[0] == pytest.approx(10 / 60)


def test_redis_backend_rejects_bad_values() -> None:
    """The Redis backend needs somewhere to connect and a sane failure mode."""
    with pytest.raises(ConfigError, match="url"):
        RedisBackend()
    with pytest.raises(ConfigError, match="on_unavailable"):
        RedisBackend("redis://127.0.0.1:1/0", on_unavailable="maybe")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="socket_timeout"):
        RedisBackend("redis://127.0.0.1:1/0", socket_timeout=0)


def test_importing_the_limiter_imports_no_optional_dependency() -> None:
    """redis-py, the SDKs and anyio are imported only by what needs them."""
    code = (
        "import sys, riprap.limiter; "
        "print(sorted({'redis', 'anthropic', 'openai', 'anyio'} & set(sys.modules)))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
