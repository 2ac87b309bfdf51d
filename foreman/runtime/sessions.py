"""Start an Amplifier session from a mount plan, and fail loudly where the kernel only warns.

amplifier-core 2.0.2 logs a warning and emits ``module:load_failed`` when a provider or tool cannot
be mounted, and happily runs a session with no provider. :func:`open_session` registers the
per-session capabilities before ``initialize()``, collects those failures, and raises
:class:`SessionStartError` naming every module that did not load.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amplifier_core import AmplifierSession
from amplifier_core.events import PROVIDER_RETRY
from amplifier_core.models import HookResult

from foreman.issues import IssueStore
from foreman.issues.identity import IDENTITY_CAPABILITY, STORE_CAPABILITY, WorkerIdentity
from foreman.runtime import module_cache
from foreman.runtime.budgets import DEFAULT_CALL_TIMEOUT
from foreman.runtime.plans import MountPlan, ProviderEntry
from foreman.runtime.provider_gate import GuardedProvider, back_off_on_rate_limit, gate_for
from foreman.runtime.runtime_hooks import IN_PROCESS_CAPABILITY, RuntimeHooks

WORKING_DIR_CAPABILITY = "session.working_dir"
DEFAULT_PROVIDER_PRIORITY = 100  #: a provider whose config names no ``priority`` (loop-streaming's rule)


class SessionStartError(RuntimeError):
    """A session that cannot start: a module failed to load or mount, the kernel refused the plan, or no provider."""


@dataclass
class FleetSession:
    """A started session: the kernel session, the provider it will use, the runtime's hooks on it
    (:class:`~foreman.runtime.runtime_hooks.RuntimeHooks`) and a per-session lock.

    ``execute`` calls are serialised: two concurrent ``execute()`` on one session would interleave
    their context (amplifier-core note).
    """

    session: AmplifierSession
    plan: MountPlan
    provider: str
    skipped_modules: list[str]
    hooks: RuntimeHooks = field(init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.hooks = RuntimeHooks(self.session.coordinator.hooks)
        self.session.coordinator.register_capability(IN_PROCESS_CAPABILITY, self.hooks)

    @property
    def coordinator(self) -> Any:
        """The session's coordinator (mount points, hooks, capabilities, cancellation)."""
        return self.session.coordinator

    async def execute(self, prompt: str) -> str:
        """Run one prompt to its final answer. Raises ``RuntimeError("Execution failed: ...")`` on failure."""
        async with self._lock:
            return await self.session.execute(prompt)

    async def cancel(self) -> None:
        """Ask the running turn to stop at its next check (tools already running finish)."""
        await self.coordinator.request_cancel(immediate=False)

    async def cleanup(self) -> None:
        """Release the session's modules."""
        await self.session.cleanup()


async def open_session(
    plan: MountPlan,
    *,
    workspace: Path,
    identity: WorkerIdentity | None = None,
    store: IssueStore | None = None,
    provider: Any | None = None,
    system_prompt: str | None = None,
    capabilities: dict[str, Any] | None = None,
    call_timeout: float | None = None,
) -> FleetSession:
    """Build and initialise a session from ``plan``.

    Args:
        plan: a validated mount plan.
        workspace: directory the session's tools work in (capability ``session.working_dir``).
        identity: the worker/foreman identity for the issue tool (capability ``foreman.identity``).
        store: the process's shared issue store (capability ``foreman.store``).
        provider: a provider object to use INSTEAD of the plan's providers (e.g. a test's
            ``ScriptedProvider``); mounted after ``initialize()``.
        system_prompt: overrides the plan's ``fleet.instructions``. The instructions go into the
            context manager as the first message, ``{"role": "system"}`` (amplifier-core's context
            contract, docs/contracts/CONTEXT_CONTRACT.md), so every orchestrator sends them, not
            only ours (issue 9: upstream orchestrators ignore a ``system_prompt`` config key).
        capabilities: more capabilities to register before ``initialize()`` (name -> value), e.g.
            the worker's close gate (``foreman.close_gate``).
        call_timeout: seconds one model call may take (an issue's ``call_timeout``); None: the
            plan's provider entry's, else :data:`~foreman.runtime.budgets.DEFAULT_CALL_TIMEOUT`.

    Every mounted provider is wrapped in a :class:`~foreman.runtime.provider_gate.GuardedProvider`
    (concurrency cap, shared 429 back-off, call timeout; issue 12).

    Raises:
        SessionStartError: the kernel refused the plan or failed to initialise it, a module of the
            plan failed to load, or no provider is mounted (every way a session fails to start).
    """
    config = plan.kernel_config()
    prompt = system_prompt if system_prompt is not None else plan.fleet.instructions
    if provider is not None:
        config["providers"] = []
    try:
        session = AmplifierSession(config)
    except Exception as exc:  # the kernel refuses the configuration (e.g. no orchestrator)
        raise SessionStartError(f"{plan.path}: the session cannot start: {exc}") from exc
    _register(session.coordinator, workspace, identity, store)
    for name, value in (capabilities or {}).items():
        session.coordinator.register_capability(name, value)
    failures = _collect_load_failures(session.coordinator)
    try:
        with module_cache.choosing(plan.sources()):
            await session.initialize()
    except Exception as exc:  # an orchestrator or context that does not load is fatal in the kernel
        raise SessionStartError(f"{plan.path}: the session cannot start: {exc}") from exc
    if provider is not None:
        await session.coordinator.mount("providers", provider, name=getattr(provider, "name", "provider"))
    try:
        chosen = _check_mounted(plan, session.coordinator, failures)
        await _instruct(plan, session.coordinator, prompt)
    except SessionStartError:
        await session.cleanup()
        raise
    await _gate_providers(session.coordinator, plan, call_timeout)
    return FleetSession(session=session, plan=plan, provider=chosen, skipped_modules=plan.skipped_modules)


