"""Token estimate used for every budget decision in context-simple.

The estimate is the length of a message's compact JSON form in characters divided by
four, rounded up (about 4 characters per token for English text and code with
BPE tokenizers). It is deliberately provider-independent; it over-counts JSON
punctuation and under-counts non-Latin scripts.
"""

import json
import math
from typing import Any

CHARS_PER_TOKEN = 4


def estimate_message_tokens(message: dict[str, Any]) -> int:
    """Estimated tokens of one context message (a dict); 0 is never returned."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """Estimated tokens of a list of context messages."""
    return sum(estimate_message_tokens(message) for message in messages)
