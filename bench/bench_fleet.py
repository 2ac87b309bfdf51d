"""Benchmark the fleet: efficiency with a fixed-latency fake LLM, session start-up time, memory per session.

    python bench/bench_fleet.py                       # N = 1, 4, 16, 32 workers, 0.5 s per model call
    python bench/bench_fleet.py --workers 1 4 --issues 16 --latency 0.2

Efficiency = ideal wall time / measured wall time of the workers' phase, where the ideal is
ceil(issues / N) x calls per issue x latency: what N workers would take if the runtime, database,
sessions and tools cost nothing. Every worker call goes to the scripted rehearsal worker (note,
write a file, close: 3 calls per issue; the runtime ends the turn once the issue is closed), delayed by ``--latency`` seconds; the foreman's
planning is scripted without delay and not timed. Sessions, mount plans, tools, leases and the
database are all real; ``--git`` adds a git worktree per issue and a commit per close.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from foreman.fleet import Fleet, FleetConfig
from foreman.issues import open_store
from foreman.issues.identity import WorkerIdentity
from foreman.rehearsal import foreman_turn, worker_turn
from foreman.runtime.plans import load_plan
from foreman.runtime.sessions import open_session
from foreman.runtime.tasks import TaskSpec
from foreman.runtime.workspace import create_repository
from foreman.testing import ScriptedProvider

SEED_WORKSPACE = Path(__file__).resolve().parents[1] / "examples" / "seed" / "workspace"  # the seed's sample app
CALLS_PER_ISSUE = 3  # rehearsal worker: issue_note, write_file, issue_close (the runtime ends the turn there)
REVIEW_INTERVAL = 0.1  # seconds between foreman reviews (how soon the end of the run is seen)


def _factory(latency: float):
    async def slow_worker(request):
        await asyncio.sleep(latency)
        return worker_turn(request)

    def make(plan, worker):
        policy = foreman_turn if plan.fleet.role == "foreman" else slow_worker
        return ScriptedProvider([policy] * 200, name="bench")

    return make


def _plain_workspace(root: Path) -> Path:
    (root / "ws").mkdir()
    return root / "ws"


async def _efficiency(workers: int, issues: int, latency: float, root: Path, git: bool,
                      watch: Callable[[Fleet], AbstractContextManager] | None = None) -> tuple[float, float, float]:
    """(ideal s, measured s, efficiency) of one run; ``watch(fleet)`` is entered around it (a dashboard, issue 10)."""
    tasks = [TaskSpec(title=f"bench issue {n}", worker_type="coding") for n in range(issues)]
    workspace = create_repository(SEED_WORKSPACE, root / "ws") if git else _plain_workspace(root)
    config = FleetConfig(workspace=workspace, tasks=tasks, workers={"coding": workers, "research": 0},
                         provider_factory=_factory(latency), review_interval=REVIEW_INTERVAL,
                         validation=False)  # 3 worker calls per issue; since issue 8 a validator would review with worker_turn
    started: dict[str, float] = {}
    fleet = Fleet(config)
    with watch(fleet) if watch else contextlib.nullcontext():
        report = await fleet.run(on_started=lambda f: started.setdefault("t", time.monotonic()))
    measured = time.monotonic() - started["t"]
    assert all(i.status == "closed" for i in report.issues), "every issue must close"
    ideal = math.ceil(issues / workers) * CALLS_PER_ISSUE * latency
    return ideal, measured, ideal / measured


async def _startup(samples: int, root: Path) -> tuple[float, float, float]:
    """Median/p90 seconds to open a coding-worker session (plan loaded once), and RSS MiB per open session."""
    ws = create_repository(SEED_WORKSPACE, root / "ws")
    store = open_store(ws / ".foreman" / "issues.db", create=True)
    plan = load_plan("coding-worker")
    times, sessions = [], []
    rss_before = _rss_mib()
    for n in range(samples):
        start = time.perf_counter()
        session = await open_session(plan, workspace=ws, store=store, identity=WorkerIdentity(name=f"w{n}"),
                                     provider=ScriptedProvider(["ok"]))
        times.append(time.perf_counter() - start)
        sessions.append(session)
    per_session = (_rss_mib() - rss_before) / samples
    for session in sessions:
        await session.cleanup()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9)], per_session


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument("--issues", type=int, default=64, help="issues per run")
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per fake model call")
    parser.add_argument("--startup-samples", type=int, default=50)
    parser.add_argument("--git", action="store_true",
                        help="work in a git repository (a worktree per issue, a commit per close) instead of a plain folder")
    args = parser.parse_args()
    kind = "git repository (worktree per issue)" if args.git else "plain folder"
    print(f"fleet efficiency: {args.issues} issues, {args.latency} s per model call, {CALLS_PER_ISSUE} calls per issue, "
          f"workspace: {kind}")
    print(f"{'workers':>7} {'ideal s':>8} {'measured s':>10} {'efficiency':>10}")
    for n in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            ideal, measured, eff = asyncio.run(_efficiency(n, args.issues, args.latency, Path(tmp), args.git))
        print(f"{n:>7} {ideal:>8.1f} {measured:>10.2f} {eff:>10.3f}")
    with tempfile.TemporaryDirectory() as tmp:
        p50, p90, mib = asyncio.run(_startup(args.startup_samples, Path(tmp)))
    print(f"\nsession start-up (coding-worker plan, {args.startup_samples} sessions): "
          f"p50 {p50 * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms; memory {mib:.2f} MiB RSS per open session")


if __name__ == "__main__":
    main()
