"""Benchmark the fleet: efficiency with a fixed-latency fake LLM, session start-up time, memory per session.

    python bench/bench_fleet.py                       # N = 1, 4, 16, 32, 128 workers, 0.5 s per model call, 3 runs each
    python bench/bench_fleet.py --workers 32 128 --git
    python bench/bench_fleet.py --workers 4 --issues 16 --latency 0.2 --repeat 1
    python bench/bench_fleet.py --workers 32 128 --processes 1 2   # the workers spread over 1, then 2 processes
    python bench/bench_fleet.py --workers 32 128 --jitter 0.5      # each call 0.25-0.75 s instead of 0.5 s
    python bench/bench_fleet.py --workers 32 128 --timeline        # also: where the time outside model calls went

Efficiency = ideal wall time / measured wall time of the workers' phase, where the ideal is
ceil(issues / N) x calls per issue x latency: what N workers would take if the runtime, database,
sessions and tools cost nothing. Every worker call goes to the scripted rehearsal worker (note,
write a file, close: 3 calls per issue; the runtime ends the turn once the issue is closed), delayed
by ``--latency`` seconds; the foreman's planning is scripted without delay and not timed. Sessions,
mount plans, tools, leases and the database are all real; ``--git`` adds a git worktree per issue
and a commit per close.

Issues per run: ``--issues``, default max(64, 2N), so every worker works at least two issues (at
N = 128, 64 issues would leave half the workers idle and measure only one round of start-up).

Each configuration runs ``--repeat`` times (default 3); the table shows the median and the spread
(min-max), so a busy machine shows as spread. Two numbers of the same runs steady it further:
``bare`` is the efficiency of a baseline measured in the same run, N asyncio tasks that only sleep
the same 3 x latency per issue (what this event loop and machine can do at all), and ``vs bare`` the
fleet's efficiency as a fraction of it; ``cpu ms/step`` is the process's CPU time (every thread)
during the workers' phase per model call, which other load on the machine barely moves.

``--jitter J`` draws each call's delay (fleet and bare alike) uniformly from latency x (1 +- J), the
way real model calls vary. With a fixed delay, workers that start together stay in step, so every
issue boundary (claim, session start, close) of all N workers is served at the same moment, one
after another, and the last worker's wait adds to the run; jittered delays spread them out. The
efficiency column still divides by the fixed ideal; ``vs bare`` compares with the jittered baseline.

``--processes P ...`` runs each worker count once more per P: the fleet's own ``processes`` mode
with the workers spread over P spawned processes. Their phase is timed from when every process is
up (the fleet lets them go together); the spawn and import time until then is printed in its own
column (``up s``), and ``cpu ms/step`` adds the processes' CPU after that moment.

``--timeline`` adds a line under each in-process configuration, from its last run: the milliseconds
a worker spent outside its model calls, mean and max over the workers, at the ``start`` (run start
to its first call), between the calls of one issue (``step``), at an issue ``boundary`` (the answer
of an issue's last call to the next issue's first call: close, session end, claim, session open),
and from the last answer of the run to its end (``end``). Every third call ends an issue (the
rehearsal worker's note, write, close).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import math
import random
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import NamedTuple

from foreman.fleet import Fleet, FleetConfig
from foreman.issues import open_store
from foreman.issues.identity import WorkerIdentity
from foreman.rehearsal import foreman_turn, worker_turn
from foreman.runtime import module_cache
from foreman.runtime.plans import load_plan
from foreman.runtime.sessions import open_session
from foreman.runtime.tasks import TaskSpec
from foreman.runtime.workspace import create_repository
from foreman.testing import ScriptedProvider

SEED_WORKSPACE = Path(__file__).resolve().parents[1] / "examples" / "seed" / "workspace"  # the seed's sample app
CALLS_PER_ISSUE = 3  # rehearsal worker: issue_note, write_file, issue_close (the runtime ends the turn there)
REVIEW_INTERVAL = 0.1  # seconds between foreman reviews (how soon the end of the run is seen)


def _delay(latency: float, jitter: float) -> float:
    """Seconds one fake model call takes: ``latency``, or uniform in latency x (1 +- jitter) (``--jitter``)."""
    return latency * random.uniform(1 - jitter, 1 + jitter) if jitter else latency


class Timeline:
    """When each worker's model calls were made and answered (``time.monotonic()`` seconds), for
    ``--timeline``; in-process runs only (a worker process would record into its own copy)."""

    def __init__(self) -> None:
        self.calls: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)  # worker -> [(asked, answered)]

    def phases(self, started: float, ended: float) -> dict[str, list[float]]:
        """Seconds outside model calls, by phase (see the module's docstring); ``started``/``ended``:
        the workers' phase, monotonic seconds."""
        phases: dict[str, list[float]] = {"start": [], "step": [], "boundary": []}
        for calls in self.calls.values():
            phases["start"].append(calls[0][0] - started)
            for n, ((_, answered), (asked, _)) in enumerate(zip(calls, calls[1:]), start=1):
                phases["boundary" if n % CALLS_PER_ISSUE == 0 else "step"].append(asked - answered)
        phases["end"] = [ended - max(calls[-1][1] for calls in self.calls.values())]
        return phases

    def line(self, started: float, ended: float) -> str:
        """The phases as one line of ``mean/max`` milliseconds."""
        parts = [f"{name} {statistics.mean(v) * 1000:.1f}/{max(v) * 1000:.1f}"
                 for name, v in self.phases(started, ended).items() if v]
        return "  outside model calls, ms mean/max: " + ", ".join(parts)


async def _slow_worker(latency: float, jitter: float, timeline: Timeline | None, worker: str, request):
    asked = time.monotonic()
    await asyncio.sleep(_delay(latency, jitter))
    if timeline is not None:
        timeline.calls[worker].append((asked, time.monotonic()))
    return worker_turn(request)


def _make_provider(latency: float, jitter: float, timeline: Timeline | None, plan, worker) -> ScriptedProvider:
    """The scripted provider of a session: the foreman at once, a worker after :func:`_delay` seconds."""
    if plan.fleet.role == "foreman":
        return ScriptedProvider([foreman_turn] * 200, name="bench")
    return ScriptedProvider([functools.partial(_slow_worker, latency, jitter, timeline, worker)] * 200, name="bench")


def _factory(latency: float, jitter: float, timeline: Timeline | None = None):
    """A provider factory that can be sent to spawned worker processes (``timeline`` None then)."""
    return functools.partial(_make_provider, latency, jitter, timeline)


class FleetRun(NamedTuple):
    """One measured run: seconds ideal and measured, their ratio, CPU seconds of the process (and its
    worker processes) meanwhile, seconds until the worker processes were up (0 without), and the
    :meth:`Timeline.line` of the run (empty without one)."""

    ideal: float
    measured: float
    efficiency: float
    cpu: float
    up: float
    timeline: str = ""


def _plain_workspace(root: Path) -> Path:
    (root / "ws").mkdir()
    return root / "ws"


async def _efficiency(workers: int, issues: int, latency: float, root: Path, git: bool,
                      watch: Callable[[Fleet], AbstractContextManager] | None = None,
                      processes: int | None = None, jitter: float = 0.0, timeline: Timeline | None = None) -> FleetRun:
    """One run of ``workers`` workers on ``issues`` issues, ``latency`` seconds per model call, in this
    process or spread over ``processes`` worker processes (``jitter``: see :func:`_delay`); ``watch(fleet)``
    is entered around it (a dashboard, issue 10); ``timeline`` records the model calls (in-process)."""
    tasks = [TaskSpec(title=f"bench issue {n}", worker_type="coding") for n in range(issues)]
    workspace = create_repository(SEED_WORKSPACE, root / "ws") if git else _plain_workspace(root)
    config = FleetConfig(workspace=workspace, tasks=tasks, workers={"coding": workers, "research": 0},
                         provider_factory=_factory(latency, jitter, timeline), review_interval=REVIEW_INTERVAL,
                         validation=False,  # 3 worker calls per issue; since issue 8 a validator would review with worker_turn
                         processes=processes is not None, process_count=processes)
    started: dict[str, float] = {}
    fleet = Fleet(config)

    def on_started(_: Fleet) -> None:
        started.setdefault("t", time.monotonic())
        started.setdefault("cpu", time.process_time())

    children = _children_cpu()
    with watch(fleet) if watch else contextlib.nullcontext():
        report = await fleet.run(on_started=on_started)
    measured = time.monotonic() - started["t"]
    cpu = time.process_time() - started["cpu"]
    assert all(i.status == "closed" for i in report.issues), "every issue must close"
    ideal = _ideal(workers, issues, latency)
    up = fleet.processes_up
    if up:  # the worker processes' CPU after they were up (they have all ended by now)
        cpu += _children_cpu() - children - sum(up.cpu)
    line = timeline.line(started["t"], started["t"] + measured) if timeline else ""
    return FleetRun(ideal, measured, ideal / measured, cpu, up.seconds if up else 0.0, line)


def _children_cpu() -> float:
    """CPU seconds of this process's ended (and waited-for) child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _bare(workers: int, issues: int, latency: float, jitter: float = 0.0) -> float:
    """Efficiency of the baseline: ``workers`` asyncio tasks taking ``issues`` items from a queue, each
    item CALLS_PER_ISSUE sleeps of :func:`_delay` seconds (no runtime, no database, no sessions)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(issues):
        queue.put_nowait(n)

    async def work() -> None:
        while not queue.empty():
            queue.get_nowait()
            for _ in range(CALLS_PER_ISSUE):
                await asyncio.sleep(_delay(latency, jitter))

    start = time.monotonic()
    await asyncio.gather(*(work() for _ in range(workers)))
    return _ideal(workers, issues, latency) / (time.monotonic() - start)


def _ideal(workers: int, issues: int, latency: float) -> float:
    """Seconds ``workers`` workers need for ``issues`` issues if nothing but the model took time."""
    return math.ceil(issues / workers) * CALLS_PER_ISSUE * latency


async def _startup(samples: int, root: Path) -> tuple[float, float, float]:
    """Median/p90 seconds to open a coding-worker session (plan loaded once, module resolution cached
    for the process as a fleet does), and RSS MiB per open session."""
    module_cache.install()
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


def _spread(values: list[float]) -> str:
    """``median (min-max)`` of ``values``, three decimals."""
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def _configuration(workers: int, issues: int, processes: int | None, args: argparse.Namespace) -> None:
    """Run one worker count (in this process, or over ``processes`` worker processes) ``args.repeat``
    times, each with its bare baseline, and print its line."""
    runs: list[FleetRun] = []
    bare: list[float] = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            timeline = Timeline() if args.timeline and processes is None else None
            run = _efficiency(workers, issues, args.latency, Path(tmp), args.git, processes=processes, jitter=args.jitter,
                              timeline=timeline)
            runs.append(asyncio.run(run))
        bare.append(asyncio.run(_bare(workers, issues, args.latency, args.jitter)))
    efficiency = [r.efficiency for r in runs]
    ratio = [r.efficiency / b for r, b in zip(runs, bare, strict=True)]
    cpu_ms = statistics.median(r.cpu / (issues * CALLS_PER_ISSUE) * 1000 for r in runs)
    measured = statistics.median(r.measured for r in runs)
    up = statistics.median(r.up for r in runs)
    print(f"{workers:>7} {processes or '-':>5} {issues:>6} {runs[0].ideal:>7.1f} {measured:>10.2f} {up:>5.2f} "
          f"{_spread(efficiency):>21} {statistics.median(bare):>6.3f} {_spread(ratio):>21} {cpu_ms:>11.2f}", flush=True)
    if runs[-1].timeline:
        print(runs[-1].timeline, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16, 32, 128])
    parser.add_argument("--issues", type=int, default=None, help="issues per run (default: max(64, 2 x workers))")
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per fake model call")
    parser.add_argument("--jitter", type=float, default=0.0, metavar="J",
                        help="draw each call's seconds uniformly from latency x (1 +- J), 0 <= J < 1 (default 0: fixed)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per worker count (median and spread shown)")
    parser.add_argument("--startup-samples", type=int, default=50)
    parser.add_argument("--processes", type=int, nargs="+", default=[], metavar="P",
                        help="also run each worker count spread over P worker processes (the fleet's processes mode)")
    parser.add_argument("--no-in-process", action="store_true", help="with --processes: skip the in-process runs")
    parser.add_argument("--timeline", action="store_true",
                        help="under each in-process configuration, where its last run's time outside model calls went")
    parser.add_argument("--git", action="store_true",
                        help="work in a git repository (a worktree per issue, a commit per close) instead of a plain folder")
    args = parser.parse_args()
    kind = "git repository (worktree per issue)" if args.git else "plain folder"
    if not 0 <= args.jitter < 1:
        parser.error(f"--jitter must be at least 0 and below 1, not {args.jitter:g}")
    delay = f"{args.latency} s (+-{args.jitter:.0%})" if args.jitter else f"{args.latency} s"
    print(f"fleet efficiency: {delay} per model call, {CALLS_PER_ISSUE} calls per issue, workspace: {kind}, "
          f"median (min-max) of {args.repeat} runs")
    print(f"{'workers':>7} {'procs':>5} {'issues':>6} {'ideal s':>7} {'measured s':>10} {'up s':>5} "
          f"{'efficiency':>21} {'bare':>6} {'vs bare':>21} {'cpu ms/step':>11}")
    modes = ([] if args.no_in_process and args.processes else [None]) + args.processes
    for n in args.workers:
        for processes in modes:
            _configuration(n, args.issues or max(64, 2 * n), processes, args)
    with tempfile.TemporaryDirectory() as tmp:
        p50, p90, mib = asyncio.run(_startup(args.startup_samples, Path(tmp)))
    print(f"\nsession start-up (coding-worker plan, {args.startup_samples} sessions): "
          f"p50 {p50 * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms; memory {mib:.2f} MiB RSS per open session")


if __name__ == "__main__":
    main()
