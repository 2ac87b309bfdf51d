"""The live view shows each worker's reported state, issue, last action, tokens and heartbeat, and the queue's counts."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.console import Console

from foreman.issues.fleet_records import WorkerStatus
from foreman.live import render

NOW = 1_800_000_000.0  # seconds since the epoch


def test_render_lists_reported_workers_and_queue_counts():
    seen = datetime.fromtimestamp(NOW - 3, tz=timezone.utc)
    rows = [WorkerStatus(name="coding-1", worker_type="coding", host="box", pid=4242, state="working",
                         issue_id="fm-ab12", last_action="write_file", model_calls=3, input_tokens=1200,
                         output_tokens=80, heartbeat_at=seen),
            WorkerStatus(name="[research-1]", worker_type="research", host="box", pid=4343, state="idle",
                         heartbeat_at=seen)]
    console = Console(record=True, width=160)
    console.print(render(rows, {"open": 2, "in_progress": 1, "closed": 4}, NOW))
    text = console.export_text()
    assert "coding-1" in text and "fm-ab12" in text and "write_file" in text and "1200/80" in text
    assert "[research-1]" in text and "idle" in text, "names are printed literally"
    assert "box:4242" in text and "3 s ago" in text
    assert "open: 2  in_progress: 1  closed: 4" in text
