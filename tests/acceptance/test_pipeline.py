"""A three-stage pipeline in rehearsal (issue 12): each stage's prompt, as the scripted fake LLM
received it, holds the results of the stages it builds on, and its worktree holds their files."""

from __future__ import annotations

import asyncio
from pathlib import Path

from foreman.fleet import Fleet, FleetConfig
from foreman.issues import Status
from foreman.rehearsal import rehearsal_provider
from foreman.runtime.plans import MountPlan
from foreman.runtime.tasks import load_tasks
from foreman.runtime.workspace import git
from foreman.testing import ScriptedProvider
from workers.results import RESULT

PIPELINE = Path(__file__).parents[2] / "examples" / "pipeline.yaml"


def first_prompts(providers: list[ScriptedProvider]) -> list[str]:
    """The first user message of every session's first model call (its task prompt)."""
    prompts = []
    for provider in providers:
        if provider.requests:
            first = next(m for m in provider.requests[0].messages if m.role == "user")
            prompts.append(first.content if isinstance(first.content, str) else str(first.content))
    return prompts


def test_each_stage_gets_the_results_of_the_stages_before_it(git_workspace):
    providers: list[ScriptedProvider] = []

    def recording(plan: MountPlan, worker: str) -> ScriptedProvider:
        providers.append(rehearsal_provider(plan, worker))
        return providers[-1]

    fleet = Fleet(FleetConfig(workspace=git_workspace, tasks=load_tasks(PIPELINE), provider_factory=recording,
                              review_interval=0.1, workers={"coding": 2, "research": 0}))
    report = asyncio.run(fleet.run())

    assert report.state.over
    stage = {i.metadata["task_key"]: fleet.store.get(i.id) for i in report.issues}
    assert all(i.status == Status.CLOSED for i in stage.values())
    first = stage["requirements"]
    assert set(first.metadata[RESULT]["files"]) == {f"rehearsal/{first.id}.md", "docs/requirements.md"}
    prompts = first_prompts(providers)
    design = next(p for p in prompts if p.startswith(f"Your issue is {stage['design'].id}:"))
    assert f"- {first.id} {first.title}: Rehearsal: did '{first.title}'." in design
    assert f"output notes: rehearsal/{first.id}.md" in design
    assert "docs/requirements.md" in design and "`test -s docs/requirements.md`" in design
    assert set(stage["design"].metadata[RESULT]["files"]) == {f"rehearsal/{stage['design'].id}.md", "docs/design.md"}
    implement = next(p for p in prompts if p.startswith(f"Your issue is {stage['implement'].id}:"))
    assert f"- {stage['design'].id} {stage['design'].title}: " in implement  # depends_on
    assert f"- {first.id} {first.title}: " in implement  # inputs
    # each stage started from the branches of the stages before it: their files are in its branch
    files = git(git_workspace, "ls-tree", "-r", "--name-only", f"foreman/{stage['implement'].id}").splitlines()
    assert {"docs/requirements.md", "docs/design.md", "docs/implementation.md"} <= set(files)
