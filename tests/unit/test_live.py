"""The live view shows each worker's state, issue, last action and tokens, and the queue's counts."""

from __future__ import annotations

from rich.console import Console

from foreman.live import render
from workers.recorder import WorkerStats


def test_render_lists_workers_and_queue_counts():
    rows = {"coding-1": WorkerStats(state="working", issue_id="fm-ab12", last_action="write_file", model_calls=3,
                                    input_tokens=1200, output_tokens=80),
            "research-1": WorkerStats(state="idle")}
    console = Console(record=True, width=120)
    console.print(render(rows, {"open": 2, "in_progress": 1, "closed": 4}))
    text = console.export_text()
    assert "coding-1" in text and "fm-ab12" in text and "write_file" in text and "1200/80" in text
    assert "research-1" in text and "idle" in text
    assert "open: 2  in_progress: 1  closed: 4" in text
