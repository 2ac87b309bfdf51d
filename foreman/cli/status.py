"""``foreman status``: how far the work is (issue 12; seed 004's "overall progress, remaining hours").

Takes ``--db`` (or ``$FOREMAN_DB``) and ``--json``. Exit codes (docs/cli.md): 0 ok, 7 database
missing or unreadable.
"""

from __future__ import annotations

import click

from foreman.cli.issues import store_command
from foreman.cli.render import CommandReport
from foreman.progress import Progress, progress


def duration(seconds: float) -> str:
    """``2 h 5 m``, ``4 m 10 s``, ``12 s``: seconds for people."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} m"
    return f"{minutes} m {secs} s" if minutes else f"{secs} s"


class StatusResult(Progress, CommandReport):
    """What ``foreman status`` prints."""

    def lines(self) -> list[str]:
        """Counts, per worker type, time and spend, one topic a line."""
        if not self.total:
            return ["no issues yet: `foreman import FILE`, or `foreman run --goal ...`"]
        others = ", ".join(f"{n} {status}" for status, n in self.counts.items() if status != "closed")
        lines = [f"{self.total} issues: {self.counts['closed']} closed ({self.done_percent:g}% done), {others}"]
        for kind, counts in self.by_worker_type.items():
            lines.append(f"  {kind}: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
        if self.counts["closed"] == self.total:
            return [*lines, f"elapsed: {duration(self.elapsed_seconds)}; every issue is closed", self._spend_line()]
        remaining = []
        if self.remaining_estimate_hours is not None:
            remaining.append(f"{self.remaining_estimate_hours:g} h estimated (estimate_hours of the issues left)")
        if self.remaining_seconds_at_pace is not None:
            remaining.append(f"about {duration(self.remaining_seconds_at_pace)} at this run's pace")
        lines.append(f"elapsed: {duration(self.elapsed_seconds)}; remaining: {', '.join(remaining) or 'unknown'}")
        return [*lines, self._spend_line()]

    def _spend_line(self) -> str:
        spend = self.spend
        budget = "" if spend.budget_usd is None else f" of ${spend.budget_usd:.2f}"
        return (f"model calls: {spend.model_calls}, tokens: {spend.input_tokens} in / {spend.output_tokens} out, "
                f"cost: ${spend.cost_usd:.4f}{budget}")


@click.command("status")
@store_command()
def status_command(store):
    """Show overall progress: issues per status and worker type, % done, elapsed and remaining time, spend."""
    return StatusResult(**progress(store, store.clock.now()).model_dump())
