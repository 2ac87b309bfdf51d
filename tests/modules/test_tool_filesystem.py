"""tool-filesystem: the Tool contract for each of its five tools, confinement, and each tool's behaviour."""

import errno
import os
import subprocess
from pathlib import Path

import pytest
from amplifier_core.testing import MockCoordinator
from amplifier_core.validation.behavioral import ToolBehaviorTests

from amplifier_foreman_modules.tool_filesystem import mount

TOOL_NAMES = ["read_file", "write_file", "edit_file", "list_files", "grep"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "main.py").write_text("import os\nprint('hello')\n")
    (root / "src" / "pkg" / "util.py").write_text("def helper():\n    return 42\n")
    (root / "README.md").write_text("# Title\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("classified\n")
    return secret


async def mounted(config: dict, capability: str | None = None) -> dict:
    coordinator = MockCoordinator()
    if capability is not None:
        coordinator.register_capability("session.working_dir", capability)
    await mount(coordinator, config)
    return coordinator.mount_points["tools"]


@pytest.fixture
async def tools(workspace: Path) -> dict:
    return await mounted({"working_dir": str(workspace)})


async def run(tools: dict, name: str, **input):
    return await tools[name].execute(input)


class TestFilesystemToolContract(ToolBehaviorTests):
    """amplifier-core's behavioural contract, run once per tool."""

    @pytest.fixture(params=TOOL_NAMES)
    def tool_module(self, request, tools):
        return tools[request.param]


async def test_mount_registers_the_five_tools(tools):
    assert sorted(tools) == sorted(TOOL_NAMES)


# --- workspace resolution ----------------------------------------------------------------------


async def test_config_working_dir_wins_over_the_capability(workspace, tmp_path):
    tools = await mounted({"working_dir": str(workspace)}, capability=str(tmp_path))
    assert (await run(tools, "read_file", file_path="README.md")).success


async def test_capability_is_the_workspace_without_config(workspace):
    tools = await mounted({}, capability=str(workspace))
    assert (await run(tools, "read_file", file_path="README.md")).success


async def test_current_directory_is_the_last_resort(workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    tools = await mounted({})
    assert (await run(tools, "read_file", file_path="README.md")).success


@pytest.mark.parametrize("key", ["max_read_bytes", "max_results"])
async def test_non_positive_limits_fail_the_mount(workspace, key):
    with pytest.raises(ValueError, match=f"tool-filesystem: config {key} must be > 0"):
        await mounted({"working_dir": str(workspace), key: -1})


# --- confinement -------------------------------------------------------------------------------


def escape_paths(workspace: Path, outside: Path) -> dict[str, str]:
    """One path per way out of the workspace, each leading to `outside`'s directory."""
    (workspace / "link_file").symlink_to(outside)
    (workspace / "link_dir").symlink_to(outside.parent, target_is_directory=True)
    return {
        "dotdot": f"../outside/{outside.name}",
        "nested_dotdot": f"src/../../outside/{outside.name}",
        "absolute": str(outside),
        "symlinked_file": "link_file",
        "through_symlinked_dir": f"link_dir/{outside.name}",
    }


@pytest.mark.parametrize("way", ["dotdot", "nested_dotdot", "absolute", "symlinked_file", "through_symlinked_dir"])
async def test_reads_outside_the_workspace_are_refused(tools, workspace, outside, way):
    result = await run(tools, "read_file", file_path=escape_paths(workspace, outside)[way])
    assert not result.success
    assert result.error["code"] == "path_not_allowed"
    assert "outside the paths this tool may read" in result.error["message"]
    assert "classified" not in str(result.output)


@pytest.mark.parametrize("way", ["dotdot", "absolute", "symlinked_file", "through_symlinked_dir"])
async def test_writes_and_edits_outside_the_workspace_are_refused(tools, workspace, outside, way):
    path = escape_paths(workspace, outside)[way]
    written = await run(tools, "write_file", file_path=path, content="owned\n")
    edited = await run(tools, "edit_file", file_path=path, old_string="classified", new_string="owned")
    assert [written.error["code"], edited.error["code"]] == ["path_not_allowed", "path_not_allowed"]
    assert outside.read_text() == "classified\n"


async def test_new_file_through_a_symlinked_dir_is_not_created_outside(tools, workspace, outside):
    escape_paths(workspace, outside)
    result = await run(tools, "write_file", file_path="link_dir/planted.txt", content="x")
    assert result.error["code"] == "path_not_allowed"
    assert not (outside.parent / "planted.txt").exists()


@pytest.mark.parametrize("name", ["read_file", "write_file", "edit_file"])
async def test_nul_bytes_in_paths_are_refused(tools, name):
    result = await run(tools, name, file_path="src/main.py\x00.txt", content="", old_string="a", new_string="b")
    assert result.error["code"] == "invalid_path"
    assert "NUL" in result.error["message"]


async def test_dotdot_that_stays_inside_is_allowed(tools):
    result = await run(tools, "read_file", file_path="src/pkg/../main.py")
    assert result.success and "print('hello')" in result.output["content"]


async def test_symlink_within_the_workspace_is_followed(tools, workspace):
    (workspace / "alias.py").symlink_to(workspace / "src" / "main.py")
    assert "import os" in (await run(tools, "read_file", file_path="alias.py")).output["content"]


async def test_git_dir_is_denied_for_writes_by_default(tools, workspace):
    result = await run(tools, "edit_file", file_path=".git/config", old_string="core", new_string="x")
    assert result.error["code"] == "write_denied"
    assert ".git" in result.error["message"]
    assert (workspace / ".git" / "config").read_text() == "[core]\n"
    assert (await run(tools, "read_file", file_path=".git/config")).success


async def test_denied_and_allowed_write_paths_from_config(workspace):
    tools = await mounted({"working_dir": str(workspace), "allowed_write_paths": ["src"], "denied_write_paths": ["src/pkg"]})
    assert (await run(tools, "write_file", file_path="src/new.py", content="")).success
    assert (await run(tools, "write_file", file_path="README.md", content="")).error["code"] == "path_not_allowed"
    assert (await run(tools, "write_file", file_path="src/pkg/x.py", content="")).error["code"] == "write_denied"


async def test_allowed_read_paths_can_grant_a_directory_outside(workspace, outside):
    tools = await mounted({"working_dir": str(workspace), "allowed_read_paths": [".", str(outside.parent)]})
    assert "classified" in (await run(tools, "read_file", file_path=str(outside))).output["content"]
    assert (await run(tools, "write_file", file_path=str(outside), content="x")).error["code"] == "path_not_allowed"


# --- read_file ---------------------------------------------------------------------------------


async def test_read_numbers_lines(tools):
    assert (await run(tools, "read_file", file_path="src/main.py")).output == {
        "file_path": "src/main.py", "content": "     1\timport os\n     2\tprint('hello')\n",
        "total_lines": 2, "lines_read": 2, "offset": 1,
    }


async def test_read_window_says_where_to_continue(tools, workspace):
    (workspace / "long.txt").write_text("".join(f"line {n}\n" for n in range(1, 101)))
    output = (await run(tools, "read_file", file_path="long.txt", offset=10, limit=3)).output
    assert (output["total_lines"], output["lines_read"], output["offset"]) == (100, 3, 10)
    assert output["content"].splitlines() == ["    10\tline 10", "    11\tline 11", "    12\tline 12", "[more lines follow: continue with offset=13]"]


async def test_read_output_is_capped_in_bytes(workspace):
    (workspace / "wide.txt").write_text("".join(f"{n:04} {'x' * 95}\n" for n in range(1000)))
    tools = await mounted({"working_dir": str(workspace), "max_read_bytes": 1000})
    output = (await run(tools, "read_file", file_path="wide.txt")).output["content"]
    body, note = output.rsplit("\n[", 1)
    assert len(body.encode()) <= 1000
    assert note.startswith("output capped at 1000 bytes: continue with offset=")


async def test_read_past_the_end_and_empty_files(tools, workspace):
    (workspace / "empty.txt").write_text("")
    empty = (await run(tools, "read_file", file_path="empty.txt")).output
    assert (empty["content"], empty["total_lines"], empty["lines_read"]) == ("[empty file]", 0, 0)
    past = (await run(tools, "read_file", file_path="src/main.py", offset=7)).output
    assert "past the end: the file has 2 lines" in past["content"] and past["total_lines"] == 2


@pytest.mark.parametrize(
    ("path", "code"),
    [("missing.txt", "file_not_found"), ("src", "not_a_file"), ("blob.bin", "binary_file")],
)
async def test_read_refuses_what_is_not_a_text_file(tools, workspace, path, code):
    (workspace / "blob.bin").write_bytes(b"\x89PNG\x00\x01")
    assert (await run(tools, "read_file", file_path=path)).error["code"] == code


@pytest.mark.parametrize("input", [{}, {"file_path": 3}, {"file_path": "README.md", "offset": 0}, {"file_path": "README.md", "limit": "5"}])
async def test_read_rejects_bad_input(tools, input):
    assert (await tools["read_file"].execute(input)).error["code"] in {"invalid_input", "invalid_path"}


# --- write_file --------------------------------------------------------------------------------


async def test_write_creates_parent_directories(tools, workspace):
    result = await run(tools, "write_file", file_path="new/deep/file.txt", content="héllo\n")
    assert result.output == {"file_path": "new/deep/file.txt", "bytes": 7}
    assert (workspace / "new" / "deep" / "file.txt").read_text() == "héllo\n"


async def test_write_overwrites_and_keeps_line_endings(tools, workspace):
    assert (await run(tools, "write_file", file_path="README.md", content="a\r\nb")).success
    assert (workspace / "README.md").read_bytes() == b"a\r\nb"


async def test_write_refuses_a_directory_target(tools):
    assert (await run(tools, "write_file", file_path="src", content="x")).error["code"] == "not_a_file"


# --- atomic writes (issue 7, defect 8) ---------------------------------------------------------

ORIGINAL = "import os\nprint('hello')\n"
CHANGES = {
    "write_file": {"file_path": "src/main.py", "content": "replaced\n"},
    "edit_file": {"file_path": "src/main.py", "old_string": "'hello'", "new_string": "'bye'"},
}


def disk_full(*args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("tool", CHANGES)
async def test_a_write_that_fails_keeps_the_original_and_leaves_no_temporary_file(tools, workspace, tool, monkeypatch):
    monkeypatch.setattr(os, "fsync", disk_full)
    result = await tools[tool].execute(CHANGES[tool])
    assert result.error["code"] == "io_error"
    assert "No space left on device" in result.error["message"]
    assert "its previous content is unchanged" in result.error["message"]
    assert (workspace / "src" / "main.py").read_text() == ORIGINAL
    assert sorted(p.name for p in (workspace / "src").iterdir()) == ["main.py", "pkg"]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs mounted at tmp_path/disk (skipped where mounting is not allowed)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted_ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True)
    if mounted_ok.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted_ok.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


async def test_a_full_disk_keeps_the_original(tiny_disk):
    (tiny_disk / "notes.txt").write_text("keep me\n")
    tools = await mounted({"working_dir": str(tiny_disk)})
    result = await run(tools, "write_file", file_path="notes.txt", content="x" * 200_000)
    assert result.error["code"] == "io_error" and "No space left on device" in result.error["message"]
    assert (tiny_disk / "notes.txt").read_text() == "keep me\n"
    assert [p.name for p in tiny_disk.iterdir()] == ["notes.txt"]


async def test_a_failed_new_file_is_not_created(tools, workspace, monkeypatch):
    monkeypatch.setattr(os, "fsync", disk_full)
    result = await run(tools, "write_file", file_path="new.txt", content="x")
    assert "no file was created" in result.error["message"]
    assert not (workspace / "new.txt").exists()


@pytest.mark.parametrize("tool", CHANGES)
async def test_a_write_keeps_the_files_mode(tools, workspace, tool):
    target = workspace / "src" / "main.py"
    target.chmod(0o750)
    assert (await tools[tool].execute(CHANGES[tool])).success
    assert target.stat().st_mode & 0o7777 == 0o750


async def test_a_new_file_gets_the_mode_open_would_give_it(tools, workspace):
    (workspace / "reference.txt").touch()
    assert (await run(tools, "write_file", file_path="new.txt", content="x")).success
    assert (workspace / "new.txt").stat().st_mode == (workspace / "reference.txt").stat().st_mode


# --- edit_file ---------------------------------------------------------------------------------


async def test_edit_replaces_a_unique_string(tools, workspace):
    result = await run(tools, "edit_file", file_path="src/main.py", old_string="'hello'", new_string="'bye'")
    assert result.output == {"file_path": "src/main.py", "replacements_made": 1, "bytes_written": 23}
    assert (workspace / "src" / "main.py").read_text() == "import os\nprint('bye')\n"


async def test_edit_refuses_an_ambiguous_match_and_leaves_the_file(tools, workspace):
    (workspace / "dup.txt").write_text("x = 1\nx = 1\n")
    result = await run(tools, "edit_file", file_path="dup.txt", old_string="x = 1", new_string="x = 2")
    assert result.error["code"] == "not_unique"
    assert "occurs 2 times" in result.error["message"] and "replace_all" in result.error["message"]
    assert (workspace / "dup.txt").read_text() == "x = 1\nx = 1\n"


async def test_edit_replace_all(tools, workspace):
    (workspace / "dup.txt").write_text("x = 1\nx = 1\n")
    result = await run(tools, "edit_file", file_path="dup.txt", old_string="x = 1", new_string="x = 2", replace_all=True)
    assert result.output == {"file_path": "dup.txt", "replacements_made": 2, "bytes_written": 12}
    assert (workspace / "dup.txt").read_text() == "x = 2\nx = 2\n"


async def test_edit_keeps_undecodable_bytes(tools, workspace):
    (workspace / "latin.txt").write_bytes(b"caf\xe9 = 1\n")
    assert (await run(tools, "edit_file", file_path="latin.txt", old_string="1", new_string="2")).success
    assert (workspace / "latin.txt").read_bytes() == b"caf\xe9 = 2\n"


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [("absent", "x", "string_not_found"), ("", "x", "invalid_input"), ("os", "os", "invalid_input")],
)
async def test_edit_errors(tools, old, new, code):
    assert (await run(tools, "edit_file", file_path="src/main.py", old_string=old, new_string=new)).error["code"] == code


# --- list_files --------------------------------------------------------------------------------


async def test_list_recursive_and_top_level_globs(tools):
    assert (await run(tools, "list_files", pattern="**/*.py")).output == "src/main.py\nsrc/pkg/util.py"
    assert (await run(tools, "list_files", pattern="*.md")).output == "README.md"
    assert (await run(tools, "list_files", pattern="src/*.py")).output == "src/main.py"


async def test_list_skips_ignored_dirs_and_links_out(tools, workspace, outside):
    (workspace / "node_modules" / "dep").mkdir(parents=True)
    (workspace / "node_modules" / "dep" / "index.js").write_text("")
    escape_paths(workspace, outside)
    listed = (await run(tools, "list_files")).output.splitlines()
    assert listed == ["README.md", "src/main.py", "src/pkg/util.py"]


async def test_list_is_capped(workspace):
    for n in range(5):
        (workspace / f"f{n}.log").write_text("")
    tools = await mounted({"working_dir": str(workspace), "max_results": 2})
    assert (await run(tools, "list_files", pattern="*.log")).output == "f0.log\nf1.log\n[3 more files match; narrow the pattern]"


async def test_list_refuses_patterns_that_leave_the_workspace(tools):
    assert (await run(tools, "list_files", pattern="../*")).error["code"] == "path_not_allowed"
    assert (await run(tools, "list_files", pattern="/etc/*")).error["code"] == "path_not_allowed"


async def test_list_reports_no_match_and_bad_globs(tools):
    assert (await run(tools, "list_files", pattern="**/*.rs")).output == "[no files match]"
    assert (await run(tools, "list_files", pattern="[!]")).error["code"] == "invalid_glob"


# --- grep --------------------------------------------------------------------------------------


async def test_grep_reports_path_line_and_text(tools):
    assert (await run(tools, "grep", pattern=r"return \d+")).output == "src/pkg/util.py:2:     return 42"


async def test_grep_glob_and_inline_flags(tools):
    assert (await run(tools, "grep", pattern="(?i)TITLE", glob="*.md")).output == "README.md:1: # Title"
    assert (await run(tools, "grep", pattern="(?i)TITLE", glob="**/*.py")).output == "[no matches]"


async def test_grep_skips_binaries_and_stops_at_the_cap(workspace):
    (workspace / "blob.bin").write_bytes(b"match\x00match")
    (workspace / "many.txt").write_text("match\n" * 10)
    tools = await mounted({"working_dir": str(workspace), "max_results": 3})
    lines = (await run(tools, "grep", pattern="match")).output.splitlines()
    assert lines == ["many.txt:1: match", "many.txt:2: match", "many.txt:3: match", "[stopped after 3 matches; narrow the search]"]


async def test_grep_does_not_read_through_links_out(tools, workspace, outside):
    escape_paths(workspace, outside)
    assert (await run(tools, "grep", pattern="classified")).output == "[no matches]"


async def test_grep_rejects_a_bad_regex(tools):
    result = await run(tools, "grep", pattern="(")
    assert result.error["code"] == "invalid_regex"


def test_walk_does_not_follow_symlinked_directories(workspace, outside):
    from amplifier_foreman_modules.tool_filesystem.globbing import compile_glob, walk_matches

    escape_paths(workspace, outside)
    found = [os.path.relpath(path, workspace) for path in walk_matches(workspace, compile_glob("**/*"))]
    assert "link_dir/secret.txt" not in found and "link_file" in found
