"""A PID namespace per command: when its first process exits, the kernel kills every other one.

`unshare --pid --fork --kill-child --mount-proc` runs the command as PID 1 of a new PID namespace
(with its own /proc, so `ps` shows only the command's processes). No descendant can leave a PID
namespace by `setsid`, `set -m`, double forks or new process groups; when PID 1 exits, or when
`unshare` is killed (`--kill-child`), the kernel SIGKILLs and reaps everything left in it, so no
orphan or zombie is left behind either. `--mount-proc` implies a mount namespace too, whose mounts
are made private (`--propagation private`, i.e. `mount --make-rprivate /`): nothing mounted in it
reaches the host (`mounts.py` uses it for read-only paths). Needs util-linux `unshare` and either
root or unprivileged user namespaces (then `--user --map-root-user` is added). Where it cannot work,
commands run without it and the process-tree sweep (`tree.py`) is the only clean-up
(docs/sandbox.md).
"""

import functools
import os
import shutil
import subprocess

PROBE_TIMEOUT = 10.0  # seconds for the one-time check that `unshare` works here


@functools.cache
def isolation_prefix() -> tuple[str, ...]:
    """argv to put in front of a command to run it in a fresh PID namespace, or `()` when that
    is not possible on this machine. Checked once per process by running `true` under it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    user = () if os.geteuid() == 0 else ("--user", "--map-root-user")
    prefix = (unshare, *user, "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private")
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=PROBE_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return ()
    return prefix if probe.returncode == 0 else ()
