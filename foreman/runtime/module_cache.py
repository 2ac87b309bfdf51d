"""Process-wide cache of module mount functions resolved through entry points.

amplifier-core 2.0.2 gives every session a fresh ``ModuleLoader``, and each loader scans every
installed distribution's metadata (``importlib.metadata.entry_points``) once per module: about 90%
of a session's start-up (13 ms of 14 for a five-module plan here). Entry points do not change
while a process runs, so the first resolution of each module id is kept for the process. The
loader's own per-instance cache (``_loaded_modules``) works the same way; this only widens its
scope. Applied once by :mod:`foreman.runtime.sessions`; a kernel without ``ModuleLoader._load_entry_point``
is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amplifier_core import loader

_resolved: dict[str, Callable[..., Any]] = {}


def install() -> bool:
    """Wrap ``ModuleLoader._load_entry_point`` with the cache; returns False if the kernel has no such method."""
    original = getattr(loader.ModuleLoader, "_load_entry_point", None)
    if original is None or getattr(original, "_foreman_cached", False):
        return original is not None

    def cached(self: Any, module_id: str) -> Callable[..., Any] | None:
        mount = _resolved.get(module_id)
        if mount is None:
            mount = original(self, module_id)
            if mount is not None:
                _resolved[module_id] = mount
        return mount

    cached._foreman_cached = True  # type: ignore[attr-defined]
    loader.ModuleLoader._load_entry_point = cached
    return True
