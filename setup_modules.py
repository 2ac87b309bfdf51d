"""Check that every module the mount plans name resolves and passes amplifier-core's validators.

    python setup_modules.py                       # check mount_plans/*.json
    python setup_modules.py --plans DIR           # another folder of plans
    python setup_modules.py --register PATH       # also make modules in PATH importable (e.g. a checkout
                                                  # of microsoft/amplifier-module-* repositories), then check

A module resolves through its ``amplifier.modules`` entry point or an importable
``amplifier_module_<id>`` package. ``--register`` writes a ``.pth`` file into this environment's
site-packages listing each ``amplifier-module-<id>`` folder found under PATH, so the kernel's loader
imports them in every later process. Exit status 0 when every module passes, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import json
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import click
from amplifier_core.validation import (
    ContextValidator,
    HookValidator,
    OrchestratorValidator,
    ProviderValidator,
    ToolValidator,
)
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from foreman.runtime.plans import PLANS_DIR, PlanError, load_plan

VALIDATORS = {"tool": ToolValidator, "provider": ProviderValidator, "orchestrator": OrchestratorValidator,
              "context": ContextValidator, "hook": HookValidator}
PLACEHOLDER_KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")  # providers check a key exists at mount; never used
PTH_NAME = "amplifier_foreman_external_modules.pth"
console = Console(highlight=False)


@dataclass
class ModuleCheck:
    """The outcome for one module id."""

    module: str
    plans: list[str]
    kind: str = "?"
    source: str = ""
    ok: bool = False
    detail: str = ""


def modules_in_plans(plans_dir: Path) -> dict[str, list[str]]:
    """Module id -> plan names using it, from the raw plan files (providers skipped for a missing key included).

    Raises:
        PlanError: a plan file does not validate.
    """
    used: dict[str, list[str]] = {}
    for file in sorted(plans_dir.glob("*.json")):
        load_plan(file, env=dict(os.environ) | {k: "placeholder" for k in PLACEHOLDER_KEYS})
        raw = json.loads(file.read_text())
        entries = [raw["session"]["orchestrator"], raw["session"]["context"], *raw.get("providers", []),
                   *raw.get("tools", []), *raw.get("hooks", [])]
        for entry in entries:
            module = entry if isinstance(entry, str) else entry["module"]
            used.setdefault(module, []).append(file.stem)
    return used


def resolve(module: str) -> tuple[str, str]:
    """(python package, where it was found) for a module id.

    Raises:
        ModuleNotFoundError: neither an entry point nor an importable package.
    """
    for ep in importlib.metadata.entry_points(group="amplifier.modules"):
        if ep.name == module:
            return ep.module, f"entry point {ep.value}"
    package = "amplifier_module_" + module.replace("-", "_")
    importlib.import_module(package)
    return package, "importable package"


async def check(module: str, plans: list[str]) -> ModuleCheck:
    """Resolve one module and run the validator of its type."""
    result = ModuleCheck(module, plans)
    try:
        package, result.source = resolve(module)
        imported = importlib.import_module(package)
        result.kind = getattr(imported, "__amplifier_module_type__", "?")
        validator = VALIDATORS[result.kind]()
        outcome = await validator.validate(package, entry_point=module)
        result.ok = outcome.passed
        result.detail = "; ".join(e.message for e in outcome.errors) or f"{len(outcome.checks)} checks passed"
    except Exception as exc:  # every failure is reported in the table, never a traceback
        result.detail = f"{type(exc).__name__}: {exc}"
    return result


def register(path: Path) -> list[Path]:
    """Write the .pth file listing every ``amplifier-module-*`` folder under ``path``; returns them."""
    folders = sorted(p.resolve() for p in path.glob("amplifier-module-*") if p.is_dir())
    if not folders:
        raise click.ClickException(f"{path}: no amplifier-module-* folders to register")
    pth = Path(sysconfig.get_paths()["purelib"]) / PTH_NAME
    pth.write_text("".join(f"{folder}\n" for folder in folders))
    importlib.invalidate_caches()
    for folder in folders:
        if str(folder) not in os.sys.path:
            os.sys.path.append(str(folder))
    return folders


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--plans", "plans_dir", type=click.Path(file_okay=False, exists=True), default=str(PLANS_DIR),
              show_default=True, help="Folder of mount plans to check.")
@click.option("--register", "register_dir", type=click.Path(file_okay=False, exists=True),
              help="Folder holding amplifier-module-* checkouts to make importable first.")
def main(plans_dir: str, register_dir: str | None) -> None:
    """Check every module named by the mount plans; exit 1 on any failure."""
    if register_dir:
        for folder in register(Path(register_dir)):
            console.print(f"registered {folder}")
    for key in PLACEHOLDER_KEYS:
        os.environ.setdefault(key, "placeholder-for-validation")
    try:
        used = modules_in_plans(Path(plans_dir))
    except PlanError as exc:
        raise click.ClickException(str(exc)) from None
    results = asyncio.run(_check_all(used))
    table = Table("module", "type", "found as", "used by", "validation")
    for r in results:
        mark = "[green]ok[/]" if r.ok else "[red]FAILED[/]"
        table.add_row(r.module, r.kind, escape(r.source), ", ".join(r.plans), f"{mark} {escape(r.detail)}")
    console.print(table)
    failed = [r.module for r in results if not r.ok]
    if failed:
        console.print(f"[red]{len(failed)} module(s) failed:[/] {', '.join(failed)}")
        raise SystemExit(1)
    console.print(f"[green]all {len(results)} modules resolve and pass amplifier-core's validators[/]")


async def _check_all(used: dict[str, list[str]]) -> list[ModuleCheck]:
    return [await check(module, plans) for module, plans in used.items()]


if __name__ == "__main__":
    main()
