"""Output specs: what an answer must be, and the error fed back when it is not."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riprap.errors import ConfigError
from riprap.validate import Expect, reask_kwargs, strip_fence


def test_json_parses_and_tolerates_a_code_fence() -> None:
    """JSON is parsed as is, or from inside one Markdown fence around the whole answer."""
    assert Expect.json().check('{"a": 1}').value == {"a": 1}
    assert Expect.json().check('```json\n{"a": [1, 2]}\n```').value == {"a": [1, 2]}
    assert strip_fence("no fence") == "no fence"


def test_invalid_json_says_where() -> None:
    """The error for bad JSON names the parser's complaint and the place."""
    verdict = Expect.json().check('{"a": 1,,}')
    assert not verdict.ok
    assert "not valid JSON" in verdict.error
    assert "line 1 column 9" in verdict.error


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": True},
        "kind": {"$ref": "#/$defs/kind"},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
    "$defs": {"kind": {"anyOf": [{"const": "person"}, {"type": "null"}]}},
}


def test_schema_accepts_a_matching_document() -> None:
    """A document matching the schema is returned parsed."""
    verdict = Expect.schema(SCHEMA).check('{"name": "Ada", "age": 36, "tags": ["a"], "kind": null}')
    assert verdict.value == {"name": "Ada", "age": 36, "tags": ["a"], "kind": None}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"age": 3}', "required property 'name' is missing"),
        ('{"name": "A", "age": -1}', "$.age: -1 is less than 0"),
        ('{"name": "A", "age": 1.5}', "$.age: 1.5 is not of type integer"),
        ('{"name": "A", "age": 1, "x": 0}', "property 'x' is not allowed"),
        ('{"name": "A", "age": 1, "tags": ["c"]}', "$.tags[0]: 'c' is not one of"),
        ('{"name": "A", "age": 1, "tags": ["a", "a"]}', "duplicate items"),
        ('{"name": "A", "age": 1, "kind": "robot"}', "matches none of the anyOf"),
        ('{"name": "", "age": 1}', "shorter than 1"),
        ("[1]", "is not of type object"),
    ],
)
def test_schema_errors_name_the_path(text: str, fragment: str) -> None:
    """Each schema violation is reported with its JSON path."""
    verdict = Expect.schema(SCHEMA).check(text)
    assert not verdict.ok
    assert fragment in verdict.error


def test_schema_with_unsupported_keywords_is_refused_up_front() -> None:
    """A keyword the subset does not enforce is a ConfigError, never silently ignored."""
    with pytest.raises(ConfigError, match="patternProperties"):
        Expect.schema({"type": "object", "patternProperties": {"^x": {}}})
    with pytest.raises(ConfigError, match="not a JSON type"):
        Expect.schema({"type": "float"})
    with pytest.raises(ConfigError, match="local reference"):
        Expect.schema({"$ref": "https://example.com/schema.json"})


def test_booleans_are_not_numbers() -> None:
    """JSON true is not the integer 1, nor does 1 equal true in enums."""
    assert not Expect.schema({"type": "integer"}).check("true").ok
    assert not Expect.schema({"enum": [1]}).check("true").ok
    assert Expect.schema({"type": "integer"}).check("2.0").ok


class Person(pydantic.BaseModel):
    """A small model to validate answers against."""

    name: str
    age: int


def test_pydantic_model() -> None:
    """A pydantic model validates the JSON and is the value."""
    verdict = Expect.model(Person).check('{"name": "Ada", "age": 36}')
    assert verdict.value == Person(name="Ada", age=36)
    failed = Expect.model(Person).check('{"name": "Ada"}')
    assert not failed.ok
    assert "does not validate as Person" in failed.error
    assert "age" in failed.error
    with pytest.raises(ConfigError, match="pydantic model"):
        Expect.model(dict)


def test_choices() -> None:
    """A choice is matched without case, quotes, bold or a full stop; the value is canonical."""
    expect = Expect.choices(["Positive", "Negative"])
    assert expect.check("positive.").value == "Positive"
    assert expect.check('  "NEGATIVE"\n').value == "Negative"
    assert expect.check("**Positive**").value == "Positive"
    failed = expect.check("Neutral")
    assert not failed.ok
    assert "'Positive', 'Negative'" in failed.error
    assert not Expect.choices(["Yes"], case_sensitive=True).check("yes").ok


def test_function() -> None:
    """A function's ValueError is the fed-back error; its value is the answer's value."""

    def parse(text: str) -> int:
        number = int(text)
        if number % 2:
            raise ValueError(f"{number} is odd; answer with an even number")
        return number

    expect = Expect.function(parse)
    assert expect.check("4").value == 4
    assert expect.check("3").error == "3 is odd; answer with an even number"
    assert not expect.check("four").ok


def test_function_bugs_propagate() -> None:
    """An exception other than ValueError is a bug in the validator, not a bad answer."""

    def broken(text: str) -> object:
        empty: dict[str, object] = {}
        return empty[text]

    with pytest.raises(KeyError):
        Expect.function(broken).check("x")


def test_bad_specs_are_config_errors() -> None:
    """Bad arguments to Expect fail when it is made, naming the field."""
    with pytest.raises(ConfigError, match="max_attempts: 0"):
        Expect.json(max_attempts=0)
    with pytest.raises(ConfigError, match="reask"):
        Expect.json(reask="try again")
    with pytest.raises(ConfigError, match="choices"):
        Expect.choices("yes")


def test_reask_messages_for_both_providers() -> None:
    """The re-ask adds the previous answer and a user turn carrying the error."""
    kwargs = {"model": "m", "messages": [{"role": "user", "content": "Give JSON"}]}
    for provider in ("anthropic", "openai"):
        again = reask_kwargs(
            provider, kwargs, "nope", "the answer is not valid JSON", Expect.json()
        )
        assert again["messages"][:1] == kwargs["messages"]
        assert again["messages"][1] == {"role": "assistant", "content": "nope"}
        assert again["messages"][2]["role"] == "user"
        assert "the answer is not valid JSON" in again["messages"][2]["content"]
        assert len(kwargs["messages"]) == 1  # the caller's list is not changed


def test_reask_keeps_an_anthropic_prefill() -> None:
    """With a prefill, the answer turn holds prefill + continuation, and the prefill returns."""
    prefill = {"role": "assistant", "content": "{"}
    kwargs = {"messages": [{"role": "user", "content": "JSON please"}, prefill]}
    again = reask_kwargs("anthropic", kwargs, '"a": ', "bad", Expect.json())
    assert [m["role"] for m in again["messages"]] == ["user", "assistant", "user", "assistant"]
    assert again["messages"][1]["content"] == '{"a": '
    assert again["messages"][3] == prefill


def test_empty_answer_is_replaced_in_the_reask() -> None:
    """An empty answer becomes a placeholder: Anthropic refuses empty assistant turns."""
    again = reask_kwargs(
        "anthropic", {"messages": [{"role": "user", "content": "x"}]}, "", "e", Expect.json()
    )
    assert again["messages"][1]["content"] == "(no text)"


@settings(max_examples=50)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))  # fmt: skip
def test_any_json_round_trips(value: object) -> None:
    """Whatever JSON the model writes, Expect.json returns it parsed."""
    import json  # noqa: PLC0415 - local to the property

    assert Expect.json().check(json.dumps(value)).value == value
