"""Quality benchmark: verified vs unverified closes on small buggy programs (issue 8).

    python bench/bench_quality.py                                  # embedded model, both modes, every program
    python bench/bench_quality.py --provider rehearsal --programs 2  # smoke run of the harness (fake LLMs)

The workspace is ``bench/quality/programs``: small Python programs, each with one one-line bug of a
different kind, and a unittest file per program; ``bench/quality/tasks.json`` has one issue per
program whose check is its test. For each mode the programs are copied to a fresh git repository
(one commit) and the fleet works every issue:

- ``verified``: the runtime runs an issue's checks at close and a validator reviews the diff;
- ``unverified``: checks and validator off, so a close is the model's word (as before issue 8).

After each run the benchmark checks out ``foreman/integration`` (what the merge queue integrated)
in a worktree of its own, or, when the run made no integration branch, merges every closed issue's
``foreman/<id>`` branch itself in closing order. It puts the original test files back (a model that
edited a test does not pass by it) and runs every program's test there. A false close is an issue
that closed but whose test fails on that result. It prints markdown tables: one row per mode, then
one row per program.

Exit codes: 0 every mode ran (whatever the numbers), 1 a run stopped on a fault, 2 bad arguments or
a run that could not start (one error line), 130 stopped by Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from foreman.cli.fleet import EXIT_FAULT, EXIT_STOPPED, PROVIDERS, START_ERRORS, install_interrupts
from foreman.fleet import Fleet, FleetConfig, FleetReport
from foreman.issues import Issue, Status
from foreman.merge_queue import INTEGRATION_BRANCH, MERGE, MERGE_OF
from foreman.rehearsal import rehearsal_provider
from foreman.runtime.budgets import model_usage
from foreman.runtime.plans import PlanError
from foreman.runtime.tasks import TASK_KEY, TaskSpec, load_tasks
from foreman.runtime.workspace import BRANCH_PREFIX, WorkspaceError, git
from workers.checks import run_checks

QUALITY = Path(__file__).resolve().parent / "quality"
PROGRAMS = QUALITY / "programs"
TASKS = QUALITY / "tasks.json"
MODES = ("verified", "unverified")
REHEARSAL = "rehearsal"
TEST_TIMEOUT = 120.0  # seconds one program's test may run on the integrated result
MERGED_HERE = "merged by the benchmark"  # where the result came from when the run made no integration branch


@dataclass
class ModeResult:
    """What one mode's run did, per program (task key) and in total.

    Attributes:
        mode: ``verified`` or ``unverified``.
        status: per program, the final status of its issue (``missing`` if it was never created).
        merged: per program whose branch the merge queue handled, how (merged, conflict, failed, skipped).
        passing: programs whose test passes on the integrated result.
        waiting: programs whose issue waits for a human or is in dead letter.
        merge_issues: issues the merge queue created for conflicts or failing merges.
        calls / tokens_in / tokens_out: model calls and tokens of every session (workers, validators, foreman).
        seconds: the run's wall time.
        integration: where the tests ran (``foreman/integration`` or :data:`MERGED_HERE`).
        report: the fleet's report (fault, interruption).
        notes: one line per closed branch the benchmark could not merge itself.
    """

    mode: str
    status: dict[str, str]
    merged: dict[str, str]
    passing: set[str]
    waiting: set[str]
    merge_issues: int
    calls: int
    tokens_in: int
    tokens_out: int
    seconds: float
    integration: str
    report: FleetReport
    notes: list[str] = field(default_factory=list)

    @property
    def closed(self) -> set[str]:
        """Programs whose issue closed."""
        return {key for key, status in self.status.items() if status == Status.CLOSED}

    @property
    def false_closes(self) -> set[str]:
        """Programs whose issue closed but whose test fails on the integrated result."""
        return self.closed - self.passing


def make_repository(path: Path, programs: list[str]) -> Path:
    """Copy the programs and their tests to ``path`` (must not exist) as a git repository with one commit."""
    keep = {"__init__.py", *(f"{name}.py" for name in programs), *(f"test_{name}.py" for name in programs)}

    def left_out(_folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n == "__pycache__" or (n.endswith(".py") and n not in keep)]

    shutil.copytree(PROGRAMS, path, ignore=left_out)
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Quality benchmark workspace")
    return path


def fleet_config(mode: str, repo: Path, tasks: list[TaskSpec], args: argparse.Namespace) -> FleetConfig:
    """The fleet for one mode: ``--workers`` coding workers, one validator when verified, no research worker."""
    verified = mode == "verified"
    rehearsal = args.provider == REHEARSAL
    return FleetConfig(workspace=repo, tasks=tasks,
                       workers={"coding": args.workers, "validator": int(verified), "research": 0},
                       provider=None if rehearsal else PROVIDERS[args.provider],
                       provider_factory=rehearsal_provider if rehearsal else None,
                       validation=verified, run_checks=verified)


async def run_mode(mode: str, tasks: list[TaskSpec], args: argparse.Namespace, root: Path) -> ModeResult:
    """Run the fleet on a fresh repository under ``root/mode`` and measure the integrated result."""
    repo = make_repository(root / mode, [t.key for t in tasks])
    fleet = Fleet(fleet_config(mode, repo, tasks, args))
    install_interrupts(fleet.stopping)
    report = await fleet.run()
    task_issues = {i.metadata[TASK_KEY]: i for i in report.issues if i.metadata.get(TASK_KEY)}
    result_dir = root / f"{mode}-result"
    worktree, integration, notes = await asyncio.to_thread(integrated_result, repo, result_dir, task_issues)
    passing = await passing_programs(worktree, tasks)
    used = model_usage(fleet.store)  # a fresh database per mode: every session of this run
    waiting_ids = {i.id for i in report.state.waiting_for_human}
    return ModeResult(
        mode=mode,
        status={t.key: task_issues[t.key].status.value if t.key in task_issues else "missing" for t in tasks},
        merged={key: i.metadata[MERGE].get("state", "?")
                for key, i in task_issues.items() if MERGE in i.metadata},
        passing=passing,
        waiting={key for key, i in task_issues.items()
                 if i.id in waiting_ids or i.status == Status.DEAD_LETTER},
        merge_issues=sum(1 for i in report.issues if i.metadata.get(MERGE_OF)),
        calls=used.calls, tokens_in=used.input_tokens, tokens_out=used.output_tokens,
        seconds=report.seconds, integration=integration, report=report, notes=notes)


def integrated_result(repo: Path, worktree: Path, task_issues: dict[str, Issue]) -> tuple[Path, str, list[str]]:
    """A detached worktree of ``foreman/integration``, else of the base with every closed branch merged here.

    Returns (worktree, where the result came from, one note per branch that could not be merged).
    """
    if _has_branch(repo, INTEGRATION_BRANCH):
        git(repo, "worktree", "add", "-q", "--detach", str(worktree), INTEGRATION_BRANCH)
        return worktree, INTEGRATION_BRANCH, []
    git(repo, "worktree", "add", "-q", "--detach", str(worktree), "HEAD")  # the base: the fleet never moves it
    closed = [i for i in task_issues.values() if i.status == Status.CLOSED]
    closed.sort(key=lambda i: (i.closed_at, i.id))
    notes = [note for note in (_merge(worktree, issue) for issue in closed) if note]
    return worktree, MERGED_HERE, notes


def _merge(worktree: Path, issue: Issue) -> str | None:
    """Merge the issue's branch into the worktree's HEAD; a missing branch or a conflict is a note, not an error.

    Returns the note, or None when the branch merged.
    """
    branch = BRANCH_PREFIX + issue.id
    if not _has_branch(worktree, branch):
        return f"{issue.id}: closed without a branch"
    try:
        git(worktree, "merge", "--no-ff", "-q", "-m", f"Merge {branch}", branch)
        return None
    except WorkspaceError as exc:
        git(worktree, "merge", "--abort")
        return f"{issue.id}: {branch} conflicts, left out ({exc})"


def _has_branch(repo: Path, branch: str) -> bool:
    try:
        git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
        return True
    except WorkspaceError:
        return False


async def passing_programs(worktree: Path, tasks: list[TaskSpec]) -> set[str]:
    """Programs whose checks all pass in ``worktree``, run against the original test files."""
    shutil.copytree(PROGRAMS / "tests", worktree / "tests", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    passing = set()
    for task in tasks:
        runs = await run_checks(task.checks, worktree, commit=None, timeout=TEST_TIMEOUT)
        if all(run.passed for run in runs):
            passing.add(task.key)
    return passing


def summary_table(results: list[ModeResult], programs: int) -> list[str]:
    """One markdown row per mode."""
    rows = ["| mode | issues | closed | tests pass on integration | false closes | waiting for a human / dead letter "
            "| merge issues | model calls | tokens in / out | wall s per issue | tests ran on |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        mode = f"{r.mode} (stopped early)" if r.report.interrupted or r.report.fault else r.mode
        rows.append(f"| {mode} | {programs} | {len(r.closed)} | {len(r.passing)} | {len(r.false_closes)} "
                    f"| {len(r.waiting)} | {r.merge_issues} | {r.calls} | {r.tokens_in} / {r.tokens_out} "
                    f"| {r.seconds / programs:.1f} | {r.integration} |")
    return rows


def program_table(results: list[ModeResult], tasks: list[TaskSpec]) -> list[str]:
    """One markdown row per program: each mode's issue status, merge state and whether its test passes."""
    rows = ["| program | " + " | ".join(r.mode for r in results) + " |", "|---" * (len(results) + 1) + "|"]
    for task in tasks:
        rows.append(f"| {task.key} | " + " | ".join(_program_cell(r, task.key) for r in results) + " |")
    return rows