async def _gate_providers(coordinator: Any, plan: MountPlan, call_timeout: float | None) -> None:
    """Remount every provider behind its process-wide gate; a 429 of one pauses them all."""
    gates = []
    for name, provider in dict(coordinator.get("providers") or {}).items():
        entry = _entry_of(plan, name)
        key = entry.module if entry else name
        gate = gate_for(key, entry.max_concurrent_calls if entry else None)
        timeout = call_timeout or (entry.call_timeout if entry else None) or DEFAULT_CALL_TIMEOUT
        await coordinator.mount("providers", GuardedProvider(provider, gate, timeout), name=name)
        gates.append(gate)
    coordinator.hooks.register(PROVIDER_RETRY, back_off_on_rate_limit(gates), name="foreman-rate-limit")


async def _instruct(plan: MountPlan, coordinator: Any, instructions: str | None) -> None:
    """Put ``instructions`` into the mounted context manager as its first, system, message.

    Raises:
        SessionStartError: no context manager is mounted.
    """
    if not instructions:
        return
    context = coordinator.get("context")
    if context is None:
        raise SessionStartError(f"{plan.path}: no context manager is mounted; add one to 'session.context'")
    await context.add_message({"role": "system", "content": instructions})


def _entry_of(plan: MountPlan, mounted: str) -> ProviderEntry | None:
    """The plan's entry of the provider mounted as ``mounted`` (module ``provider-<name>`` or ``<name>``)."""
    return next((e for e in plan.providers if e.module in (mounted, f"provider-{mounted}")), None)


def _register(coordinator: Any, workspace: Path, identity: WorkerIdentity | None, store: IssueStore | None) -> None:
    coordinator.register_capability(WORKING_DIR_CAPABILITY, str(workspace))
    if identity is not None:
        coordinator.register_capability(IDENTITY_CAPABILITY, identity)
    if store is not None:
        coordinator.register_capability(STORE_CAPABILITY, store)


def _collect_load_failures(coordinator: Any) -> list[str]:
    failures: list[str] = []

    async def record(event: str, data: dict[str, Any]) -> HookResult:
        failures.append(f"{data.get('module_id')} ({data.get('module_type')}): {data.get('error')}")
        return HookResult()

    coordinator.hooks.register("module:load_failed", record, name="foreman-load-check")
    return failures


def _check_mounted(plan: MountPlan, coordinator: Any, failures: list[str]) -> str:
    """Raise unless every module loaded and a provider is mounted; returns the provider to be used."""
    if failures:
        raise SessionStartError(f"{plan.path}: modules failed to load: " + "; ".join(failures))
    providers = coordinator.get("providers") or {}
    if not providers:
        skipped = f" (skipped: {'; '.join(plan.skipped_modules)})" if plan.skipped_modules else ""
        raise SessionStartError(f"{plan.path}: no provider is mounted{skipped}; add one to 'providers'")
    return min(providers, key=lambda name: _priority(plan, name))


def _priority(plan: MountPlan, mounted: str) -> float:
    """The ``priority`` in the plan's config of a mounted provider; orchestrators call the lowest first."""
    entry = _entry_of(plan, mounted)
    priority = entry.config.get("priority") if entry else None
    return DEFAULT_PROVIDER_PRIORITY if priority is None else priority
