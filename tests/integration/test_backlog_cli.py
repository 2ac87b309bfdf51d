"""``foreman import / export / status / retry / init`` (issue 12): idempotent import, round trips, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from foreman.cli import cli
from foreman.issues import errors

PIPELINE = Path(__file__).parents[2] / "examples" / "pipeline.yaml"


@pytest.fixture
def foreman(tmp_path):
    """``foreman ARGS --db DB`` through click; ``--json`` output parsed. ``db=`` picks another database."""
    runner = CliRunner()

    def invoke(*args: str, expect: int = 0, db: str = "a.db", as_json: bool = True):
        result = runner.invoke(cli, [*args, "--db", str(tmp_path / db), *(["--json"] if as_json else [])])
        assert result.exit_code == expect, result.output
        return json.loads(result.stdout) if as_json else result

    return invoke


def write(path: Path, tasks: list[dict]) -> Path:
    path.write_text(yaml.safe_dump(tasks))
    return path


def close_requirements(foreman, workspace: Path, issue_id: str) -> None:
    """Close the pipeline's first stage the way an operator does: its check (``test -s``) must pass."""
    (workspace / "docs").mkdir(exist_ok=True)
    (workspace / "docs" / "requirements.md").write_text("- it counts words\n")
    foreman("issues", "close", issue_id, "--workspace", str(workspace))


def graph(foreman, db: str) -> dict[str, dict]:
    """Each issue by task key: fields, dependencies by task key, and notes, as a fresh database must repeat them."""
    issues = foreman("issues", "list", db=db)
    key = {i["id"]: i["metadata"]["task_key"] for i in issues}
    shown = {i["id"]: foreman("issues", "show", i["id"], db=db) for i in issues}
    return {key[i]: {
        "fields": {f: s["issue"][f] for f in ("title", "description", "acceptance_criteria", "type", "priority",
                                              "labels", "checks", "status", "blocking_notes")},
        "metadata": {k: v for k, v in s["issue"]["metadata"].items()},
        "dependencies": sorted((key[d["depends_on"]], d["type"]) for d in s["dependencies"]),
        "notes": [(n["author"], n["body"]) for n in s["notes"]],
    } for i, s in shown.items()}


def test_importing_a_file_twice_creates_nothing_new_and_a_changed_task_updates_its_issue(foreman, tmp_path):
    first = foreman("import", str(PIPELINE))
    assert len(first["created"]) == 3 and first["dependencies_added"] == 2
    again = foreman("import", str(PIPELINE))
    assert again["created"] == [] and again["updated"] == {} and len(again["unchanged"]) == 3
    assert again["dependencies_added"] == 0 and len(foreman("issues", "list")) == 3

    tasks = yaml.safe_load(PIPELINE.read_text())
    tasks[1] |= {"title": "Design it twice", "budget": {"max_tokens": 5000}}
    tasks[2]["depends_on"] = ["design", "requirements"]
    changed = foreman("import", str(write(tmp_path / "changed.yaml", tasks)))
    design = changed["ids"]["design"]
    assert changed["updated"] == {design: ["title", "budget"]} and changed["dependencies_added"] == 1
    issue = foreman("issues", "show", design)["issue"]
    assert issue["title"] == "Design it twice" and issue["metadata"]["budget"] == {"max_tokens": 5000}
    plain = foreman("import", str(tmp_path / "changed.yaml"), as_json=False)
    assert "0 created, 0 updated, 3 unchanged; 0 dependencies and 0 notes added" in plain.stdout


def test_export_then_import_into_a_fresh_database_gives_the_same_issues_dependencies_and_notes(foreman, tmp_path):
    tasks = yaml.safe_load(PIPELINE.read_text()) + [
        {"id": "epic", "title": "The tool", "type": "epic", "worker_type": "coding"},
        {"id": "waits", "title": "Needs a password", "worker_type": "coding", "parent": "epic",
         "blocked_reason": "the staging password", "labels": ["ops"], "timeout": 30,
         "budget": {"max_cost_usd": 0.5, "max_seconds": 600, "max_model_calls": 20}},
    ]
    ids = foreman("import", str(write(tmp_path / "in.yaml", tasks)))["ids"]
    foreman("issues", "note", ids["design"], "use a plain module, no framework", "--author", "ada")
    for name in ("out.yaml", "out.json"):
        exported = foreman("export", str(tmp_path / name))
        assert exported["exported"] == ["requirements", "design", "implement", "epic", "waits"]
        foreman("import", str(tmp_path / name), db=f"fresh-{name}.db")
        assert graph(foreman, f"fresh-{name}.db") == graph(foreman, "a.db")
    fresh = graph(foreman, "fresh-out.yaml.db")
    assert fresh["design"]["notes"] == [("ada", "use a plain module, no framework")]
    assert fresh["waits"]["dependencies"] == [("epic", "parent-child")]
    assert fresh["waits"]["metadata"]["call_timeout"] == 30 and fresh["waits"]["fields"]["status"] == "blocked"


