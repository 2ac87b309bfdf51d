"""Read-only paths for one command: bind mounts in its own mount namespace (issue 7, defect 10).

The PID namespace of `namespace.py` comes with a mount namespace of its own (`--mount-proc` implies
`--mount`; `--propagation private` is `mount --make-rprivate /`, so no mount made there reaches the
host). Inside it, before the command, `sh` runs the `CONFINE_SCRIPT`:

1. every `writable` path is bind-mounted onto itself (still read-write);
2. every `read_only` path is bind-mounted onto itself recursively (`--rbind`) and made read-only;
   the recursive bind carries the writable mounts of step 1 along, read-write, so a worktree inside
   the repository stays writable while the rest of the repository is not;
3. `cd` into the command's working directory again: one entered before the mounts would still be
   on the writable mount beneath them, and `..` from it would reach the repository writable;
4. `setpriv` drops CAP_SYS_ADMIN from the command's capabilities (bounding and inheritable sets),
   then execs it: without it even root cannot `umount` or remount the read-only view, nor `nsenter`
   another mount namespace. A user namespace it creates (no capability needed) gets a copy of the
   mounts in which the kernel locks them, so the read-only flag stays.

`available()` checks once per process, with the same script on a temporary folder, that a write to
a read-only path fails, one to a writable path inside it works and `umount` is refused. Where that
does not hold (no PID namespace, no `setpriv`, a kernel or container that refuses the mounts), it
logs one warning and commands run as before, without read-only paths (docs/sandbox.md).
"""

import functools
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .namespace import PROBE_TIMEOUT, isolation_prefix

logger = logging.getLogger(__name__)

# The session capability naming the paths a session's commands see read-only (a list of path
# strings); the fleet's runtime registers the user's repository, tool-bash reads it.
READ_ONLY_CAPABILITY = "foreman.sandbox.read_only"

# For `sh -c SCRIPT sh CWD rw PATH ... ro PATH ... -- COMMAND...`. A failed mount prints mount's own
# error into the command's output and the command still runs. The `cd` comes last: a working
# directory entered before the mounts would still be on the writable mount beneath them.
CONFINE_SCRIPT = """\
cwd=$1
shift
while [ "$1" != -- ]; do
  case $1 in
    rw) mount --bind -- "$2" "$2" ;;
    ro) mount --rbind -o ro -- "$2" "$2" ;;
  esac
  shift 2
done
shift
cd -- "$cwd" && exec "$@"
"""
DROP_CAPABILITIES = ("--inh-caps", "-sys_admin", "--bounding-set", "-sys_admin")  # for setpriv
PROBE_SCRIPT = "touch writable/ok && ! touch refused 2>/dev/null && ! umount . 2>/dev/null"


def confinement(
    cwd: str | Path, read_only: Sequence[str | Path], writable: Sequence[str | Path]
) -> tuple[str, ...]:
    """argv to put between the PID namespace prefix and the command so that the command, started in
    `cwd`, sees every existing `read_only` path read-only except the `writable` paths inside them;
    `()` when there is nothing to protect or `available()` is False. Paths are resolved (symlinks
    followed); missing ones are skipped (a bind mount needs an existing path)."""
    protected = _existing(read_only)
    if not protected or not available():
        return ()
    return _argv(Path(cwd).resolve(), protected, _existing(writable))


@functools.cache
def available() -> bool:
    """Whether read-only bind mounts work here (checked once per process; logs one warning if not)."""
    reason = _unavailable_reason()
    if reason:
        logger.warning("foreman.sandbox: no read-only mounts here (%s); commands run with their "
                       "read_only paths writable (docs/sandbox.md)", reason)
    return not reason


def _unavailable_reason() -> str:
    """'' when the confinement works, else why not."""
    prefix = isolation_prefix()
    if not prefix:
        return "no PID and mount namespace: util-linux unshare missing or namespaces not permitted"
    if shutil.which("setpriv") is None:
        return "util-linux setpriv not found"
    with tempfile.TemporaryDirectory(prefix="foreman-mounts-") as folder:
        return _probe(prefix, Path(folder))


def _probe(prefix: tuple[str, ...], root: Path) -> str:
    """Run `PROBE_SCRIPT` confined in the empty folder `root`: '' when it behaved, else what went wrong."""
    (root / "writable").mkdir()
    argv = [*prefix, *_argv(root, [root], [root / "writable"]), "sh", "-c", PROBE_SCRIPT]
    try:
        probe = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=PROBE_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as error:
        return f"the probe could not run: {error}"
    if probe.returncode == 0 and (root / "writable" / "ok").exists() and not (root / "refused").exists():
        return ""
    why = probe.stderr.strip() or "a read-only path was writable, or could be unmounted"
    return f"the probe exited {probe.returncode}: {why}"


def _argv(cwd: Path, read_only: Sequence[Path], writable: Sequence[Path]) -> tuple[str, ...]:
    pairs = [("rw", str(path)) for path in writable] + [("ro", str(path)) for path in read_only]
    setpriv = shutil.which("setpriv")
    return ("sh", "-c", CONFINE_SCRIPT, "sh", str(cwd), *(word for pair in pairs for word in pair), "--",
            setpriv, *DROP_CAPABILITIES, "--")


def _existing(paths: Sequence[str | Path]) -> list[Path]:
    resolved = (Path(path).resolve() for path in paths)
    return [path for path in resolved if path.exists()]
