"""Redactor: keys, credential headers and the user's own patterns never leave the process."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riprap.errors import ConfigError
from riprap.observe import Redactor

ANTHROPIC_KEY = "sk-ant-api03-" + "A1b2" * 20
OPENAI_KEY = "sk-proj-" + "Zz9_" * 12


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Incorrect API key provided: {ANTHROPIC_KEY}", "Incorrect API key provided: [redacted]"),
        (f"key={OPENAI_KEY}.", "key=[redacted]."),
        (f"Authorization: Bearer {OPENAI_KEY}", "Authorization: [redacted]"),
        ("authorization=Basic dXNlcjpwYXNz", "authorization=[redacted]"),
        (f"{{'x-api-key': '{ANTHROPIC_KEY}', 'a': 1}}", "{'x-api-key': '[redacted]', 'a': 1}"),
        ('"api-key": "azure-secret-value"', '"api-key": "[redacted]"'),
        ("Proxy-Authorization: Digest abc", "Proxy-Authorization: [redacted]"),
        ("token Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "token [redacted]"),
        (
            "no secrets in sk-learn or the API key docs",
            "no secrets in sk-learn or the API key docs",
        ),
    ],
)
def test_builtin_patterns(text: str, expected: str) -> None:
    """Key-shaped tokens and credential header values are replaced; the header's name stays."""
    assert Redactor().text(text) == expected


def test_literal_secrets_and_user_patterns() -> None:
    """Strings the user names, and matches of the user's patterns, are replaced."""
    redactor = Redactor(secrets=("hunter2",), patterns=(r"ACME-\d{6}",))
    assert redactor.text("pw hunter2, id ACME-123456") == "pw [redacted], id [redacted]"


def test_values_are_redacted_inside_containers() -> None:
    """Strings inside tuples, lists and dicts are redacted; other values pass through."""
    redactor = Redactor(secrets=("s3cr3t!",))
    value = {"a": ("s3cr3t!", 1), "b": ["x s3cr3t!"], "c": None}
    assert redactor.value(value) == {"a": ("[redacted]", 1), "b": ["x [redacted]"], "c": None}


def test_repr_shows_no_secret() -> None:
    """A redactor's repr (in a log of the hook list, say) holds neither secrets nor patterns."""
    redactor = Redactor(secrets=("hunter2",), patterns=(r"ACME-\d{6}",))
    assert "hunter2" not in repr(redactor)
    assert "ACME" not in repr(redactor)


def test_bad_pattern_is_a_config_error_that_does_not_echo_it() -> None:
    """A broken pattern is reported by position, since it may itself contain a secret."""
    with pytest.raises(ConfigError, match=r"patterns\[1\]") as info:
        Redactor(patterns=("ok", "hunter2("))
    assert "hunter2" not in str(info.value)


def test_secrets_must_be_a_tuple_of_strings() -> None:
    """One input, one meaning: secrets is a tuple of str, not a bare string."""
    with pytest.raises(ConfigError, match=r"Redactor\.secrets"):
        Redactor(secrets="hunter2")  # type: ignore[arg-type]


@given(
    secret=st.text(string.ascii_uppercase + string.digits, min_size=8, max_size=40),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
)
def test_a_named_secret_never_survives(secret: str, before: str, after: str) -> None:
    """Wherever a named secret appears in a text, the redacted text does not contain it."""
    text = before + secret + after + secret
    assert secret not in Redactor(secrets=(secret,)).text(text)
