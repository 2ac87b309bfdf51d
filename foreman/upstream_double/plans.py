"""Mount plans of the upstream-shaped double: our plans with the double's modules swapped in."""

from __future__ import annotations

import json
from pathlib import Path

DOUBLE_MODULES = {  # our module id -> the double standing in for its upstream namesake
    "loop-streaming": "upstream-double-loop-streaming",
    "tool-filesystem": "upstream-double-tool-filesystem",
    "tool-bash": "upstream-double-tool-bash",
}
DOUBLE_PROVIDER = "upstream-double-provider-anthropic"


def double_plans(source: Path, destination: Path) -> Path:
    """Copy every ``*.json`` plan of ``source`` into ``destination`` (created) with the double's
    modules for ours (:data:`DOUBLE_MODULES`) and, as its only provider, the double's scripted
    provider for the plan's role. Returns ``destination``.

    Raises:
        OSError, json.JSONDecodeError: a plan cannot be read.
    """
    destination.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.json")):
        plan = json.loads(path.read_text())
        for entry in [plan["session"]["orchestrator"], *plan.get("tools", [])]:
            entry["module"] = DOUBLE_MODULES.get(entry["module"], entry["module"])
        role = plan.get("fleet", {}).get("role", "worker")
        plan["providers"] = [{"module": DOUBLE_PROVIDER, "config": {"role": role}}]
        (destination / path.name).write_text(json.dumps(plan, indent=2))
    return destination
