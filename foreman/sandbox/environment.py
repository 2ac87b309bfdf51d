"""The environment tool processes get: the worker's, minus provider keys and secret-named variables.

Rule (issue 7, defect 6): a variable is a secret when its name is one of `PROVIDER_VARIABLES` or
ends (case-insensitively) in one of `SECRET_SUFFIXES`. Tool processes never see secrets unless
named in an allow-list, and their values are redacted from anything recorded.
"""

import os
from collections.abc import Iterable, Mapping

PROVIDER_VARIABLES = frozenset({
    "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "GEMINI_API_KEY",
    "GOOGLE_API_KEY", "MISTRAL_API_KEY", "GROQ_API_KEY", "OPENROUTER_API_KEY", "HF_TOKEN",
})
SECRET_SUFFIXES = ("_TOKEN", "_SECRET", "_KEY", "_PASSWORD")
MIN_SECRET_LENGTH = 8  # characters: shorter values ("1", "true") would redact ordinary text
REDACTED = "[redacted]"


def is_secret_name(name: str) -> bool:
    """Whether a variable called `name` holds a secret under the rule above."""
    return name.upper() in PROVIDER_VARIABLES or name.upper().endswith(SECRET_SUFFIXES)


def tool_environment(base: Mapping[str, str] | None = None, allow: Iterable[str] = ()) -> dict[str, str]:
    """A copy of `base` (default `os.environ`) without its secrets, except the names in `allow`.

    Args:
        base: variable name -> value.
        allow: names kept even though they are secrets (exact, case-sensitive names), e.g. from
            tool-bash's config `env_allow`.
    """
    allowed = set(allow)
    source = os.environ if base is None else base
    return {name: value for name, value in source.items() if name in allowed or not is_secret_name(name)}


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """The values of the secrets in `env` (default `os.environ`) that are at least
    `MIN_SECRET_LENGTH` characters long, longest first (so `redact` replaces a longer secret
    before a shorter one inside it)."""
    source = os.environ if env is None else env
    values = {value for name, value in source.items() if is_secret_name(name) and len(value) >= MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each of `secrets` replaced by `"[redacted]"`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
