"""The seed scenario as tests use it: data in examples/seed/ (tasks.yaml and the sample workspace)."""

from pathlib import Path

from foreman.runtime.tasks import load_tasks
from foreman.runtime.workspace import create_repository

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"
SEED_TASKS = load_tasks(SEED / "tasks.yaml")


def create_seed_workspace(path: Path) -> Path:
    """The seed's sample app at ``path`` (which must not exist), a new git repository with one commit."""
    return create_repository(SEED / "workspace", path)
