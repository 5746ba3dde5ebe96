"""Atomic writing, in one place: a file goes to a temporary file beside its target, is flushed to the
disk and checked, and only then renamed over the target, so that a failure (a full disk, an encoder
that stops short, a killed process) never leaves a half-written file under the final name."""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

#: Characters of the target's name kept in a temporary file's name.
TEMP_STEM = 64
#: Length of the random part of those names (``tempfile.mkstemp``'s).
TEMP_RANDOM = 8


def atomic_write(path: Path, write: Callable[[Path], object], *, verify: Callable[[Path], None] | None = None) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    The temporary file is flushed to the disk first (a full disk shows up there at the latest),
    and ``verify(tmp)`` may check what was written: an encoder that stops short without an error
    must not leave a cut file under the final name."""
    # The temporary name must stay within the file system's 255 bytes however long the target's is.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem[:TEMP_STEM]}.", suffix=path.suffix[:TEMP_STEM], dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            write(tmp)
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            # The bare "[Errno 28] No space left on device" names no file: say which one is missing.
            if exc.errno is None:
                raise OSError(f"cannot write {path}: {exc}") from exc
            raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc
        if verify is not None:
            verify(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def stale_temporaries(path: Path) -> list[Path]:
    """The temporary files that :func:`atomic_write` leaves beside ``path`` when its process is
    killed outright (``.stem.XXXXXXXX.suffix``, private to their owner until renamed)."""
    prefix, suffix = f".{path.stem[:TEMP_STEM]}.", path.suffix[:TEMP_STEM]
    return [
        p for p in path.parent.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}") if len(p.name) == len(prefix) + TEMP_RANDOM + len(suffix) and p.is_file()
    ]
