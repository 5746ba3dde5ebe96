"""Reading and writing photos: 8/16-bit PNG, JPEG and TIFF; gray, RGB, or with alpha.

Images come in as floats in [0, 1] with the alpha plane kept apart, and go out in the input's
mode and bit depth. Every write goes to a temporary file in the target folder first and is then
renamed over the target, so a failure never leaves a half-written file.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import png
import tifffile
from PIL import Image

from gencor.layout import luminance

#: Largest photo read by default (pixels): decoding is refused above it, from the header, before
#: any memory is spent (a few KB of PNG or WebP can declare billions of pixels).
MAX_PIXELS = 100_000_000

#: PNG colour type of palette images.
PNG_PALETTE = 3
#: Pillow modes read as they are; any other mode is refused rather than silently converted.
PILLOW_MODES = {"L": "gray", "LA": "gray + alpha", "RGB": "RGB", "RGBA": "RGBA"}
#: What to tell the user about the modes that are refused.
REFUSED_MODES = {
    "P": "a palette image; convert it to RGB first",
    "PA": "a palette image; convert it to RGBA first",
    "CMYK": "a CMYK image; convert it to RGB first",
    "1": "a 1-bit image; convert it to 8-bit gray first",
    "I;16": "a 16-bit image in a format gencor writes only at 8 bits; convert it to a 16-bit PNG or TIFF first",
    "I": "a 32-bit integer image; convert it to a 16-bit PNG or TIFF first",
    "F": "a floating-point image; convert it to a 16-bit PNG or TIFF first",
}

PNG_SUFFIXES = {".png"}
JPEG_SUFFIXES = {".jpg", ".jpeg"}
TIFF_SUFFIXES = {".tif", ".tiff"}
SUFFIXES = PNG_SUFFIXES | JPEG_SUFFIXES | TIFF_SUFFIXES


@dataclass
class Photo:
    """Pixels in [0, 1] as ``(H, W)`` or ``(H, W, 3)``, an optional alpha plane, and the bit depth."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int

    @property
    def is_color(self) -> bool:
        return self.pixels.ndim == 3


def _split(arr: np.ndarray, bit_depth: int) -> Photo:
    scale = float(2**bit_depth - 1)
    data = arr.astype(float) / scale
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[..., 0]
    if data.ndim == 3 and data.shape[2] in (2, 4):
        return Photo(data[..., :-1] if data.shape[2] == 4 else data[..., 0], data[..., -1], bit_depth)
    if data.ndim == 3 and data.shape[2] != 3:
        raise ValueError(f"unsupported number of channels: {data.shape[2]}")
    return Photo(data, None, bit_depth)


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ValueError(f"the header gives an empty image ({width}x{height})")
    if width * height > max_pixels:
        raise ValueError(
            f"{width}x{height} is {width * height / 1e6:.0f} megapixels, above the limit of {max_pixels / 1e6:.0f} (raise it with --max-megapixels)"
        )


def _read_png(path: Path, max_pixels: int) -> Photo:
    reader = png.Reader(filename=str(path))
    reader.preamble()
    _check_pixels(reader.width, reader.height, max_pixels)
    stored = reader.bitdepth  # what the file holds: 1, 2, 4, 8 or 16 bits per sample
    if reader.color_type == PNG_PALETTE:
        raise ValueError("a palette image; convert it to RGB first, so the restored colours are not forced back onto the palette")
    if stored < 8:
        raise ValueError(f"a {stored}-bit image; convert it to 8-bit gray first")
    if reader.transparent is not None:
        raise ValueError("transparency given by one key colour (tRNS); convert it to an alpha channel (RGBA or gray + alpha) first")
    width, height, rows, info = reader.asDirect()
    planes = info["planes"]
    arr = np.vstack([np.asarray(r, dtype=np.uint16) for r in rows]).reshape(height, width, planes)
    # asDirect gives the significant bits only (sBIT): back to the stored range, so that a 16-bit
    # photo stays 16-bit and its values keep their brightness.
    depth = 16 if stored == 16 else 8
    if info["bitdepth"] != depth:
        arr = np.round(arr.astype(float) * (2**depth - 1) / (2 ** info["bitdepth"] - 1)).astype(np.uint16)
    return _split(arr, depth)


def _read_tiff(path: Path, max_pixels: int) -> Photo:
    # tifffile logs what it finds wrong with a damaged file; we report it in one line instead.
    log = logging.getLogger("tifffile")
    level = log.level
    log.setLevel(logging.CRITICAL + 1)
    try:
        return _read_tiff_quietly(path, max_pixels)
    finally:
        log.setLevel(level)


def _read_tiff_quietly(path: Path, max_pixels: int) -> Photo:
    with tifffile.TiffFile(str(path)) as tif:
        if len(tif.pages) != 1:
            raise ValueError(f"a multi-page TIFF ({len(tif.pages)} pages); gencor reads one image per file: split the pages first")
        page = tif.pages.first  # always a full page (later ones may be reduced frames)
        if page.photometric == tifffile.PHOTOMETRIC.MINISWHITE:
            raise ValueError("a TIFF with inverted gray (MinIsWhite); convert it to MinIsBlack first")
        jpeg_rgb = page.photometric == tifffile.PHOTOMETRIC.YCBCR and page.compression == tifffile.COMPRESSION.JPEG  # decoded to RGB
        if page.photometric not in (tifffile.PHOTOMETRIC.MINISBLACK, tifffile.PHOTOMETRIC.RGB) and not jpeg_rgb:
            raise ValueError(f"a {tifffile.PHOTOMETRIC(page.photometric).name} TIFF; convert it to gray or RGB first")
        _check_pixels(int(page.imagewidth), int(page.imagelength), max_pixels)
        arr = page.asarray()
    if arr.ndim == 3 and arr.shape[0] in (1, 2, 3, 4) and arr.shape[2] not in (1, 2, 3, 4):
        arr = np.moveaxis(arr, 0, -1)
    if arr.dtype == np.uint8:
        return _split(arr, 8)
    if arr.dtype == np.uint16:
        return _split(arr, 16)
    raise ValueError(f"unsupported TIFF sample type {arr.dtype}; use 8- or 16-bit integers")


