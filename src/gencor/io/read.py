"""Reading photos and kernels: PNG, TIFF and JPEG with readers of their own, the rest with Pillow."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import png
import tifffile
from PIL import Image

from gencor.io.formats import MAX_PIXELS, PILLOW_MODES, PNG_PALETTE, REFUSED_MODES
from gencor.io.metadata import (
    JFIF_UNITS,
    PNG_EXIF,
    PNG_ICC,
    PNG_RESOLUTION,
    PNG_TEXT,
    TAG_ICC,
    TAG_ORIENTATION,
    TAG_RESOLUTION_UNIT,
    TAG_X_RESOLUTION,
    TAG_XMP,
    TAG_Y_RESOLUTION,
    TIFF_EXIF_SIGNS,
    bytes_within_limit,
    exif_dpi,
    exif_orientation,
    or_none,
    plain_exif,
    png_dpi,
    png_icc,
    png_metadata_chunks,
    png_xmp,
    resolution_dpi,
    tiff_exif,
    turn_upright,
    valid_dpi,
)
from gencor.io.photo import Metadata, Photo
from gencor.io.sniff import described, sniff
from gencor.layout import luminance
from gencor.validate import check_positive


def _split(arr: np.ndarray, bit_depth: int, metadata: Metadata) -> Photo:
    scale = float(2**bit_depth - 1)
    data = arr.astype(float) / scale
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[..., 0]
    if data.ndim == 3 and data.shape[2] in (2, 4):
        return Photo(data[..., :-1] if data.shape[2] == 4 else data[..., 0], data[..., -1], bit_depth, metadata)
    if data.ndim == 3 and data.shape[2] != 3:
        raise ValueError(f"unsupported number of channels: {data.shape[2]}")
    return Photo(data, None, bit_depth, metadata)


def _photo(arr: np.ndarray, bit_depth: int, metadata: Metadata, orientation: int) -> Photo:
    arr, metadata = turn_upright(arr, metadata, orientation)
    return _split(arr, bit_depth, metadata)


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ValueError(f"the header gives an empty image ({width}x{height})")
    if width * height > max_pixels:
        raise ValueError(
            f"{width}x{height} is {width * height / 1e6:.3g} megapixels, above the limit of {max_pixels / 1e6:.3g} (raise it with --max-megapixels)"
        )


def _read_png(path: Path, max_pixels: int) -> Photo:
    with open(path, "rb") as fh:  # pypng leaves a file it opened itself open
        return _read_png_from(fh, path, max_pixels)


def _read_png_from(fh: BinaryIO, path: Path, max_pixels: int) -> Photo:
    reader = png.Reader(file=fh)
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
    chunks = or_none(lambda: png_metadata_chunks(path)) or {}
    metadata = Metadata(
        exif=plain_exif(chunks.get(PNG_EXIF)),
        icc=or_none(lambda: png_icc(chunks[PNG_ICC])),
        xmp=or_none(lambda: png_xmp(chunks[PNG_TEXT])),
        dpi=or_none(lambda: png_dpi(chunks[PNG_RESOLUTION])),
    )
    return _photo(arr, depth, metadata, or_none(lambda: exif_orientation(metadata.exif)) or 1)


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
        tags = page.tags

        def value(code: int) -> Any:
            tag = tags.get(code)
            return None if tag is None else tag.value

        metadata = Metadata(
            exif=or_none(lambda: tiff_exif(path)) if any(code in tags for code in TIFF_EXIF_SIGNS) else None,
            icc=bytes_within_limit(value(TAG_ICC)),
            xmp=bytes_within_limit(value(TAG_XMP)),
            dpi=or_none(lambda: resolution_dpi(value(TAG_X_RESOLUTION), value(TAG_Y_RESOLUTION), value(TAG_RESOLUTION_UNIT))),
        )
        orientation = or_none(lambda: int(value(TAG_ORIENTATION) or 1)) or 1
    if arr.ndim == 3 and arr.shape[0] in (1, 2, 3, 4) and arr.shape[2] not in (1, 2, 3, 4):
        arr = np.moveaxis(arr, 0, -1)
    if arr.dtype == np.uint8:
        return _photo(arr, 8, metadata, orientation)
    if arr.dtype == np.uint16:
        return _photo(arr, 16, metadata, orientation)
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
        info = im.info
        exif = plain_exif(info.get("exif"))
        if im.format == "JPEG" and info.get("jfif_unit") not in JFIF_UNITS:
            # Pillow falls back to 72 DPI when the EXIF holds no resolution; we keep "unknown".
            dpi = None if exif is None else or_none(lambda: exif_dpi(exif))
        else:
            dpi = valid_dpi(info.get("dpi"))
        metadata = Metadata(exif=exif, icc=bytes_within_limit(info.get("icc_profile")), xmp=bytes_within_limit(info.get("xmp")), dpi=dpi)
        return _photo(np.asarray(im), 8, metadata, or_none(lambda: exif_orientation(exif)) or 1)


def read_image(path: str | os.PathLike[str], *, max_pixels: int = MAX_PIXELS) -> Photo:
    """Read a photo, upright; any problem with the file is a one-line ``ValueError``.

    Parameters
    ----------
    path
        A PNG, JPEG, TIFF, WebP or BMP file: 8 or 16 bit, gray or RGB, with or without alpha.
    max_pixels
        Photos with more pixels are refused from their header, before decoding.

    Returns
    -------
    Photo
        ``pixels`` in [0, 1] (``(H, W)`` or ``(H, W, 3)``), ``alpha`` (or ``None``), the
        ``bit_depth`` and the ``metadata`` that :func:`write_image` carries over: EXIF (its
        orientation, already applied to the pixels, reset to 1), ICC profile, XMP and DPI.

    Raises
    ------
    ValueError
        If the file is missing, damaged, too large, or in a mode that could not be written back
        the same (palette, CMYK, multi-page TIFF, ...): the message names the conversion to make;
        or if ``max_pixels`` is not a positive finite number (a ``TypeError`` if it is no number).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from gencor import Photo, read_image, write_image
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "gray.png"
    >>> write_image(path, Photo(np.linspace(0, 1, 64 * 48).reshape(48, 64), None, 16))
    >>> photo = read_image(path)
    >>> photo.pixels.shape, photo.bit_depth, photo.is_color
    ((48, 64), 16, False)
    """
    check_positive(max_pixels, "max_pixels")  # NaN would let any size through, as would inf
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no such file: {path}")
    if not path.is_file():
        raise ValueError(f"not a file: {path}")
    try:
        kind = sniff(path)
        if kind == "png":
            return _read_png(path, max_pixels)
        if kind == "tiff":
            return _read_tiff(path, max_pixels)
        return _read_pillow(path, max_pixels)
    except ValueError as exc:
        raise ValueError(f"cannot read {path} as an image: {exc}") from None
    except MemoryError:
        raise ValueError(f"cannot read {path}: not enough memory to decode it") from None
    except Exception as exc:
        raise ValueError(f"cannot read {path} as an image ({described(exc)})") from None


def is_whole_image(path: Path) -> bool:
    """Whether ``path`` decodes to its last pixel (a JPEG, PNG or TIFF cut short does not)."""
    try:
        read_image(path, max_pixels=sys.maxsize)
    except (ValueError, OSError, MemoryError):
        return False
    return True


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
