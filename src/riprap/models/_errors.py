"""What the registry raises and warns: an unknown model is a warning unless strict."""

from __future__ import annotations

from riprap.errors import RiprapError


class RiprapWarning(UserWarning):
    """Base of every warning riprap issues; filter them all with one category."""


class UnknownModelWarning(RiprapWarning):
    """A model the registry does not know: limits and prices are not checked for it.

    New models must not break users, so this is a warning by default; a strict registry
    raises `UnknownModelError` instead.
    """


class UnknownModelError(RiprapError, LookupError):
    """A strict registry was asked for a model it does not know."""

    model: str

    def __init__(self, message: str, *, model: str) -> None:
        super().__init__(message)
        self.model = model
