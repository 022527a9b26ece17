"""Input parsing and validation: every error names its line, field and value."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from riprap.batch._input import Checker, Raw, shape_of

if TYPE_CHECKING:
    from riprap.batch._input import Checked


def _check(*texts: str, shape: str | None = None, model: str | None = None) -> list[Checked]:
    checker = Checker(shape=shape, model_override=model)  # type: ignore[arg-type]
    return [
        checker.check(Raw(line=n, offset=0, length=len(t), data=t.encode()))
        for n, t in enumerate(texts, start=1)
    ]


def _line(ident: object = "a", **request: object) -> str:
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    body.update(request)
    return json.dumps({"id": ident, "request": {k: v for k, v in body.items() if v != "-"}})


def test_a_good_line_has_its_id_and_no_error() -> None:
    """A well-formed Anthropic line passes with its canonical id."""
    (checked,) = _check(_line("a"))
    assert (checked.id_key, checked.error, checked.shape) == ("a", None, "anthropic")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not valid JSON: Expecting property name enclosed in double quotes"),
        ("[1, 2]", 'expected a JSON object with "id" and "request", got list'),
        ('{"request": {}}', '"id" is missing'),
        (
            _line(True),  # noqa: FBT003 - the bad id under test
            '"id" must be a non-empty string (at most 512 characters) or an integer, got true',
        ),
        (
            _line(""),
            '"id" must be a non-empty string (at most 512 characters) or an integer, got ""',
        ),
        ('{"id": "a"}', '"request" is missing'),
        ('{"id": "a", "request": 3}', '"request" is not an object: 3'),
        (_line(messages=[]), '"request.messages" must be a non-empty list, got []'),
        (_line(messages=["x"]), '"request.messages[0]" must be an object, got "x"'),
        (_line(max_tokens=0), '"request.max_tokens" must be an integer >= 1, got 0'),
        (_line(max_tokens="-"), '"request.max_tokens" is missing (Anthropic requires it)'),
        (
            _line(model="-"),
            '"request.model" must be a non-empty string (or give --model), got null',
        ),
        (_line(stream=True), '"request.stream" is true: batch calls do not stream; remove it'),
    ],
)
def test_each_bad_line_says_why(text: str, reason: str) -> None:
    """Each malformed line gets a message naming the field and the bad value."""
    (checked,) = _check(text)
    assert checked.error is not None
    assert checked.error.startswith(reason), checked.error


def test_a_long_bad_role_is_shortened_in_the_message() -> None:
    """An unknown role is quoted like every other bad value: cut to one line's worth."""
    (checked,) = _check(_line(messages=[{"role": "r" * 500, "content": "x"}]))
    assert checked.error == (
        f'"request.messages[0].role" is "{"r" * 56}...: Anthropic takes "user" or '
        '"assistant" (the system prompt goes in "request.system")'
    )


def test_model_override_makes_a_missing_model_fine() -> None:
    """--model supplies the model a line lacks."""
    (checked,) = _check(_line(model="-"), model="claude-x")
    assert checked.error is None


def test_integer_ids_are_canonical_decimal() -> None:
    """1 and "1" are the same id (so a duplicate)."""
    assert [c.id_key for c in _check(_line(1), _line("1"))] == ["1", "1"]


def test_shape_is_learnt_from_the_first_line_that_shows_one() -> None:
    """An OpenAI line after an Anthropic one is an error naming the earlier line."""
    openai_line = json.dumps({"id": "b", "request": {"model": "g", "messages": [
        {"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}})  # fmt: skip
    first, second = _check(_line("a", system="be brief"), openai_line)
    assert first.error is None
    assert second.error == (
        "the request is OpenAI-shaped, but line 1 made the file Anthropic; one file holds "
        "one API's requests"
    )


def test_openai_shape_needs_no_max_tokens() -> None:
    """An OpenAI request without max_tokens is fine when the shape is OpenAI."""
    (checked,) = _check(_line(max_tokens="-"), shape="openai")
    assert (checked.error, checked.shape) == (None, "openai")


def test_a_forced_shape_refuses_the_other_apis_request() -> None:
    """A "system" role under --provider anthropic is named as OpenAI-shaped."""
    (checked,) = _check(_line(messages=[{"role": "system", "content": "s"}]), shape="anthropic")
    assert checked.error == (
        "the request is OpenAI-shaped, but --provider/--format says Anthropic; one file "
        "holds one API's requests"
    )


def test_shape_of_reads_keys_and_roles() -> None:
    """Keys and roles only one API has decide the shape; neither leaves it open."""
    assert shape_of({"system": "s"}) == "anthropic"
    assert shape_of({"messages": [{"role": "developer"}]}) == "openai"
    assert shape_of({"max_completion_tokens": 3}) == "openai"
    assert shape_of({"messages": [{"role": "user"}]}) is None