def _program_cell(result: ModeResult, key: str) -> str:
    """``closed, merged, test passes`` / ``closed, test fails (false close)`` / ``dead_letter, test fails``."""
    parts = [result.status[key], *([result.merged[key]] if key in result.merged else []),
             "test passes" if key in result.passing else "test fails"]
    return ", ".join(parts) + (" (false close)" if key in result.false_closes else "")


async def run_modes(args: argparse.Namespace, tasks: list[TaskSpec], root: Path) -> tuple[list[ModeResult], int]:
    """Run each mode in turn; stop early on a fault or Ctrl-C. Returns the results and the exit code."""
    results = []
    for mode in args.modes:
        print(f"running mode {mode}: {len(tasks)} issues, {args.workers} coding workers, provider {args.provider}",
              file=sys.stderr)
        result = await run_mode(mode, tasks, args, root)
        results.append(result)
        if result.report.fault:
            return results, EXIT_FAULT
        if result.report.interrupted:
            return results, EXIT_STOPPED
    return results, 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; a bad value is one error line and exit 2 (argparse's rule)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, metavar="N",
                        help=f"work the first N tasks of {TASKS.name} (default: all)")
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="coding workers (default: 2)")
    providers = [*(p for p in PROVIDERS if p != "auto"), REHEARSAL]
    parser.add_argument("--provider", choices=providers, default="llamacpp",
                        help="llamacpp: the embedded model (default); rehearsal: scripted fake LLMs, a smoke run "
                             "of the harness")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated, in run order (default: %(default)s)")
    parser.add_argument("--workdir", type=Path, metavar="DIR",
                        help="keep each mode's repository and result worktree here (must not exist; default: a "
                             "temporary folder removed at the end)")
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.modes or set(args.modes) - set(MODES) or len(set(args.modes)) != len(args.modes):
        parser.error(f"--modes: give each of {', '.join(MODES)} at most once, comma-separated")
    if args.programs is not None and args.programs < 1:
        parser.error("--programs: at least 1")
    if args.workers < 1:
        parser.error("--workers: at least 1")
    if args.workdir and args.workdir.exists():
        parser.error(f"--workdir: {args.workdir} exists; give a new folder")
    return args


def print_results(results: list[ModeResult], tasks: list[TaskSpec], args: argparse.Namespace) -> None:
    """The tables on stdout; merge notes, runtime changes and faults on stderr."""
    provider = results[0].report.provider if results else args.provider
    print(f"quality benchmark: {len(tasks)} programs, {args.workers} coding workers, provider {provider}\n")
    print("\n".join(summary_table(results, len(tasks))) + "\n")
    print("\n".join(program_table(results, tasks)))
    for r in results:
        for note in r.notes + r.report.changes + ([r.report.fault] if r.report.fault else []):
            print(f"{r.mode}: {note}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables; returns the exit code."""
    args = parse_args(argv)
    root = None
    try:
        tasks = load_tasks(TASKS)[:args.programs]
        if args.programs and args.programs > len(tasks):
            raise PlanError(f"--programs {args.programs}: {TASKS} has only {len(tasks)} tasks")
        root = args.workdir or Path(tempfile.mkdtemp(prefix="bench-quality-"))
        root.mkdir(parents=True, exist_ok=True)
        results, code = asyncio.run(run_modes(args, tasks, root))
    except START_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if root and not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    print_results(results, tasks, args)
    return code


if __name__ == "__main__":
    sys.exit(main())
