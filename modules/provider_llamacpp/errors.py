"""Errors raised by the llama.cpp provider before or around inference.

Both are ``amplifier_core.llm_errors.ConfigurationError`` subclasses: they need a
person to act (install a package, delete a file), so they are never retryable.
Errors raised while generating map to the other ``llm_errors`` types in
``provider.py``.
"""

from amplifier_core import llm_errors


class ModelUnavailableError(llm_errors.ConfigurationError):
    """llama-cpp-python, a model part package or a model file is missing.

    The message names the pip command or the path that fixes it.
    """


class ModelIntegrityError(llm_errors.ConfigurationError):
    """A model file's size or sha256 differs from the pinned value.

    The file is left alone (never re-assembled or re-downloaded silently); the
    message names it and says to delete it so the next run assembles it again.
    """
