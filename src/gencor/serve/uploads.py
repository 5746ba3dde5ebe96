"""Checks on an upload before it is queued, from its first bytes and its header alone (no pixel
decoded): its format, its size in pixels and in memory, the name of its download; and the preview
the page shows of it."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from gencor.serve.options import BadRequest, Options, one_line

if TYPE_CHECKING:
    from gencor.io import Header

#: Default pixel limit of the server: far below the CLI's, since a deblur of a photo this size
#: already takes minutes and a browser shows it at full size.
DEFAULT_MAX_PIXELS = 25_000_000
#: Memory of a job on a color photo: fixed bytes plus bytes per pixel, from peaks measured on the
#: development machine and rounded up: decoding a 16-bit RGBA PNG peaks at 130 B/px; smooth and
#: sketch then take 410 B/px (at 1 MP); deblur 1.0 GiB at 1 MP and 1.4 GiB at 12 MP (its windows
#: and tiles are bounded).
MEMORY_FIXED = {"deblur": 1_200 * 2**20, "smooth": 200 * 2**20, "sketch": 200 * 2**20}
MEMORY_PER_PIXEL = {"deblur": 140, "smooth": 560, "sketch": 560}
#: Share of the machine's memory the server's jobs may take together (split between workers).
MEMORY_SHARE = 0.6
#: The machine's memory when the system does not say (bytes).
FALLBACK_MEMORY = 8 * 2**30
#: Bytes of the upload that :data:`SIGNATURES` are matched against.
SIGNATURE_BYTES = 8
#: zlib level of the preview PNGs: fast, since they are written while the user waits.
PREVIEW_COMPRESSION = 1
#: Longest download name stem kept from the uploaded file's name.
NAME_CHARS = 64

#: The uploaded bytes are kept under this stem, with a suffix from their first bytes (it picks
#: the reader of :func:`gencor.io.read_image`).
UPLOAD_STEM = "upload"
#: File signatures, for the suffix of the upload; other formats are left to Pillow.
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"II*\x00", ".tif"),
    (b"MM\x00*", ".tif"),
    (b"II+\x00", ".tif"),
    (b"MM\x00+", ".tif"),
)
OTHER_SUFFIX = ".img"

#: One upload's preview is decoded at a time: simultaneous uploads would add up their decodes.
_DECODE_LOCK = threading.Lock()


def download_stem(name: str) -> str:
    """A harmless stem for the download's name, from the uploaded file's name (never a path)."""
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:NAME_CHARS]
    return stem or "photo"


def upload_suffix(head: bytes) -> str:
    """The suffix that makes :func:`gencor.io.read_image` pick the right reader for these bytes."""
    for signature, suffix in SIGNATURES:
        if head.startswith(signature):
            return suffix
    return OTHER_SUFFIX


def write_preview(path: Path, pixels: np.ndarray, alpha: np.ndarray | None) -> None:
    """An 8-bit PNG the browser can show (the upload may be a TIFF or 16-bit)."""
    from gencor.io import atomic_write

    data = pixels if alpha is None else np.dstack([pixels, alpha])
    arr = np.round(np.clip(data, 0.0, 1.0) * 255).astype(np.uint8)
    atomic_write(path, lambda tmp: Image.fromarray(arr).save(tmp, format="PNG", compress_level=PREVIEW_COMPRESSION))


def check_photo(path: Path, max_pixels: int, job_bytes: int, opts: Options) -> Header:
    """Check the upload from its header alone (no pixel decoded): its size against ``max_pixels``
    and against the memory one job may take, and that it fits the task. The worker decodes it."""
    from gencor.io import read_header
    from gencor.validate import MIN_SIDE

    try:
        header = read_header(path)
    except ValueError as exc:
        message = one_line(exc).replace(f"'{path}'", "the upload").replace(str(path), "the upload")
        if "UnidentifiedImageError" in message:
            message = "the file is not an image gencor can read (PNG, JPEG, TIFF, WebP or BMP)"
        raise BadRequest(message) from None
    width, height = header.width, header.height
    if width * height > max_pixels:
        megapixels = width * height / 1e6
        raise BadRequest(f"{width}x{height} is {megapixels:.3g} megapixels, above the limit of {max_pixels / 1e6:.3g} (the server's --max-megapixels)")
    if min(height, width) < MIN_SIDE:
        raise BadRequest(f"the photo is {width}x{height}; gencor needs at least {MIN_SIDE}x{MIN_SIDE}")
    if opts.task == "sketch" and opts.color and header.channels == 1:
        raise BadRequest("colored pencil needs a color photo; this one is gray")
    need = job_memory(opts.task, width * height)
    if need > job_bytes:
        most = (job_bytes - MEMORY_FIXED[opts.task]) / MEMORY_PER_PIXEL[opts.task]
        raise BadRequest(
            f"{opts.task} on {width}x{height} would take about {need / 2**30:.1f} GiB, more than one job may use here "
            f"({job_bytes / 2**30:.1f} GiB); at most about {max(most, 0) / 1e6:.1f} megapixels",
            status=413,
        )
    return header


def job_memory(task: str, pixels: int) -> int:
    """Bytes a job of ``task`` takes on a color photo of ``pixels`` (measured peaks, rounded up)."""
    return int(MEMORY_FIXED[task] + MEMORY_PER_PIXEL[task] * pixels)


def default_job_bytes(workers: int) -> int:
    """The memory one job may take: a share of the machine's memory, split between the workers."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = FALLBACK_MEMORY
    return int(MEMORY_SHARE * total / max(workers, 1))


def make_preview(source: Path, target: Path) -> None:
    """The 8-bit PNG the page shows of the upload, one at a time (:data:`_DECODE_LOCK`): Pillow
    decodes straight to 8 bits (about 4 bytes a pixel where the float photo takes 32 and more);
    what Pillow cannot read goes through :func:`gencor.io.read_image`."""
    from gencor.io import atomic_write, read_image

    with _DECODE_LOCK:
        try:
            with Image.open(source) as im:
                im.load()
                rgb = im.convert("RGBA" if "A" in im.getbands() else "RGB")
            atomic_write(target, lambda tmp: rgb.save(tmp, format="PNG", compress_level=PREVIEW_COMPRESSION))
        except Exception:
            try:
                photo = read_image(source)
            except ValueError as exc:
                raise BadRequest(one_line(exc).replace(str(source), "the upload")) from None
            write_preview(target, photo.pixels, photo.alpha)
