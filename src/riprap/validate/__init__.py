"""Validation before the call (the request) and after it (the answer).

Before: `validate_request(provider, kwargs)` applies the provider's rules for messages,
roles, content blocks, `max_tokens`, sampling ranges and the context window, and raises
`PromptValidationError` naming the field and the bad value.

After: an `Expect` spec checks the answer's text (JSON, a JSON schema, a pydantic model,
choices, a function); `expect_sync` / `expect_async` re-ask with the validation error,
a bounded number of times, and sum the usage of every attempt.
"""

from riprap.validate._common import CheckedRequest, InputRules
from riprap.validate._errors import (
    ContextOverflowError,
    OutputValidationError,
    PromptValidationError,
)
from riprap.validate._estimate import (
    Estimator,
    estimate_text_tokens,
    estimate_tokens,
    upper_bound_tokens,
)
from riprap.validate._expect import Expect, Verdict, strip_fence
from riprap.validate._input import default_rules, materialize, validate_request
from riprap.validate._reask import (
    Asking,
    Expected,
    answer_text,
    expect_async,
    expect_sync,
    reask_kwargs,
)

__all__ = [
    "Asking",
    "CheckedRequest",
    "ContextOverflowError",
    "Estimator",
    "Expect",
    "Expected",
    "InputRules",
    "OutputValidationError",
    "PromptValidationError",
    "Verdict",
    "answer_text",
    "default_rules",
    "estimate_text_tokens",
    "estimate_tokens",
    "expect_async",
    "expect_sync",
    "materialize",
    "reask_kwargs",
    "strip_fence",
    "upper_bound_tokens",
    "validate_request",
]
