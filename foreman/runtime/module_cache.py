"""How the fleet resolves a module id: a process-wide cache, and the plan's choice of distribution.

amplifier-core 2.0.2 gives every session a fresh ``ModuleLoader``, and each loader scans every
installed distribution's metadata (``importlib.metadata.entry_points``) once per module: about 90%
of a session's start-up (13 ms of 14 for a five-module plan here). Entry points do not change
while a process runs, so the first resolution of each module id is kept for the process.

When two installed distributions offer the same module id (ours and Microsoft's ``tool-filesystem``,
say), amplifier-core loads the first entry point ``importlib.metadata`` lists. A plan entry's
``source`` names the distribution to load instead (issue 9, item 3); :func:`choosing` scopes that
choice to one session's start.

Nothing happens on import: the fleet calls :func:`install` once (issue 9, item 4). It wraps the
private ``ModuleLoader._load_entry_point(self, module_id)``; :class:`LoaderChanged` is raised if a
kernel no longer has that method with that signature, so a kernel upgrade fails loudly.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from amplifier_core import loader

GROUP = "amplifier.modules"  #: the entry point group amplifier-core's loader reads
PATCHED = "_load_entry_point"  #: the ModuleLoader method :func:`install` wraps

_resolved: dict[tuple[str, str | None], Callable[..., Any]] = {}
_sources: ContextVar[Mapping[str, str]] = ContextVar("foreman_module_sources", default={})


class LoaderChanged(RuntimeError):
    """amplifier-core's ``ModuleLoader`` no longer has ``_load_entry_point(self, module_id)``."""


class SourceNotInstalled(LookupError):
    """A plan's ``source`` names a distribution that is not installed or does not offer the module id."""


def offers(module_id: str) -> list[importlib.metadata.EntryPoint]:
    """Every installed entry point for ``module_id``, in the order the kernel sees them (the first wins)."""
    return [ep for ep in importlib.metadata.entry_points(group=GROUP) if ep.name == module_id]


def distribution_of(entry_point: importlib.metadata.EntryPoint) -> str:
    """The name of the distribution that ships ``entry_point`` (``"?"`` if metadata does not say)."""
    return entry_point.dist.name if entry_point.dist is not None else "?"


def installed() -> bool:
    """Whether :func:`install` has wrapped the kernel's loader in this process."""
    return getattr(getattr(loader.ModuleLoader, PATCHED, None), "_foreman_cached", False)


def install() -> None:
    """Wrap ``ModuleLoader._load_entry_point`` with the cache and the plans' ``source`` choices; idempotent.

    Raises:
        LoaderChanged: the kernel has no such method, or it takes other arguments.
    """
    original = getattr(loader.ModuleLoader, PATCHED, None)
    if installed():
        return
    if original is None or list(inspect.signature(original).parameters) != ["self", "module_id"]:
        raise LoaderChanged(f"amplifier_core.loader.ModuleLoader.{PATCHED}(self, module_id) is gone; "
                            "update foreman/runtime/module_cache.py for this kernel")

    def cached(self: Any, module_id: str) -> Callable[..., Any] | None:
        source = _sources.get().get(module_id)
        mount = _resolved.get((module_id, source))
        if mount is None:
            mount = original(self, module_id) if source is None else _load_from(source, module_id)
            if mount is not None:
                _resolved[(module_id, source)] = mount
        return mount

    cached._foreman_cached = True  # type: ignore[attr-defined]
    setattr(loader.ModuleLoader, PATCHED, cached)


@contextlib.contextmanager
def choosing(sources: Mapping[str, str]) -> Iterator[None]:
    """Within the block, module id -> distribution name in ``sources`` decides which entry point loads.

    Raises:
        RuntimeError: ``sources`` is not empty and :func:`install` was not called in this process.
    """
    if sources and not installed():
        raise RuntimeError("a plan chooses module sources but foreman.runtime.module_cache.install() was not called")
    token = _sources.set(dict(sources))
    try:
        yield
    finally:
        _sources.reset(token)


def _load_from(source: str, module_id: str) -> Callable[..., Any]:
    """The mount function of ``module_id`` as shipped by distribution ``source``."""
    candidates = offers(module_id)
    for ep in candidates:
        if same_distribution(distribution_of(ep), source):
            return ep.load()
    offered = ", ".join(distribution_of(ep) for ep in candidates) or "no installed distribution"
    raise SourceNotInstalled(f"{module_id}: source {source!r} does not offer it (offered by: {offered})")


def same_distribution(name: str, other: str) -> bool:
    """Whether two distribution names are the same, compared as packaging does (PEP 503: case, ``-_.`` alike)."""
    return re.sub(r"[-_.]+", "-", name).lower() == re.sub(r"[-_.]+", "-", other).lower()
