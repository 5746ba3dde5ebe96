"""Checks on an output before any work starts: its folder, its suffix, the input it must not
overwrite, and whether its format can hold the photo."""

from __future__ import annotations

import os
from pathlib import Path

from gencor.io.formats import JPEG_SUFFIXES, SUFFIXES
from gencor.io.photo import Photo


def check_output_path(output: str | os.PathLike[str], *inputs: str | os.PathLike[str], suffixes: frozenset[str] | None = None) -> Path:
    """An output path whose folder exists, whose suffix we can write and which is no input."""
    out = Path(output)
    if suffixes is not None:
        if out.suffix.lower() not in suffixes:
            raise ValueError(f"unsupported output format {out.suffix!r} for {out}; use {' or '.join(sorted(suffixes))}")
    elif out.suffix.lower() not in SUFFIXES | {".npy"}:
        raise ValueError(f"unsupported output format {out.suffix!r} for {out}; use .png, .jpg, .tif or .npy")
    if not out.parent.resolve().is_dir():
        raise ValueError(f"output folder does not exist: {out.parent}")
    if out.is_dir():
        raise ValueError(f"output path is a folder: {out}")
    if not os.access(out.parent.resolve(), os.W_OK | os.X_OK):
        raise ValueError(f"cannot write in the output folder {out.parent} (permission denied)")
    if out.exists() and not os.access(out, os.W_OK):
        raise ValueError(f"output file {out} is read-only; it is kept as it is")
    for src in inputs:
        if out.resolve() == Path(src).resolve():
            raise ValueError(f"output path {out} is the input; choose another name so the input is kept")
    return out


def check_format(path: str | os.PathLike[str], photo: Photo) -> None:
    """Refuse an output format that cannot hold ``photo`` as it is (JPEG: no alpha, 8 bits only), so
    that nothing is lost without a word; the CLI calls this before the work starts."""
    path = Path(path)
    if path.suffix.lower() in JPEG_SUFFIXES:
        if photo.alpha is not None:
            raise ValueError(f"JPEG cannot hold the alpha channel of this photo; write {path.stem}.png or .tif instead")
        if photo.bit_depth != 8:
            raise ValueError(f"JPEG holds 8 bits per sample, this photo has {photo.bit_depth}; write {path.stem}.png or .tif instead")
