"""Running an issue's checks: shell commands that must exit 0 in the issue's worktree (issue 8).

Each check runs with ``bash -c`` through :func:`foreman.sandbox.run_command`: its own process
tree, killed when the check ends; a timeout per check; output capped; an environment without
provider keys or ``*_TOKEN``/``*_SECRET``/``*_KEY`` variables. Every run is recorded as evidence
(a ``checked`` event: command, exit code, seconds, output tail, commit) on the issue.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from foreman.issues import EventKind, IssueStore, writes
from foreman.sandbox import run_command

CHECK_TIMEOUT = 300.0  # seconds one check may run before its process tree is killed
CHECK_OUTPUT_BYTES = 16_000  # output kept per check (head and tail)
EVIDENCE_TAIL = 2_000  # characters of output stored as evidence and shown to the model


@dataclass(frozen=True)
class CheckRun:
    """One run of one check.

    Attributes:
        command: the shell command.
        exit_code: its exit status (negative: killed by that signal; None: never started).
        seconds: wall time.
        output: the tail of its combined stdout/stderr (at most :data:`EVIDENCE_TAIL` characters).
        timed_out: True when it was killed at the timeout.
        commit: the commit it ran on (None outside git).
    """

    command: str
    exit_code: int | None
    seconds: float
    output: str
    timed_out: bool
    commit: str | None

    @property
    def passed(self) -> bool:
        """True when the command exited 0 in time."""
        return self.exit_code == 0 and not self.timed_out

    def describe(self) -> str:
        """One paragraph for a model or a person: the command, how it ended, the output tail."""
        how = f"timed out after {self.seconds:.0f} s" if self.timed_out else f"exited {self.exit_code}"
        return f"check `{self.command}` {how}:\n{self.output.strip() or '(no output)'}"


async def run_check(command: str, cwd: Path, *, commit: str | None, timeout: float = CHECK_TIMEOUT) -> CheckRun:
    """Run one check in ``cwd``; a command that cannot start is a failed check, never an exception."""
    try:
        outcome = await run_command(command, cwd, timeout=timeout, max_output_bytes=CHECK_OUTPUT_BYTES)
    except OSError as exc:
        return CheckRun(command, None, 0.0, f"could not start bash: {exc}", False, commit)
    return CheckRun(command, outcome.exit_code, round(outcome.seconds, 3), outcome.output[-EVIDENCE_TAIL:],
                    outcome.timed_out, commit)


async def run_checks(commands: list[str], cwd: Path, *, commit: str | None,
                     timeout: float = CHECK_TIMEOUT) -> list[CheckRun]:
    """Run every check in order (all of them, so the evidence is complete) and return the runs."""
    return [await run_check(command, cwd, commit=commit, timeout=timeout) for command in commands]


async def record_runs(store: IssueStore, issue_id: str, actor: str, runs: list[CheckRun], *,
                      where: str = "worktree") -> None:
    """Append one ``checked`` evidence event per run to the issue's log.

    ``where`` says what the checks ran on: ``worktree`` (the builder's close) or ``integration``
    (the merge queue).
    """
    events = [(issue_id, EventKind.CHECKED, actor, asdict(run) | {"passed": run.passed, "where": where})
              for run in runs]
    if events:
        await writes.write(store, store.record_events, events)
