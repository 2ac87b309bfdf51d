"""Checking the integer inputs of the web tools."""

from typing import Any

from .errors import WebError


def bounded_int(input: dict[str, Any], key: str, default: int, ceiling: int) -> int:
    """`input[key]` (`default` when absent or null), which must be an integer from 1 to `ceiling`.

    Raises:
        WebError: `invalid_input` otherwise (booleans included).
    """
    value = default if input.get(key) is None else input[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ceiling:
        raise WebError("invalid_input", f"'{key}' must be an integer from 1 to {ceiling}.")
    return value
