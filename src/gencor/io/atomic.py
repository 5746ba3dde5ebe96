"""Atomic writing, in one place: a file goes to a temporary file beside its target, is flushed to the
disk and read back, and only then renamed over the target, so that a failure (a full disk, an
encoder that stops short, a killed process) never leaves a half-written file under the final name.

Every file gencor writes goes through :func:`atomic_write`: photos and kernels, reports, tables,
figures and weights. The check that reads a file back is the writer's own where it knows more (a
photo must decode to its size with gencor's readers, a text must come back byte for byte), else
the one its suffix names in :data:`READ_BACK`."""

from __future__ import annotations

import glob
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

#: Characters of the target's name kept in a temporary file's name.
TEMP_STEM = 64
#: Length of the random part of those names (``tempfile.mkstemp``'s).
TEMP_RANDOM = 8
#: How far from its end the closing mark of an SVG or PDF file is looked for.
CLOSING_BYTES = 1024


def atomic_write(path: Path, write: Callable[[Path], object], *, verify: Callable[[Path], None] | None = None) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    The temporary file is flushed to the disk first (a full disk shows up there at the latest),
    then read back: by ``verify(tmp)`` when it is given, else by the check of ``path``'s suffix in
    :data:`READ_BACK` (if it has one), so that an encoder that stops short without an error does
    not leave a cut file under the final name."""
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
        else:
            _read_back(tmp, path)
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


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (a report, a table) as UTF-8 with :func:`atomic_write`; the file must read
    back byte for byte."""
    data = text.encode("utf-8")

    def same(tmp: Path) -> None:
        if tmp.read_bytes() != data:
            raise OSError(f"cannot write {path}: the file written does not read back as written (is the disk full?)")

    atomic_write(path, lambda tmp: tmp.write_bytes(data), verify=same)


def _png_whole(tmp: Path) -> None:
    with Image.open(tmp) as im:
        im.verify()  # every chunk's CRC, up to IEND, without decoding the pixels


def _jpeg_decodes(tmp: Path) -> None:
    with Image.open(tmp) as im:
        im.load()  # a JPEG cut short fails here (verify() does not look at its data)


def _loads_npy(tmp: Path) -> None:
    np.load(tmp, allow_pickle=False)


def _loads_npz(tmp: Path) -> None:
    with np.load(tmp, allow_pickle=False) as arrays:
        for name in arrays.files:
            arrays[name]  # reading each member checks its CRC


def _parses_json(tmp: Path) -> None:
    json.loads(tmp.read_bytes())


def _zip_whole(tmp: Path) -> None:
    with zipfile.ZipFile(tmp) as archive:
        damaged = archive.testzip()
    if damaged is not None:
        raise ValueError(f"its member {damaged} is damaged")


def _ends_with(tail: bytes) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        with open(tmp, "rb") as fh:
            fh.seek(max(fh.seek(0, os.SEEK_END) - CLOSING_BYTES, 0))
            if tail not in fh.read():
                raise ValueError(f"it does not end with {tail.decode()}")

    return check


#: The read-back check of each suffix, for the writers that pass none: a PNG's chunks pass their
#: CRCs up to its end, a JPEG decodes, arrays load, JSON parses, weights (PyTorch's zip) pass
#: their CRCs, SVG and PDF end with their closing mark. Other suffixes are flushed, not read back.
READ_BACK: dict[str, Callable[[Path], None]] = {
    ".png": _png_whole,
    ".jpg": _jpeg_decodes,
    ".jpeg": _jpeg_decodes,
    ".npy": _loads_npy,
    ".npz": _loads_npz,
    ".json": _parses_json,
    ".pt": _zip_whole,
    ".svg": _ends_with(b"</svg>"),
    ".pdf": _ends_with(b"%%EOF"),
}


def _read_back(tmp: Path, path: Path) -> None:
    check = READ_BACK.get(path.suffix.lower())
    if check is None:
        return
    try:
        check(tmp)
    except Exception as exc:  # whatever the decoder raises, the file is not whole
        raise OSError(f"cannot write {path}: the file written does not read back whole (is the disk full?): {exc}") from None
