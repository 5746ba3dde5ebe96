"""Writing photos and kernels atomically, in the input's mode and bit depth, with the metadata the
format can hold; each file is decoded back before it takes the output's name."""

from __future__ import annotations

import numbers
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import png
import tifffile
from PIL import Image

from gencor.io.atomic import atomic_write
from gencor.io.formats import JPEG_QUALITY, JPEG_QUALITY_MAX, JPEG_QUALITY_MIN, JPEG_SUFFIXES, PNG_SUFFIXES, TIFF_SUFFIXES
from gencor.io.metadata import (
    EXIF_HEADER,
    EXIF_TEXT_TAGS,
    TAG_ICC,
    TAG_SOFTWARE,
    TAG_XMP,
    TIFF_ASCII,
    TIFF_BYTE,
    TIFF_LONG,
    TIFF_SUB_IFD_SLOTS,
    TIFF_UNDEFINED,
    link_sub_ifds,
    load_exif,
    png_chunks,
    sub_ifds,
    writable,
    write_keeping_what_fits,
)
from gencor.io.outputs import check_format
from gencor.io.photo import Metadata, Photo
from gencor.io.read import read_image
from gencor.validate import RANGE_TOLERANCE, check_integer


def _to_int(data: np.ndarray, bit_depth: int) -> np.ndarray:
    scale = 2**bit_depth - 1
    return np.round(np.clip(data, 0.0, 1.0) * scale).astype(np.uint16 if bit_depth == 16 else np.uint8)


def _write_jpeg(tmp: Path, arr: np.ndarray, metadata: Metadata, quality: int) -> None:
    options: dict[str, Any] = {}
    if metadata.exif is not None:
        options["exif"] = EXIF_HEADER + metadata.exif
    if metadata.icc is not None:
        options["icc_profile"] = metadata.icc
    if metadata.xmp is not None:
        options["xmp"] = metadata.xmp
    if metadata.dpi is not None:
        options["dpi"] = metadata.dpi
    Image.fromarray(arr).save(tmp, format="JPEG", quality=quality, **options)


