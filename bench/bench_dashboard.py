"""Benchmark the web dashboard (issue 10): page loads on a big database, change-to-browser latency,
and the fleet's efficiency with the dashboard open vs closed in the same run.

    python bench/bench_dashboard.py                    # 10,000 issues, 100,000 events; fleet N = 16
    python bench/bench_dashboard.py --issues 1000 --events 10000 --fleet-workers 4 --fleet-rounds 1

1. Seeds a database through the store: ``--issues`` issues (a fifth closed, labels and worker
   types mixed) and ``--events`` session events (model replies with usage, tool calls).
2. Serves the dashboard from a child process (as ``foreman run`` does) and times
   ``--samples`` HTTP GETs of each page (server time plus loopback), then ``page.goto`` of the
   overview and the issues page in headless Chromium (until the ``load`` event).
3. Renames an issue through another store connection ``--samples`` times and times how long
   until Chromium, showing the issues page, displays the new title (no reload: SSE + htmx).
4. Runs ``bench/bench_fleet.py``'s efficiency run (fake LLM, ``--latency`` s per call) with
   no dashboard and with the dashboard served and its overview open in Chromium, alternately,
   ``--fleet-rounds`` times each.

Targets: p50 <= 300 ms for the overview and the issues page; change shown <= 1 s; efficiency
with the dashboard open within 5% of without.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from foreman.dashboard import open_dashboard, serving_in_process
from foreman.fleet import Fleet
from foreman.issues import EventKind, IssueUpdate, NewIssue, open_store

sys.path.insert(0, str(Path(__file__).parent))
from bench_fleet import _efficiency  # noqa: E402  (a sibling script, not a package)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
EVENT_BATCH = 1_000  # events per seeding transaction


def seed(db: Path, issues: int, events: int) -> list[str]:
    """Create ``issues`` issues and ``events`` session events at ``db``; returns the issue ids."""
    store = open_store(db, create=True)
    ids = []
    for n in range(issues):
        new = NewIssue(title=f"bench issue {n}: make part {n % 97} faster", description=f"Part {n} of the bench.",
                       labels=[["ui"], ["api"], []][n % 3], metadata={"worker_type": ["coding", "research"][n % 2]})
        ids.append(store.create(new, actor="bench").id)
    for issue_id in ids[::5]:
        store.close(issue_id, reason="seeded", actor="bench")
    rng = random.Random(10)
    for start in range(0, events, EVENT_BATCH):
        store.record_events([_session_event(rng.choice(ids), n) for n in range(start, min(events, start + EVENT_BATCH))])
    store.disconnect()
    return ids


def _session_event(issue_id: str, n: int) -> tuple[str, EventKind, str, dict]:
    if n % 2:
        return (issue_id, EventKind.SESSION, "coding-1", {"event": "tool:post", "tool": "write_file",
                                                          "arguments": {"file_path": f"f{n}.py"}, "result": "ok"})
    usage = {"input_tokens": 900, "output_tokens": 60, "cost_usd": 0.0}
    return (issue_id, EventKind.SESSION, "coding-1", {"event": "provider:response", "model": "bench", "usage": usage,
                                                      "text": "I will write the file.", "tool_calls": []})


def percentiles(samples: list[float]) -> str:
    """``p50 X ms, p95 Y ms, max Z ms``."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered) * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms, max {ordered[-1] * 1000:6.1f} ms"


def http_loads(base: str, paths: dict[str, str], samples: int) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        for name, path in paths.items():
            client.get(path)  # warm-up
            times = []
            for _ in range(samples):
                start = time.perf_counter()
                client.get(path).raise_for_status()
                times.append(time.perf_counter() - start)
            print(f"  HTTP GET {name:<28} {percentiles(times)}")


def browser_loads_and_latency(url: str, base: str, db: Path, issue_id: str, samples: int) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)  # the token cookie
        for name, path in {"overview": "", "issues": "issues"}.items():
            times = []
            for _ in range(samples):
                start = time.perf_counter()
                page.goto(base + path, wait_until="load")
                times.append(time.perf_counter() - start)
            print(f"  Chromium load {name:<25} {percentiles(times)}")
        page.goto(f"{base}issues?q={issue_id}")
        page.wait_for_timeout(500)  # the event stream is open
        store = open_store(db)
        times = []
        for n in range(samples):
            title = f"renamed for the latency test {n}"
            start = time.perf_counter()
            store.update(issue_id, IssueUpdate(title=title), actor="bench")
            page.wait_for_function(f"document.body.innerText.includes({title!r})", timeout=10_000)
            times.append(time.perf_counter() - start)
        store.disconnect()
        print(f"  change -> Chromium shows it          {percentiles(times)}")
        browser.close()


@contextlib.contextmanager
def dashboard_open(fleet: Fleet) -> Iterator[None]:
    """The dashboard served beside ``fleet`` (its own process, as ``foreman run`` does) with its overview open in Chromium."""
    dashboard = open_dashboard(fleet.store.path, fleet.workspace.root, port=0)
    with serving_in_process(dashboard):
        browser = subprocess.Popen([CHROMIUM, "--headless", *CHROMIUM_ARGS, "--remote-debugging-port=0", dashboard.url],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield
        finally:
            browser.kill()
            browser.wait()


def fleet_efficiency(workers: int, issues: int, latency: float, rounds: int) -> None:
    results: dict[str, list[float]] = {"closed": [], "open": []}
    for _ in range(rounds):
        for mode in ("closed", "open"):
            with tempfile.TemporaryDirectory() as tmp:
                watch = dashboard_open if mode == "open" else None
                run = asyncio.run(_efficiency(workers, issues, latency, Path(tmp), False, watch))
            results[mode].append(run.efficiency)
            print(f"  dashboard {mode:<6} efficiency {run.efficiency:.3f} ({run.measured:.2f} s)")
    closed = statistics.mean(results["closed"])
    opened = statistics.mean(results["open"])
    print(f"  mean: closed {closed:.3f}, open {opened:.3f}: open is {100 * (opened - closed) / closed:+.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=30, help="timed loads per page, and renames")
    parser.add_argument("--fleet-workers", type=int, default=16)
    parser.add_argument("--fleet-issues", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per fake model call in the fleet runs")
    parser.add_argument("--fleet-rounds", type=int, default=2, help="runs with the dashboard closed, and open, each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / ".foreman" / "issues.db"
        start = time.perf_counter()
        ids = seed(db, args.issues, args.events)
        print(f"seeded {args.issues} issues and {args.events} events in {time.perf_counter() - start:.1f} s")
        dashboard = open_dashboard(str(db), Path(tmp), port=0)
        start = time.perf_counter()
        with serving_in_process(dashboard):
            print(f"dashboard serving after {time.perf_counter() - start:.1f} s (reads every issue and event once)")
            base = dashboard.url.split("?")[0]
            paths = {"overview /": "/", "issues /issues": "/issues",
                     "issues, search + sort": "/issues?q=part%2042&sort=title&desc=1",
                     "issues, page 100": "/issues?page=100", "one issue": f"/issues/{ids[7]}", "workers": "/workers"}
            http_loads(base, paths, args.samples)
            browser_loads_and_latency(dashboard.url, base, db, ids[3], args.samples)
    print(f"fleet efficiency, {args.fleet_issues} issues, {args.fleet_workers} workers, {args.latency} s per call:")
    fleet_efficiency(args.fleet_workers, args.fleet_issues, args.latency, args.fleet_rounds)


if __name__ == "__main__":
    main()
