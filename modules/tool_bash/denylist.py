"""Refusing commands that match a denied pattern, before they run.

Matching rule: the command and each pattern are split into words at whitespace, quotes and the
shell operators `; & | ( ) < >` and backquote. A pattern matches when its words appear, in order
and next to each other, among the command's words (case-sensitive). So `sudo` refuses
`make && sudo make install` but not `pseudo`, and `rm -rf /` refuses `rm -rf / ` and `rm -rf "/"` but
not `rm -rf /tmp/x`. This catches accidents, not an adversary: `r''m`, variables and scripts
get past it.
"""

import re
from collections.abc import Iterable

DEFAULT_DENIED_COMMANDS = (
    "rm -rf /",
    "rm -rf /*",
    "rm -rf ~",
    "rm -fr /",
    "sudo",
    "git push --force",
    "git push -f",
    "mkfs",
    "shutdown",
    "reboot",
)
_SEPARATORS = re.compile(r"[\s;&|()<>`'\"]+")


def _words(text: str) -> list[str]:
    return [word for word in _SEPARATORS.split(text) if word]


def denied_pattern(command: str, patterns: Iterable[str]) -> str | None:
    """The first of `patterns` that `command` matches under the rule above, else None."""
    words = _words(command)
    for pattern in patterns:
        needle = _words(pattern)
        span = len(needle)
        if span and any(words[i : i + span] == needle for i in range(len(words) - span + 1)):
            return pattern
    return None
