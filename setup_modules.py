"""Check every module the mount plans name: who offers it, which one each plan loads, and whether it validates.

    python setup_modules.py                       # check mount_plans/*.json
    python setup_modules.py --plans DIR           # another folder of plans
    python setup_modules.py --register PATH       # also make modules in PATH importable (e.g. a checkout
                                                  # of microsoft/amplifier-module-* repositories), then check
    python setup_modules.py --unregister          # undo --register

A module id resolves, as amplifier-core's loader does it, to the first entry point of that name in group
``amplifier.modules`` (each installed distribution may offer one), else to an importable
``amplifier_module_<id>`` package. When several distributions offer the id, the table lists all of them;
a plan entry's ``"source": "<distribution>"`` chooses one (foreman.runtime.module_cache), otherwise the
first listed loads. ``--register`` writes a ``.pth`` file into this environment's site-packages listing
each ``amplifier-module-<id>`` folder under PATH, so their packages import in every later process (an entry
point still wins: ``pip install`` a checkout to make it a distribution a plan can choose);
``--unregister`` deletes that file. Exit status 0 when every module passes, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

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

from foreman.runtime.module_cache import distribution_of, offers, same_distribution
from foreman.runtime.plans import PLANS_DIR, PlanError, load_plan

VALIDATORS = {"tool": ToolValidator, "provider": ProviderValidator, "orchestrator": OrchestratorValidator,
              "context": ContextValidator, "hook": HookValidator}
PLACEHOLDER_KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")  # providers check a key exists at mount; never used
PTH_NAME = "amplifier_foreman_external_modules.pth"
console = Console(highlight=False)


@dataclass
class Offer:
    """One place a module id can load from: a distribution's entry point, or an importable package."""

    distribution: str  #: distribution name, or "" for a package importable without an entry point
    package: str  #: the Python package that holds ``mount``

    def label(self) -> str:
        """``amplifier-foreman (amplifier_foreman_modules.tool_bash)`` or ``importable amplifier_module_x``."""
        return f"{self.distribution} ({self.package})" if self.distribution else f"importable {self.package}"


@dataclass
class ModuleCheck:
    """The outcome for one module id: who offers it, what each plan loads, and the validation of each."""

    module: str
    plans: dict[str, str | None]  #: plan name -> its entry's ``source`` (None: the first offer loads)
    offers: list[Offer] = field(default_factory=list)
    kind: str = "?"
    ok: bool = False
    detail: str = ""

    def loaded_by(self, source: str | None) -> Offer | None:
        """The offer a plan with this ``source`` loads (None: no such offer)."""
        if source is None:
            return self.offers[0] if self.offers else None
        return next((o for o in self.offers if same_distribution(o.distribution, source)), None)


def modules_in_plans(plans_dir: Path) -> dict[str, dict[str, str | None]]:
    """Module id -> {plan name: the entry's ``source``}, from the raw plan files (skipped providers included).

    Raises:
        PlanError: a plan file does not validate.
    """
    used: dict[str, dict[str, str | None]] = {}
    for file in sorted(plans_dir.glob("*.json")):
        load_plan(file, env=dict(os.environ) | {k: "placeholder" for k in PLACEHOLDER_KEYS})
        raw = json.loads(file.read_text())
        entries = [raw["session"]["orchestrator"], raw["session"]["context"], *raw.get("providers", []),
                   *raw.get("tools", []), *raw.get("hooks", [])]
        for entry in entries:
            entry = {"module": entry} if isinstance(entry, str) else entry
            used.setdefault(entry["module"], {})[file.stem] = entry.get("source")
    return used


def find_offers(module: str) -> list[Offer]:
    """Every entry point for ``module`` in the kernel's order, else the importable ``amplifier_module_<id>``."""
    found = [Offer(distribution_of(ep), ep.module) for ep in offers(module)]
    package = "amplifier_module_" + module.replace("-", "_")
    if not found and importlib.util.find_spec(package) is not None:
        found.append(Offer("", package))
    return found


async def check(module: str, plans: dict[str, str | None]) -> ModuleCheck:
    """Find a module's offers and run the validator of its type on every offer a plan loads."""
    result = ModuleCheck(module, plans, find_offers(module))
    problems, passed = [], []
    for offer in _loaded(result, problems):
        try:
            imported = importlib.import_module(offer.package)
            result.kind = getattr(imported, "__amplifier_module_type__", "?")
            if result.kind not in VALIDATORS:
                problems.append(f"{offer.label()}: __amplifier_module_type__ is {result.kind!r}, not one of "
                                f"{', '.join(VALIDATORS)}")
                continue
            outcome = await VALIDATORS[result.kind]().validate(offer.package, entry_point=module)
            problems += [f"{offer.label()}: {e.message}" for e in outcome.errors]
            passed.append(f"{len(outcome.checks)} checks passed")
        except Exception as exc:  # every failure is reported in the table, never a traceback
            problems.append(f"{offer.label()}: {type(exc).__name__}: {exc}")
    result.ok = not problems and bool(passed)
    result.detail = "; ".join(problems) or "; ".join(passed)
    return result