class _PngWriter(png.Writer):
    """pypng's writer with extra chunks after the header, where metadata must be: before the image
    data (``iCCP`` must be)."""

    def __init__(self, *args: Any, chunks: list[tuple[bytes, bytes]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chunks = chunks

    def write_preamble(self, outfile: Any) -> None:
        super().write_preamble(outfile)
        for kind, data in self.chunks:
            png.write_chunk(outfile, kind, data)


def _write_png(tmp: Path, arr: np.ndarray, bit_depth: int, metadata: Metadata) -> None:
    planes = 1 if arr.ndim == 2 else arr.shape[2]
    writer = _PngWriter(
        width=arr.shape[1],
        height=arr.shape[0],
        greyscale=planes in (1, 2),
        alpha=planes in (2, 4),
        bitdepth=bit_depth,
        chunks=png_chunks(metadata),
    )
    with open(tmp, "wb") as fh:
        writer.write(fh, arr.reshape(arr.shape[0], -1))


def _write_tiff(tmp: Path, arr: np.ndarray, photo: Photo, metadata: Metadata) -> None:
    extratags: list[tuple[int, int, int, Any, bool]] = []
    if metadata.icc is not None:
        extratags.append((TAG_ICC, TIFF_UNDEFINED, len(metadata.icc), metadata.icc, True))
    if metadata.xmp is not None:
        extratags.append((TAG_XMP, TIFF_BYTE, len(metadata.xmp), metadata.xmp, True))
    software: bytes | bool | None = None  # None: tifffile names itself
    subs: dict[int, dict[int, Any]] = {}
    if metadata.exif is not None:
        exif = load_exif(metadata.exif)
        software = False  # the first IFD's text comes from the EXIF, Software included
        for code in EXIF_TEXT_TAGS:
            if isinstance(text := exif.get(code), str):
                if code == TAG_SOFTWARE:
                    software = text.encode("latin-1")
                else:
                    extratags.append((code, TIFF_ASCII, 0, text.encode("latin-1"), True))
        subs = sub_ifds(exif)
        extratags += [(slot, TIFF_LONG, 1, 0, True) for code, slot in TIFF_SUB_IFD_SLOTS.items() if code in subs]
    tifffile.imwrite(
        tmp,
        arr,
        photometric="rgb" if photo.is_color else "minisblack",
        extrasamples=["unassalpha"] if photo.alpha is not None else None,
        extratags=extratags,
        resolution=metadata.dpi,
        resolutionunit="INCH" if metadata.dpi is not None else None,
        software=software,
    )
    if subs:
        link_sub_ifds(tmp, subs)


#: Bit depths a photo is written in.
BIT_DEPTHS = (8, 16)
#: Dimensions of a grid of local kernels, ``(rows, cols, k, k)``.
GRID_NDIM = 4


def check_photo(photo: object) -> Photo:
    """``photo`` if it is a :class:`Photo` that can be written as it is: a bare array, or pixels
    outside [0, 1] (0-255), would otherwise fail deep in an encoder or be clipped to white."""
    if not isinstance(photo, Photo):
        raise TypeError(f"photo must be a gencor.Photo (e.g. Photo(pixels, None, 8)), got {type(photo).__name__}")
    if check_integer(photo.bit_depth, "photo.bit_depth") not in BIT_DEPTHS:
        raise ValueError(f"photo.bit_depth must be 8 or 16, got {photo.bit_depth!r}")
    pixels, alpha = photo.pixels, photo.alpha
    for name, plane in (("pixels", pixels), ("alpha", alpha)):
        if plane is None and name == "alpha":
            continue
        if not isinstance(plane, np.ndarray) or not (np.issubdtype(plane.dtype, np.floating) or np.issubdtype(plane.dtype, np.integer)):
            raise TypeError(f"photo.{name} must be a real numeric NumPy array, got {type(plane).__name__} {getattr(plane, 'dtype', '')}".rstrip())
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3) or 0 in pixels.shape:
        raise ValueError(f"photo.pixels must be (H, W) or (H, W, 3), got shape {pixels.shape}")
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        raise ValueError(f"photo.alpha must have the pixels' shape {pixels.shape[:2]}, got {alpha.shape}")
    for name, plane in (("pixels", pixels), ("alpha", alpha)):
        if plane is not None and not (np.all(np.isfinite(plane)) and plane.min() >= -RANGE_TOLERANCE and plane.max() <= 1 + RANGE_TOLERANCE):
            raise ValueError(f"photo.{name} must be finite values in [0, 1]")
    return photo


def write_image(path: str | os.PathLike[str], photo: Photo, *, quality: int = JPEG_QUALITY) -> None:
    """Write ``photo`` atomically (a temporary file beside ``path``, then a rename) in the format
    given by the suffix, with its metadata where the format can hold it (see :mod:`gencor.io`).

    Parameters
    ----------
    path
        ``.png``, ``.jpg``/``.jpeg`` or ``.tif``/``.tiff``.
    photo
        Pixels in [0, 1], alpha, bit depth (8 or 16; JPEG is always 8-bit) and metadata.
    quality
        JPEG quality, 1 to 100 (PNG and TIFF are lossless and ignore it).

    Raises
    ------
    TypeError
        If ``photo`` is no :class:`Photo` (a bare array included) or its planes are no numeric arrays.
    ValueError
        If the format is unknown, cannot hold the photo (alpha or 16 bits in a JPEG), the folder
        is missing or not writable, ``quality`` is out of range, or the photo's pixels are not
        finite values in [0, 1] of shape ``(H, W)`` or ``(H, W, 3)``. A piece of metadata that
        cannot be written is left out with a :class:`MetadataWarning` instead.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from gencor import Photo, read_image, write_image
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rgb = np.random.default_rng(0).uniform(size=(32, 32, 3))
    >>> write_image(folder / "small.jpg", Photo(rgb, None, 8), quality=30)
    >>> read_image(folder / "small.jpg").pixels.shape
    (32, 32, 3)
    """
    if isinstance(quality, bool) or not isinstance(quality, numbers.Integral) or not JPEG_QUALITY_MIN <= quality <= JPEG_QUALITY_MAX:
        raise ValueError(f"JPEG quality must be a whole number from {JPEG_QUALITY_MIN} to {JPEG_QUALITY_MAX}, not {quality!r}")
    quality = int(quality)
    check_photo(photo)
    path = Path(path)
    suffix = path.suffix.lower()
    data = photo.pixels
    if photo.alpha is not None:
        data = np.dstack([data, photo.alpha])
    check_format(path, photo)
    write: Callable[[Path, Metadata], None]
    if suffix in JPEG_SUFFIXES:
        arr = _to_int(photo.pixels, 8)

        def write(tmp: Path, metadata: Metadata) -> None:
            _write_jpeg(tmp, arr, metadata, quality)

    elif suffix in PNG_SUFFIXES:
        arr = _to_int(data, photo.bit_depth)

        def write(tmp: Path, metadata: Metadata) -> None:
            _write_png(tmp, arr, photo.bit_depth, metadata)

    elif suffix in TIFF_SUFFIXES:
        arr = _to_int(data, photo.bit_depth)

        def write(tmp: Path, metadata: Metadata) -> None:
            _write_tiff(tmp, arr, photo, metadata)

    else:
        raise ValueError(f"unsupported output format {suffix!r}; use .png, .jpg or .tif")
    metadata = writable(photo.metadata, path)
    atomic_write(path, lambda tmp: write_keeping_what_fits(tmp, metadata, write, path), verify=lambda tmp: _check_whole(tmp, path, photo.pixels.shape))


def _check_whole(tmp: Path, path: Path, shape: tuple[int, ...]) -> None:
    """Decode the file just written back, to its last pixel: an encoder that stops early on a full
    disk (some return without an error) must not leave a cut file under the output's name."""
    try:
        back = read_image(tmp, max_pixels=sys.maxsize).pixels.shape
    except (ValueError, OSError) as exc:
        raise OSError(f"cannot write {path}: the file written does not decode back whole (is the disk full?): {exc}") from None
    # A rotation in the EXIF orientation of a photo made in code turns the pixels read back.
    if sorted(back[:2]) != sorted(shape[:2]):
        raise OSError(f"cannot write {path}: the file written decodes to {back[:2]} pixels, not {shape[:2]}")


def write_kernel(path: str | os.PathLike[str], kernel: np.ndarray) -> None:
    """``.npy``: the float kernel (sums to 1), loaded back before it takes the name; an image
    suffix: a preview scaled to its maximum. ``kernel`` is finite and non-negative, 2-D, or in
    ``.npy`` also a ``(rows, cols, k, k)`` grid of local kernels."""
    path = Path(path)
    npy = path.suffix.lower() == ".npy"
    if not isinstance(kernel, np.ndarray) or not (np.issubdtype(kernel.dtype, np.floating) or np.issubdtype(kernel.dtype, np.integer)):
        raise TypeError(f"kernel must be a real numeric NumPy array, got {type(kernel).__name__} {getattr(kernel, 'dtype', '')}".rstrip())
    if kernel.ndim not in ((2, GRID_NDIM) if npy else (2,)) or kernel.size == 0:
        shapes = "a 2-D array or a (rows, cols, k, k) grid" if npy else "a 2-D array (a grid of kernels goes to .npy)"
        raise ValueError(f"kernel must be {shapes}, got shape {kernel.shape}")
    if not (np.all(np.isfinite(kernel)) and kernel.min() >= 0 and kernel.max() > 0):
        raise ValueError("kernel must be finite and non-negative, with a positive sum")
    if npy:
        atomic_write(path, lambda tmp: _save_npy(tmp, kernel))
    else:
        write_image(path, Photo(kernel / kernel.max(), None, 8))


def _save_npy(tmp: Path, array: np.ndarray) -> None:
    """``np.save`` into the file itself: given a name, it appends ``.npy`` to any other suffix
    (``.NPY`` included) and the temporary file would stay empty."""
    with open(tmp, "wb") as fh:
        np.save(fh, array)
