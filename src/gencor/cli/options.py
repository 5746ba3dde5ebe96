"""Argument types, output formats and the progress bar that the commands share."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: Formats a photo can be written in (``.npy`` is for kernels only).
IMAGE_OUTPUTS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff"})
#: Formats of ``--plot`` (the same as :data:`gencor.plots.PLOT_FORMATS`; the CLI does not import
#: matplotlib until a plot is asked for).
PLOT_OUTPUTS = frozenset({".png", ".svg", ".pdf"})
#: Default of ``--quality`` (the same as :data:`gencor.io.JPEG_QUALITY`; the CLI does not import the
#: image libraries until a photo is read).
JPEG_QUALITY = 95
#: Default of ``--max-megapixels``.
MAX_MEGAPIXELS = 100.0
#: Pixels in a megapixel.
MEGAPIXEL = 1_000_000

Progress = Callable[[int, int, str], None]


def one_line_warnings() -> None:
    """Show Python warnings (a piece of metadata left out, a library's complaint) as one
    ``gencor: warning:`` line, like gencor's own, instead of a file name and a source line."""
    import warnings

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: str | None = None) -> None:
        print(f"gencor: warning: {str(message).splitlines()[0] if str(message) else category.__name__}", file=sys.stderr)

    warnings.showwarning = show


def max_pixels(args: argparse.Namespace) -> int:
    """The pixel limit of ``--max-megapixels``."""
    return int(args.max_megapixels * MEGAPIXEL)


def positive_float(text: str) -> float:
    """An argument type: a finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


#: Largest ``--max-megapixels`` accepted: ten gigapixels is beyond any photo, and a bound keeps the
#: pixel count an integer (1e308 overflowed).
MEGAPIXELS_CEILING = 1e4


def megapixels(text: str) -> float:
    """An argument type: a pixel limit in megapixels, above zero and at most :data:`MEGAPIXELS_CEILING`."""
    value = positive_float(text)
    if value > MEGAPIXELS_CEILING:
        raise argparse.ArgumentTypeError(f"expected at most {MEGAPIXELS_CEILING:g} megapixels, got {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    """An argument type: a whole number, 0 or more (seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An argument type: a whole number, 1 or more."""
    value = nonnegative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {text!r}")
    return value


def kernel_size(text: str) -> int | str:
    """``--kernel-size``: ``auto`` or an odd integer (checked against the photo later)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or an odd integer, got {text!r}") from None


def quality(text: str) -> int:
    """An argument type: JPEG quality, a whole number from 1 to 100."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 100, got {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 100, got {text!r}")
    return value


def add_common(parser: argparse.ArgumentParser, *, quiet: str = "no summary line") -> None:
    """``--quiet``, ``--quality`` and ``--max-megapixels``, which every command on photos has."""
    parser.add_argument("--quiet", action="store_true", help=quiet)
    parser.add_argument("--quality", type=quality, default=JPEG_QUALITY, metavar="Q", help=f"JPEG quality of .jpg outputs, 1 to 100 (default {JPEG_QUALITY})")
    parser.add_argument(
        "--max-megapixels",
        type=megapixels,
        default=MAX_MEGAPIXELS,
        metavar="MP",
        help=f"refuse photos larger than this, from their header, before decoding (default {MAX_MEGAPIXELS:g})",
    )


def rewrite_photo(
    source: Path, target: Path, change: Callable[[np.ndarray, int | None], tuple[np.ndarray, dict[str, Any]]], *, max_pixels: int, quality: int
) -> dict[str, Any]:
    """Read ``source``, check ``target`` before the work, and write the pixels that
    ``change(pixels, channel_axis)`` returns in the photo's mode, depth and metadata; return the
    photo's size and what ``change`` found, for ``report.csv``."""
    from gencor.io import check_format, check_output_path, read_image, write_image

    photo = read_image(source, max_pixels=max_pixels)
    out = check_output_path(target, source, suffixes=IMAGE_OUTPUTS)
    check_format(out, photo)
    height, width = photo.pixels.shape[:2]
    photo.pixels, found = change(photo.pixels, -1 if photo.is_color else None)
    write_image(out, photo, quality=quality)
    return {"width": width, "height": height, **found}


def progress_bar(quiet: bool, desc: str) -> tuple[Any, Progress | None]:
    """A tqdm bar over the estimator's steps and its callback, or ``(None, None)`` when quiet or
    when stderr is not a terminal (a log would get hundreds of updates; it gets the summary line)."""
    if quiet or not sys.stderr.isatty():
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=0, desc=desc, unit="step", leave=False, file=sys.stderr)

    def update(done: int, total: int, phase: str) -> None:
        bar.total = total
        bar.set_postfix_str(phase)
        bar.update(done - bar.n)

    return bar, update
