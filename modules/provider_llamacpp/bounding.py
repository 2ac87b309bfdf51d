"""Bound a JSON schema so that any value it admits fits a character budget.

llama.cpp's grammar only guarantees well-formed JSON if generation ends
before ``max_tokens`` (docs/modules/provider-llamacpp.md), so every string and
array of a tool schema gets a ``maxLength``/``maxItems`` that keeps the value
within a budget of characters; ``decision.py`` sets that budget from
``max_tokens``. That bounds tokens too, since a token carries at least one
character of ASCII text (an escaped or non-ASCII character can cost more;
``response.py`` reports such a truncated reply as an error). Sizes follow the
grammar llama-cpp-python's converter emits (``llama_cpp/llama_grammar.py``).
"""

import json
from typing import Any

DEFAULT_MAX_ITEMS = 8  # items allowed in an array whose schema sets no maxItems
MIN_STRING_CHARS = 40  # a string never gets fewer characters than this (or its minLength): a UUID fits
# llama.cpp's grammar parser recurses once per character of a bounded string: maxLength 1,100
# overflowed an 8 MB thread stack here (segfault, killing the process), 1,000 did not.
MAX_STRING_CHARS = 512
# Worst-case characters of llama.cpp's JSON grammar, which allows one space after
# each value and punctuation mark:
OBJECT_CHARS = 4  # "{ " and "} "
KEY_CHARS = 5  # per key besides the quoted key itself: " : " and ", "
ARRAY_CHARS = 4  # "[ " and "] "
ITEM_CHARS = 2  # ", " per array item
STRING_CHARS = 3  # two quotes and a space
_SCALAR_CHARS = {"integer": 18, "number": 52, "boolean": 6, "null": 5}  # 16-digit parts, sign, exponent


def bound_schema(schema: dict[str, Any], budget: int) -> dict[str, Any]:
    """A copy of ``schema`` whose every value fits in about ``budget`` characters of JSON.

    Local ``$ref``s are inlined (a recursive one becomes a bounded string);
    strings without ``maxLength`` and arrays without ``maxItems`` get one, and
    larger declared bounds are lowered to fit; untyped values become bounded
    strings; no string gets more than ``MAX_STRING_CHARS`` (a llama.cpp limit);
    objects admit only their declared properties. In an object, keys
    and fixed-size values (numbers, booleans, enums) are paid first, every other
    value gets its smallest size (``MIN_STRING_CHARS`` a string), then the rest
    goes to the required values, then to the optional ones, each time shared
    max-min fairly: values whose natural size (declared maxLength, or
    ``MAX_STRING_CHARS``) fits get it, the larger ones share what is left
    equally. If even the smallest sizes do not fit, the bound is not guaranteed.
    Strings with a ``pattern`` keep it unbounded (the grammar ignores maxLength there).
    """
    return _bound(_inline_refs(schema, schema, frozenset()), budget)