def test_export_by_status_leaves_out_dependencies_on_issues_it_does_not_export(foreman, tmp_path):
    ids = foreman("import", str(PIPELINE))["ids"]
    close_requirements(foreman, tmp_path, ids["requirements"])
    out = foreman("export", str(tmp_path / "open.yaml"), "--status", "open")
    assert out["exported"] == ["design", "implement"] and out["dependencies_left_out"] == 1
    assert foreman("export", str(tmp_path / "open.yaml"), expect=errors.EXIT_REFUSED)["error"]["code"] == "file_exists"
    foreman("export", str(tmp_path / "open.yaml"), "--force")
    foreman("import", str(tmp_path / "open.yaml"), db="fresh.db")  # loads: no dependency on a missing id


BAD_FILES = {
    "unknown key": ("tasks.yaml", "- {id: a, title: A, owner: me}\n", "invalid_task_file",
                    "tasks.yaml: task 0 (id 'a'): field 'owner': Extra inputs are not permitted"),
    "missing dependency": ("tasks.yaml", "- {id: a, title: A, depends_on: [b]}\n", "invalid_task_file",
                           "tasks.yaml: task 'a': depends_on: 'b' is not a task id in this file"),
    "cycle": ("tasks.yaml", "- {id: a, title: A, depends_on: [b]}\n- {id: b, title: B, depends_on: [a]}\n",
              "invalid_task_file", "tasks.yaml: task 'a': depends_on: a cycle, each waits on the next: 'a' -> 'b' -> 'a'"),
    "bad YAML": ("tasks.yaml", "- id: a\n  title: [unclosed\n", "invalid_task_file", "tasks.yaml: line 3: invalid YAML"),
    "bad JSON": ("tasks.json", '[{"id": "a",}]', "invalid_task_file", "tasks.json: line 1: invalid JSON"),
    "missing file": (None, None, "task_file_unreadable", "cannot read the task file (No such file or directory)"),
    "not a list": ("tasks.yaml", "title: A\n", "invalid_task_file", "expected a list of tasks"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_task_file_is_one_error_line_exit_2_and_changes_nothing(foreman, tmp_path, monkeypatch, case):
    name, text, code, message = BAD_FILES[case]
    monkeypatch.chdir(tmp_path)
    if name:
        Path(name).write_text(text)
    given = name or "absent.yaml"
    error = foreman("import", given, expect=errors.EXIT_INVALID)["error"]
    assert error["code"] == code and message in error["message"] and error["file"] == given
    plain = foreman("import", given, expect=errors.EXIT_INVALID, as_json=False)
    assert plain.stdout == "" and plain.stderr.count("\n") == 1 and plain.stderr.startswith(f"error ({code}): ")
    assert not (tmp_path / "a.db").exists()  # nothing changed, not even a new database


def test_status_counts_percent_done_per_worker_type_and_remaining_estimate(foreman, tmp_path):
    ids = foreman("import", str(PIPELINE))["ids"]
    close_requirements(foreman, tmp_path, ids["requirements"])
    status = foreman("status")
    assert status["total"] == 3 and status["counts"]["closed"] == 1 and status["counts"]["open"] == 2
    assert status["done_percent"] == 33.3 and status["by_worker_type"] == {"coding": {"closed": 1, "open": 2}}
    assert status["remaining_estimate_hours"] == 3.0  # design 1 h + implement 2 h
    assert status["spend"] == {"model_calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0,
                               "budget_usd": None, "budget_tokens": None}
    plain = foreman("status", as_json=False).stdout
    assert plain.startswith("3 issues: 1 closed (33.3% done), 2 open, 0 in_progress")
    assert "  coding: 1 closed, 2 open" in plain and "3 h estimated" in plain


def test_retry_puts_a_dead_letter_issue_back_with_a_note_and_refuses_any_other(foreman):
    issue = foreman("issues", "create", "flaky", "--max-attempts", "1")
    claim = foreman("issues", "claim", issue["id"], "-w", "w1")
    foreman("issues", "fail", issue["id"], "--token", str(claim["token"]), "--error", "boom")
    retried = foreman("retry", issue["id"], "--note", "use the mirror")
    assert retried["status"] == "open" and retried["attempts"] == 0
    notes = foreman("issues", "show", issue["id"])["notes"]
    assert notes[-1]["body"] == "Reopened: retry: use the mirror"
    refused = foreman("retry", issue["id"], expect=errors.EXIT_REFUSED)["error"]
    assert refused["code"] == "illegal_transition" and "is open, not dead_letter" in refused["message"]
    assert foreman("retry", "fm-nope", expect=errors.EXIT_NOT_FOUND)["error"]["code"] == "not_found"


def test_init_makes_a_workspace_once_and_refuses_to_touch_it_again(tmp_path):
    runner = CliRunner()
    made = runner.invoke(cli, ["init", str(tmp_path / "proj"), "--json"])
    assert made.exit_code == 0, made.output
    paths = json.loads(made.stdout)
    assert Path(paths["database"]).is_file() and Path(paths["task_file"]).read_text().startswith("# An example")
    again = runner.invoke(cli, ["init", str(tmp_path / "proj")])
    assert again.exit_code == errors.EXIT_REFUSED and "error (already_initialized)" in again.stderr
    (tmp_path / "file").write_text("x")
    assert runner.invoke(cli, ["init", str(tmp_path / "file")]).exit_code == errors.EXIT_INVALID
