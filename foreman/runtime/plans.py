"""Mount plans: one JSON file per role in ``mount_plans/``, validated before any session starts.

A plan has the seed's shape (``session`` orchestrator + context, ``providers``, ``tools``, optional
``hooks``) plus a ``fleet`` section that this project reads and the kernel never sees::

    "fleet": {
      "role": "worker",                       # or "foreman", or "validator" (reviews in_review work)
      "worker_type": "coding",                # its name in the live view and in worker ids
      "takes": {"metadata": {"worker_type": "coding"}},   # which issues it claims (IssueFilter)
      "count": 2,                             # how many run by default
      "claim_mode": "runtime",                # or "agent": the model claims through issue_claim
      "lease_ttl": 60,                        # seconds; the runtime heartbeats every lease_ttl / 3
      "budget": {"max_tokens": 200000},       # default limits of each issue it works (docs/budgets.md)
      "instructions": "You are a coding worker ..."   # the session's system prompt
    }

Strings may hold ``${VAR}`` or ``${VAR:-default}``, expanded from the environment (and ``.env``,
via python-dotenv). A provider entry may say ``"requires_env": "ANTHROPIC_API_KEY"``: without that
variable it is skipped (and the skip is reported), so a plan can say "Claude if the key is set, else
the embedded model"; it may also say ``"max_concurrent_calls": 1`` and ``"call_timeout": 600`` (seconds)
for its provider gate (docs/budgets.md). A tool entry may say the same (e.g. web search only when ``SEARXNG_URL`` is set). Errors name the file, the field and the fix.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from amplifier_core.validation import MountPlanValidator
from dotenv import load_dotenv
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from foreman.issues import IssueFilter
from foreman.runtime.budgets import Budget

PLANS_DIR = Path(__file__).resolve().parents[2] / "mount_plans"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class PlanError(Exception):
    """A mount plan that cannot be used; the message names the file, the field and the fix."""


class ModuleEntry(BaseModel):
    """One module of a plan: its id (entry point name), config, and fleet-only keys."""

    model_config = ConfigDict(extra="forbid")

    module: str = Field(min_length=1)
    config: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None  #: the installed distribution to load ``module`` from when several offer it
    requires_env: str | None = None  #: skip this provider or tool unless this environment variable is set


class ProviderEntry(ModuleEntry):
    """A provider of a plan, with the fleet-only keys of its provider gate (``foreman/runtime/provider_gate.py``)."""

    max_concurrent_calls: int | None = Field(None, ge=1)  #: calls of this provider in flight at once, per process
    call_timeout: float | None = Field(None, gt=0)  #: seconds one call may take (default 120; an issue's own wins)


class SessionSection(BaseModel):
    """The session's orchestrator and context (the seed's string form is accepted too)."""

    model_config = ConfigDict(extra="forbid")

    orchestrator: ModuleEntry
    context: ModuleEntry

    @field_validator("orchestrator", "context", mode="before")
    @classmethod
    def _string_form(cls, value: Any) -> Any:
        return {"module": value} if isinstance(value, str) else value


class FleetSection(BaseModel):
    """How this project runs sessions of the plan (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["foreman", "worker", "validator"]  #: a validator reviews work in review (issue 8)
    worker_type: str = Field("worker", pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    takes: IssueFilter = Field(default_factory=IssueFilter)
    count: int = Field(1, ge=0, le=64)
    claim_mode: Literal["runtime", "agent"] = "runtime"
    lease_ttl: float = Field(60.0, gt=0)
    instructions: str = ""
    budget: Budget = Field(default_factory=Budget)  #: default limits of the issues it works (an issue's own win)


class MountPlan(BaseModel):
    """A validated mount plan. ``kernel_config()`` is what ``AmplifierSession`` receives."""

    model_config = ConfigDict(extra="forbid")

    session: SessionSection
    providers: list[ProviderEntry] = Field(default_factory=list)
    tools: list[ModuleEntry] = Field(default_factory=list)
    hooks: list[ModuleEntry] = Field(default_factory=list)
    fleet: FleetSection
    _path: Path = PrivateAttr(default=Path("<memory>"))
    _skipped: list[str] = PrivateAttr(default_factory=list)

    @property
    def path(self) -> Path:
        """The file the plan came from."""
        return self._path

    @property
    def skipped_modules(self) -> list[str]:
        """Providers and tools left out because their ``requires_env`` variable is unset (reasons)."""
        return list(self._skipped)

    @property
    def name(self) -> str:
        """The plan's file stem, e.g. ``coding-worker``."""
        return self._path.stem

    def kernel_config(self) -> dict[str, Any]:
        """The mount plan as amplifier-core expects it: module dicts, no fleet-only keys."""
        def entries(items: list[ModuleEntry]) -> list[dict[str, Any]]:
            return [{"module": e.module, "config": e.config} for e in items]

        plan: dict[str, Any] = {
            "session": {
                "orchestrator": {"module": self.session.orchestrator.module, "config": self.session.orchestrator.config},
                "context": {"module": self.session.context.module, "config": self.session.context.config},
            },
            "providers": entries(self.providers),
            "tools": entries(self.tools),
        }
        if self.hooks:
            plan["hooks"] = entries(self.hooks)
        return plan

    def sources(self) -> dict[str, str]:
        """Module id -> distribution name, for every entry that names a ``source`` (issue 9, item 3)."""
        entries = [self.session.orchestrator, self.session.context, *self.providers, *self.tools, *self.hooks]
        return {e.module: e.source for e in entries if e.source}

    def with_providers(self, modules: list[str]) -> MountPlan:
        """A copy keeping only the named provider modules (e.g. ``--provider provider-llamacpp``).

        Raises:
            PlanError: a named provider is not in the plan.
        """
        missing = sorted(set(modules) - {p.module for p in self.providers})
        if missing:
            listed = ", ".join(p.module for p in self.providers) or "none"
            raise PlanError(f"{self._path}: providers: {', '.join(missing)} not in this plan (it lists: {listed})")
        copy = _copy(self, providers=[p for p in self.providers if p.module in modules])
        copy._skipped = []
        return copy

    def with_tool_config(self, module: str, **changes: Any) -> MountPlan:
        """A copy whose ``module`` tool entry has ``changes`` merged into its config (e.g. fewer operations)."""
        tools = [ModuleEntry(module=t.module, config=t.config | changes if t.module == module else t.config)
                 for t in self.tools]
        return _copy(self, tools=tools)


def _copy(plan: MountPlan, **update: Any) -> MountPlan:
    copy = plan.model_copy(update=update)
    copy._path, copy._skipped = plan._path, list(plan._skipped)
    return copy


def load_plan(path: str | os.PathLike, *, env: dict[str, str] | None = None) -> MountPlan:
    """Read, expand and validate one mount plan file.

    Args:
        path: the JSON file, or a bare name such as ``coding-worker`` (looked up in ``mount_plans/``).
        env: variables for ``${VAR}``; default: ``os.environ`` after loading ``.env``.

    Raises:
        PlanError: unreadable file, bad JSON, unknown or missing field, unset variable, or a plan
            amplifier-core's ``MountPlanValidator`` rejects.
    """
    file = _locate(path)
    if env is None:
        load_dotenv()
        env = dict(os.environ)
    raw = _read_json(file)
    providers, skipped_providers = _select(raw.get("providers", []), env)
    tools, skipped_tools = _select(raw.get("tools", []), env)
    skipped = skipped_providers + skipped_tools
    expanded = _expand(raw | {"providers": providers, "tools": tools}, env, file, "")
    try:
        plan = MountPlan.model_validate(expanded)
    except ValidationError as exc:
        raise PlanError(_explain(file, exc)) from None
    _kernel_validate(file, plan)
    plan._path, plan._skipped = file, skipped
    return plan


def load_plans(directory: str | os.PathLike = PLANS_DIR) -> list[MountPlan]:
    """Every ``*.json`` plan in ``directory``, sorted by file name (a new worker type is a new file)."""
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        raise PlanError(f"{directory}: no mount plans (*.json) found")
    return [load_plan(f) for f in files]


def _locate(path: str | os.PathLike) -> Path:
    file = Path(path)
    if not file.suffix and not file.is_file():
        file = PLANS_DIR / f"{file}.json"
    if not file.is_file():
        raise PlanError(f"{file}: no such mount plan file")
    return file


def _read_json(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise PlanError(f"{file}: line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise PlanError(f"{file}: the top level must be a JSON object with session, providers, tools and fleet")
    return data


def _select(entries: list[Any], env: dict[str, str]) -> tuple[list[Any], list[str]]:
    """Split module entries into those to mount and reasons for those whose ``requires_env`` is unset."""
    kept, skipped = [], []
    for entry in entries:
        needed = entry.get("requires_env") if isinstance(entry, dict) else None
        if needed and not env.get(needed):
            skipped.append(f"{entry.get('module')}: {needed} is not set")
        else:
            kept.append(entry)
    return kept, skipped


def _expand(value: Any, env: dict[str, str], file: Path, where: str) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string, recursively."""
    if isinstance(value, dict):
        return {k: _expand(v, env, file, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, file, f"{where}[{n}]") for n, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in env and env[name] != "":
            return env[name]
        if default is not None:
            return default
        raise PlanError(f"{file}: {where}: ${{{name}}} is not set; set {name} in the environment or .env, "
                        f"or write ${{{name}:-default}}")

    return _VAR.sub(substitute, value)


def _explain(file: Path, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "(top level)"
        lines.append(f"{file}: {field}: {error['msg']}{_fix(error)}")
    return "\n".join(lines)


def _fix(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return " (add it; see docs/mount-plans.md)"
    if kind == "extra_forbidden":
        return " (remove it or fix its spelling; see docs/mount-plans.md)"
    if kind == "literal_error":
        return f" (use {error['ctx']['expected']})"
    return ""


def _kernel_validate(file: Path, plan: MountPlan) -> None:
    result = MountPlanValidator().validate(plan.kernel_config())
    if not result.passed:
        problems = "; ".join(e.message for e in result.errors)
        raise PlanError(f"{file}: amplifier-core rejects the plan: {problems}")