def _inline_refs(node: Any, root: dict[str, Any], seen: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_inline_refs(item, root, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        return {} if ref in seen else _inline_refs(_resolve(root, ref), root, seen | {ref})
    return {k: _inline_refs(v, root, seen) for k, v in node.items() if k not in ("$defs", "definitions")}


def _resolve(root: dict[str, Any], ref: str) -> Any:
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _bound(node: Any, budget: int) -> Any:
    if node is True:  # the schema that admits anything
        return _bound_string({}, budget)
    if not isinstance(node, dict) or "const" in node or "enum" in node:
        return node
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            return {**node, key: [_bound(option, budget) for option in node[key]]}
    kind = node.get("type")
    if isinstance(kind, list):
        return {"anyOf": [_bound({**node, "type": one}, budget) for one in kind]}
    if kind == "object" or "properties" in node:
        return _bound_object(node, budget)
    if kind == "array" or "items" in node:
        return _bound_array(node, budget)
    if kind in _SCALAR_CHARS:
        return node
    return _bound_string(node, budget)


def _bound_string(node: dict[str, Any], budget: int) -> dict[str, Any]:
    if "pattern" in node:
        return node
    room = max(min(budget - STRING_CHARS, MAX_STRING_CHARS), MIN_STRING_CHARS)
    longest = max(min(node.get("maxLength", room), room), node.get("minLength", 0))
    return {**node, "type": "string", "maxLength": longest}


def _bound_array(node: dict[str, Any], budget: int) -> dict[str, Any]:
    items = node.get("items", {})
    room = budget - ARRAY_CHARS
    if isinstance(items, list):  # a tuple: one schema per position
        share = room // max(len(items), 1) - ITEM_CHARS
        return {**node, "items": [_bound(item, share) for item in items]}
    fits = max(room // (_size(items, smallest=True) + ITEM_CHARS), 1)
    count = max(min(node.get("maxItems", DEFAULT_MAX_ITEMS), DEFAULT_MAX_ITEMS, fits), node.get("minItems", 0))
    share = room // max(count, 1) - ITEM_CHARS
    return {**node, "type": "array", "maxItems": count, "items": _bound(items, share)}


def _bound_object(node: dict[str, Any], budget: int) -> dict[str, Any]:
    properties = node.get("properties", {})
    fixed = {key: size for key, value in properties.items() if (size := _fixed_size(value)) is not None}
    open_values = {key: value for key, value in properties.items() if key not in fixed}
    smallest = {key: _size(value, smallest=True) for key, value in open_values.items()}
    needs = {key: _size(value, smallest=False) - smallest[key] for key, value in open_values.items()}
    used = OBJECT_CHARS + sum(key_chars(key) for key in properties) + sum(fixed.values()) + sum(smallest.values())
    required = set(node.get("required", []))
    extra = _share_fairly({key: need for key, need in needs.items() if key in required}, max(budget - used, 0))
    left = max(budget - used - sum(extra.values()), 0)
    extra |= _share_fairly({key: need for key, need in needs.items() if key not in required}, left)
    bounded = {key: _bound(value, smallest[key] + extra[key]) for key, value in open_values.items()}
    ordered = {key: bounded.get(key, value) for key, value in properties.items()}
    return {**node, "type": "object", "properties": ordered, "additionalProperties": False}


def _share_fairly(needs: dict[str, int], room: int) -> dict[str, int]:
    """Max-min fair split of ``room``: the smallest needs are met in full, the rest share equally."""
    grants, pending = {}, sorted(needs, key=needs.get)
    while pending and needs[pending[0]] <= room // len(pending):
        key = pending.pop(0)
        grants[key] = needs[key]
        room -= needs[key]
    return grants | {key: room // len(pending) for key in pending}


def _fixed_size(node: Any) -> int | None:
    """Characters a number, boolean, null, const or enum takes at most; None for other values."""
    if not isinstance(node, dict):
        return None
    if "const" in node or "enum" in node:
        return max(len(json.dumps(value)) for value in node.get("enum", [node.get("const")])) + 1
    return None if "anyOf" in node or "oneOf" in node else _SCALAR_CHARS.get(node.get("type"))


def _size(node: Any, *, smallest: bool) -> int:
    """Characters a value takes: the least bounding leaves it, or its natural size if nothing is cut.

    Smallest: strings of ``MIN_STRING_CHARS`` (or a lower maxLength), arrays of one item
    (or minItems). Natural: declared maxLength (``MAX_STRING_CHARS`` at most),
    arrays of maxItems (at most ``DEFAULT_MAX_ITEMS``).
    """
    fixed = _fixed_size(node)
    if fixed is not None:
        return fixed
    if not isinstance(node, dict):
        return (MIN_STRING_CHARS if smallest else MAX_STRING_CHARS) + STRING_CHARS
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        return max(_size(option, smallest=smallest) for option in options)
    if node.get("type") == "object" or "properties" in node:
        properties = node.get("properties", {}).items()
        return OBJECT_CHARS + sum(key_chars(key) + _size(value, smallest=smallest) for key, value in properties)
    if node.get("type") == "array" or "items" in node:
        items = node.get("items", {})
        if isinstance(items, list):
            return ARRAY_CHARS + sum(_size(item, smallest=smallest) + ITEM_CHARS for item in items)
        most = min(node.get("maxItems", DEFAULT_MAX_ITEMS), DEFAULT_MAX_ITEMS)
        count = max(node.get("minItems", 0), 1) if smallest else most
        return ARRAY_CHARS + count * (_size(items, smallest=smallest) + ITEM_CHARS)
    declared = node.get("maxLength")
    if smallest:
        return min(declared or MIN_STRING_CHARS, MIN_STRING_CHARS) + STRING_CHARS
    return min(declared or MAX_STRING_CHARS, MAX_STRING_CHARS) + STRING_CHARS


def key_chars(key: str) -> int:
    """Characters an object key costs at most, besides its value."""
    return len(json.dumps(key)) + KEY_CHARS