def _loaded(result: ModuleCheck, problems: list[str]) -> list[Offer]:
    """The distinct offers the plans load; a ``source`` nobody offers (or no offer at all) goes to ``problems``."""
    loaded: list[Offer] = []
    for plan, source in result.plans.items():
        offer = result.loaded_by(source)
        if offer is None:
            problems.append(f"{plan}: source {source!r} does not offer it" if source else "no entry point or package")
        elif offer not in loaded:
            loaded.append(offer)
    return loaded


def pth_file() -> Path:
    """The ``.pth`` file ``--register`` writes in this environment's site-packages."""
    return Path(sysconfig.get_paths()["purelib"]) / PTH_NAME


def register(path: Path) -> list[Path]:
    """Write the .pth file listing every ``amplifier-module-*`` folder under ``path``; returns them."""
    folders = sorted(p.resolve() for p in path.glob("amplifier-module-*") if p.is_dir())
    if not folders:
        raise click.ClickException(f"{path}: no amplifier-module-* folders to register")
    pth_file().write_text("".join(f"{folder}\n" for folder in folders))
    importlib.invalidate_caches()
    for folder in folders:
        if str(folder) not in os.sys.path:
            os.sys.path.append(str(folder))
    return folders


def unregister() -> list[str]:
    """Delete the .pth file ``--register`` wrote; returns the folders it listed (empty if none)."""
    pth = pth_file()
    if not pth.exists():
        return []
    folders = pth.read_text().split()
    pth.unlink()
    return folders


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--plans", "plans_dir", type=click.Path(file_okay=False, exists=True), default=str(PLANS_DIR),
              show_default=True, help="Folder of mount plans to check.")
@click.option("--register", "register_dir", type=click.Path(file_okay=False, exists=True),
              help="Folder holding amplifier-module-* checkouts to make importable first.")
@click.option("--unregister", "undo_register", is_flag=True, help="Undo --register (delete its .pth file) first.")
def main(plans_dir: str, register_dir: str | None, undo_register: bool) -> None:
    """Check every module named by the mount plans; exit 1 on any failure."""
    if undo_register:
        folders = unregister()
        console.print(f"unregistered {len(folders)} folder(s): {pth_file()} deleted" if folders
                      else f"nothing registered ({pth_file()} does not exist)")
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
    console.print(_table(results))
    for r in results:
        if len(r.offers) > 1:
            console.print(f"{r.module}: {len(r.offers)} distributions offer it; a plan without \"source\" loads the "
                          f"first ({r.offers[0].distribution}). Choose one with \"source\": \"<distribution>\" "
                          "in the plan's entry.")
    failed = [r.module for r in results if not r.ok]
    if failed:
        console.print(f"[red]{len(failed)} module(s) failed:[/] {', '.join(failed)}")
        _end(1)
    console.print(f"[green]all {len(results)} modules resolve and pass amplifier-core's validators[/]")
    _end(0)


def _end(code: int) -> NoReturn:
    """Exit with ``code`` once the report is printed, without the interpreter's teardown.

    The validators loaded native extensions (amplifier-core's Rust runtime with its tokio threads,
    llama.cpp); once in CI the process died of SIGSEGV in that teardown after the whole report was
    printed, turning exit 1 into -11 (not reproduced in about 140 runs here, cause not isolated).
    Nothing is left to write by then, so it ends as a spawned worker process does.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _table(results: list[ModuleCheck]) -> Table:
    """One row per module: every offer, which one loads for which plans, the validation."""
    table = Table("module", "type", "offered by", "loads: for plans", "validation")
    for r in results:
        mark = "[green]ok[/]" if r.ok else "[red]FAILED[/]"
        offered = "\n".join(o.label() for o in r.offers) or "nobody"
        table.add_row(r.module, r.kind, escape(offered), escape(_loads(r)), f"{mark} {escape(r.detail)}")
    return table


def _loads(result: ModuleCheck) -> str:
    """``amplifier-foreman: coding-worker, foreman`` per loaded offer (``(source)`` when a plan chose it)."""
    by_target: dict[str, list[str]] = {}
    for plan, source in result.plans.items():
        offer = result.loaded_by(source)
        target = (offer.distribution or offer.package) if offer else "nothing"
        by_target.setdefault(target, []).append(f"{plan} (source)" if source else plan)
    return "\n".join(f"{target}: {', '.join(plans)}" for target, plans in by_target.items())


async def _check_all(used: dict[str, dict[str, str | None]]) -> list[ModuleCheck]:
    return [await check(module, plans) for module, plans in used.items()]


if __name__ == "__main__":
    main()
