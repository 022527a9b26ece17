"""Keeping prompts inside the context window.

* `sliding_window`: the system prompt and the newest turns within a token budget, tool
  calls never separated from their results (both providers' shapes).
* `chunk_text`: a long document in chunks at paragraph / sentence boundaries, optional
  overlap.
* `compress_history`: old turns replaced by a summary from a cheaper model.
* `SlidingWindow`, `Summarize`: the same as strategies the call layer applies (and
  retries once) when a call overflows the window.
"""

from riprap.context._chunk import chunk_text
from riprap.context._compress import (
    SUMMARY_HEADER,
    acompress_history,
    asummarizer,
    compress_history,
    summarizer,
    summary_request,
    transcript,
)
from riprap.context._strategy import (
    ContextStrategy,
    SlidingWindow,
    Summarize,
    prompt_budget,
)
from riprap.context._window import sliding_window, units

__all__ = [
    "SUMMARY_HEADER",
    "ContextStrategy",
    "SlidingWindow",
    "Summarize",
    "acompress_history",
    "asummarizer",
    "chunk_text",
    "compress_history",
    "prompt_budget",
    "sliding_window",
    "summarizer",
    "summary_request",
    "transcript",
    "units",
]