def _read_pillow(path: Path, max_pixels: int) -> Photo:
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # our own limit applies, with its own message
    try:
        im = Image.open(path)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    with im:
        _check_pixels(*im.size, max_pixels)
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            raise ValueError(f"an animation or stack of {frames} frames; gencor reads one image per file")
        if im.mode not in PILLOW_MODES:
            raise ValueError(REFUSED_MODES.get(im.mode, f"an image in mode {im.mode}; convert it to RGB or gray first"))
        if "transparency" in im.info:
            raise ValueError("transparency given by one key colour; convert it to an alpha channel (RGBA or gray + alpha) first")
        im.load()
        return _split(np.asarray(im), 8)


def read_image(path: str | os.PathLike[str], *, max_pixels: int = MAX_PIXELS) -> Photo:
    """Read a photo; any problem with the file is a one-line ``ValueError``.

    Photos above ``max_pixels`` are refused from their header, before decoding."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no such file: {path}")
    if not path.is_file():
        raise ValueError(f"not a file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in PNG_SUFFIXES:
            return _read_png(path, max_pixels)
        if suffix in TIFF_SUFFIXES:
            return _read_tiff(path, max_pixels)
        return _read_pillow(path, max_pixels)
    except ValueError as exc:
        raise ValueError(f"cannot read {path} as an image: {exc}") from None
    except MemoryError:
        raise ValueError(f"cannot read {path}: not enough memory to decode it") from None
    except Exception as exc:
        raise ValueError(f"cannot read {path} as an image ({type(exc).__name__}: {exc})") from None


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


#: Characters of the target's name kept in a temporary file's name.
TEMP_STEM = 64


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``."""
    # The temporary name must stay within the file system's 255 bytes however long the target's is.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem[:TEMP_STEM]}.", suffix=path.suffix[:TEMP_STEM], dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _to_int(data: np.ndarray, bit_depth: int) -> np.ndarray:
    scale = 2**bit_depth - 1
    return np.round(np.clip(data, 0.0, 1.0) * scale).astype(np.uint16 if bit_depth == 16 else np.uint8)


def check_format(path: str | os.PathLike[str], photo: Photo) -> None:
    """Refuse an output format that cannot hold ``photo`` as it is (JPEG: no alpha, 8 bits only), so
    that nothing is lost without a word; the CLI calls this before the work starts."""
    path = Path(path)
    if path.suffix.lower() in JPEG_SUFFIXES:
        if photo.alpha is not None:
            raise ValueError(f"JPEG cannot hold the alpha channel of this photo; write {path.stem}.png or .tif instead")
        if photo.bit_depth != 8:
            raise ValueError(f"JPEG holds 8 bits per sample, this photo has {photo.bit_depth}; write {path.stem}.png or .tif instead")


def write_image(path: str | os.PathLike[str], photo: Photo) -> None:
    """Write ``photo`` atomically in the format given by the suffix (JPEG is always 8-bit)."""
    path = Path(path)
    suffix = path.suffix.lower()
    data = photo.pixels
    if photo.alpha is not None:
        data = np.dstack([data, photo.alpha])
    check_format(path, photo)
    if suffix in JPEG_SUFFIXES:
        arr = _to_int(photo.pixels, 8)

        def write(tmp: Path) -> None:
            Image.fromarray(arr).save(tmp, format="JPEG", quality=95)

    elif suffix in PNG_SUFFIXES:
        arr = _to_int(data, photo.bit_depth)
        planes = 1 if arr.ndim == 2 else arr.shape[2]

        def write(tmp: Path) -> None:
            writer = png.Writer(
                width=arr.shape[1],
                height=arr.shape[0],
                greyscale=planes in (1, 2),
                alpha=planes in (2, 4),
                bitdepth=photo.bit_depth,
            )
            with open(tmp, "wb") as fh:
                writer.write(fh, arr.reshape(arr.shape[0], -1))

    elif suffix in TIFF_SUFFIXES:
        arr = _to_int(data, photo.bit_depth)

        def write(tmp: Path) -> None:
            tifffile.imwrite(
                tmp,
                arr,
                photometric="rgb" if photo.is_color else "minisblack",
                extrasamples=["unassalpha"] if photo.alpha is not None else None,
            )

    else:
        raise ValueError(f"unsupported output format {suffix!r}; use .png, .jpg or .tif")
    atomic_write(path, write)


def write_kernel(path: str | os.PathLike[str], kernel: np.ndarray) -> None:
    """``.npy``: the float kernel (sums to 1); an image suffix: a preview scaled to its maximum."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        atomic_write(path, lambda tmp: np.save(tmp, kernel))
    else:
        write_image(path, Photo(kernel / kernel.max(), None, 8))


def read_kernel(path: str | os.PathLike[str]) -> np.ndarray:
    """A kernel from ``.npy`` (as saved by ``--save-kernel``) or from a gray image."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        try:
            with warnings.catch_warnings():  # a damaged header also makes the parser warn
                warnings.simplefilter("ignore")
                return np.load(path, allow_pickle=False)
        except MemoryError:
            raise ValueError(f"cannot read kernel {path}: its header declares more data than fits in memory") from None
        except Exception as exc:
            raise ValueError(f"cannot read kernel {path} ({type(exc).__name__}: {exc})") from None
    photo = read_image(path)
    return luminance(photo.pixels)
