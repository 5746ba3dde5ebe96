"""Reading and writing photos: 8/16-bit PNG, JPEG and TIFF; gray, RGB, or with alpha.

Images come in as floats in [0, 1] with the alpha plane kept apart, and go out in the input's
mode and bit depth. Every write goes to a temporary file in the target folder first and is then
renamed over the target, so a failure never leaves a half-written file.

Photos stay photos: the EXIF orientation is applied on read (the pixels come in upright and the
orientation carried on is reset to 1), and the EXIF, ICC profile, XMP packet and resolution (DPI)
of the input travel in :class:`Metadata` to the output. What each output format holds:

- JPEG: all four (EXIF and XMP up to one 64 KB segment each; the ICC profile in as many
  segments as it needs; the DPI as whole numbers in the JFIF header).
- PNG: all four, as ``eXIf``, ``iCCP``, ``iTXt`` (``XML:com.adobe.xmp``) and ``pHYs`` chunks
  (``pHYs`` holds whole dots per metre, so a whole DPI comes back whole).
- TIFF: ICC (tag 34675), XMP (tag 700) and the resolution as they are. EXIF in part: Make,
  Model, Software, DateTime, Artist and Copyright of the first IFD and the Exif, GPS and Interop
  IFDs, re-encoded (text outside ASCII becomes ``?``, maker notes that point outside themselves
  may break); not the thumbnail IFD, nor ImageDescription, which TIFF writers fill with their own
  data. EXIF is not written into BigTIFF (files above 4 GB).

Orientation is read from the EXIF of JPEG, PNG (``eXIf``), WebP and the other formats Pillow
reads, and from the Orientation tag (274) of TIFF. A piece of metadata that cannot be read is
ignored; one that cannot be written (too long for a JPEG segment, malformed) is left out with a
:class:`MetadataWarning`: metadata never stops a photo from being read or written.
"""

from __future__ import annotations

import glob
import logging
import math
import numbers
import os
import re
import struct
import sys
import tempfile
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np
import png
import tifffile
from PIL import Image, TiffImagePlugin

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

#: JPEG quality written unless asked otherwise: high enough that restored detail is not lost again.
JPEG_QUALITY = 95
#: JPEG qualities accepted (Pillow's scale).
JPEG_QUALITY_MIN, JPEG_QUALITY_MAX = 1, 100

#: Largest piece of metadata read (an ICC profile, an XMP packet, an EXIF block), in bytes: real
#: ones are a few MB at most, and a damaged file must not make us inflate gigabytes.
MAX_METADATA_BYTES = 32 * 2**20
#: What precedes the EXIF block in a JPEG APP1 segment (and in Pillow's ``info["exif"]``).
EXIF_HEADER = b"Exif\x00\x00"
#: The byte-order marks that open a TIFF-structured EXIF block, as ``struct`` byte orders.
TIFF_BYTE_ORDERS = {b"II*\x00": "<", b"MM\x00*": ">"}
#: Tag codes of EXIF and TIFF.
TAG_ORIENTATION = 274
TAG_X_RESOLUTION, TAG_Y_RESOLUTION, TAG_RESOLUTION_UNIT = 282, 283, 296
TAG_SOFTWARE = 305
TAG_XMP = 700
TAG_ICC = 34675
TAG_EXIF_IFD, TAG_GPS_IFD, TAG_INTEROP_IFD = 34665, 34853, 40965
#: TIFF field types.
TIFF_BYTE, TIFF_ASCII, TIFF_SHORT, TIFF_LONG, TIFF_UNDEFINED = 1, 2, 3, 4, 7
#: Resolution units of EXIF and TIFF (ResolutionUnit): per inch (the default) and per centimetre.
UNIT_INCH, UNIT_CM = 2, 3
CM_PER_INCH = 2.54
METRES_PER_INCH = 0.0254
#: JFIF density units that give a resolution (per inch, per centimetre); 0 gives an aspect only.
JFIF_UNITS = {1: 1.0, 2: CM_PER_INCH}

#: EXIF orientation -> (transpose, flip rows, flip columns) that turns the stored pixels upright,
#: as ``PIL.ImageOps.exif_transpose`` does; 1 is upright already.
UPRIGHT = {
    1: (False, False, False),
    2: (False, False, True),
    3: (False, True, True),
    4: (False, True, False),
    5: (True, False, False),
    6: (True, False, True),
    7: (True, True, True),
    8: (True, True, False),
}
#: XMP's copy of the orientation (attribute and element forms), reset with the EXIF one so that
#: no viewer turns an upright photo again.
XMP_ORIENTATION = (
    re.compile(rb"(tiff:Orientation\s*=\s*[\"'])\s*\d+\s*([\"'])"),
    re.compile(rb"(<tiff:Orientation>)\s*\d+\s*(</tiff:Orientation>)"),
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG chunks that hold metadata.
PNG_EXIF, PNG_ICC, PNG_TEXT, PNG_RESOLUTION = b"eXIf", b"iCCP", b"iTXt", b"pHYs"
#: The ``iTXt`` keyword under which the XMP packet is stored (XMP specification, part 3).
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
#: Name given to the profile in ``iCCP`` (the chunk needs one; readers ignore it).
PNG_ICC_NAME = b"ICC profile"
#: ``pHYs`` unit of dots per metre (the other unit, 0, gives an aspect ratio only).
PNG_UNIT_METRE = 1
#: ``pHYs`` holds whole dots per metre: a DPI this close to a whole number was one.
PNG_DPI_SNAP = 0.5 * METRES_PER_INCH

#: First-IFD text tags carried between EXIF and TIFF: Make, Model, Software, DateTime, Artist,
#: Copyright.
EXIF_TEXT_TAGS = (271, 272, TAG_SOFTWARE, 306, 315, 33432)
#: Tags of a TIFF that show it has EXIF to carry (Software alone does not: tifffile writes its name).
TIFF_EXIF_SIGNS = tuple(code for code in (*EXIF_TEXT_TAGS, TAG_EXIF_IFD, TAG_GPS_IFD) if code != TAG_SOFTWARE)
#: Sub-IFDs carried into TIFF, each with the tag that holds its place until the file is patched
#: (tifffile writes no IFD pointers); one below the real code, so that the tags stay sorted.
TIFF_SUB_IFD_SLOTS = {TAG_EXIF_IFD: TAG_EXIF_IFD - 1, TAG_GPS_IFD: TAG_GPS_IFD - 1}
#: Classic TIFF offsets are 32-bit.
CLASSIC_TIFF_LIMIT = 2**32

T = TypeVar("T")


class MetadataWarning(UserWarning):
    """A piece of metadata that could not be written and was left out."""


@dataclass(frozen=True)
class Metadata:
    """What a photo carries besides its pixels, from the input file to the output file.

    Kept as the file's own bytes, so that what gencor does not interpret passes on unchanged.

    Attributes
    ----------
    exif
        The EXIF block in TIFF layout (byte-order mark first, without JPEG's ``Exif\\0\\0``). When
        :func:`read_image` turned the pixels upright, its orientation says 1.
    icc
        The ICC colour profile.
    xmp
        The XMP packet (UTF-8 XML); its ``tiff:Orientation`` is reset with the EXIF one.
    dpi
        Horizontal and vertical pixels per inch.
    """

    exif: bytes | None = None
    icc: bytes | None = None
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None


#: What each field is called in a warning.
METADATA_NAMES = {"exif": "EXIF", "icc": "ICC profile", "xmp": "XMP", "dpi": "resolution (DPI)"}


@dataclass
class Photo:
    """Pixels in [0, 1] as ``(H, W)`` or ``(H, W, 3)``, an optional alpha plane, the bit depth,
    and the metadata that goes on to the output."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    metadata: Metadata = field(default_factory=Metadata)

    @property
    def is_color(self) -> bool:
        return self.pixels.ndim == 3


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


def _or_none(read: Callable[[], T | None]) -> T | None:
    """``read()``, or None when it fails: damaged metadata is ignored, never a reason to refuse a photo."""
    try:
        return read()
    except Exception:
        return None


def _plain_exif(exif: object) -> bytes | None:
    """An EXIF block in TIFF layout, from bytes with or without JPEG's header; None if it is not one."""
    if not isinstance(exif, bytes):
        return None
    exif = exif.removeprefix(EXIF_HEADER)
    return exif if exif[:4] in TIFF_BYTE_ORDERS and len(exif) <= MAX_METADATA_BYTES else None


def _orientation_at(exif: bytes) -> tuple[int, str] | None:
    """Where the orientation value sits in an EXIF block, and its byte order, if it sits where the
    standard puts it: one SHORT in the first IFD."""
    order = TIFF_BYTE_ORDERS.get(exif[:4])
    if order is None or len(exif) < 8:
        return None
    (ifd,) = struct.unpack_from(order + "I", exif, 4)
    if ifd + 2 > len(exif):
        return None
    (count,) = struct.unpack_from(order + "H", exif, ifd)
    for entry in range(ifd + 2, min(ifd + 2 + 12 * count, len(exif) - 11), 12):
        tag, kind, n = struct.unpack_from(order + "HHI", exif, entry)
        if tag == TAG_ORIENTATION:
            return (entry + 8, order) if kind == TIFF_SHORT and n == 1 else None
    return None


def _exif_orientation(exif: bytes | None) -> int:
    """The EXIF orientation (1 to 8); 1 when there is none or it is not a valid one."""
    at = _orientation_at(exif) if exif else None
    if exif is None or at is None:
        return 1
    (value,) = struct.unpack_from(at[1] + "H", exif, at[0])
    return value if value in UPRIGHT else 1


def _exif_upright(exif: bytes) -> bytes:
    """The EXIF block with its orientation set to 1, in place: every other byte is kept, so maker
    notes and thumbnails survive."""
    at = _orientation_at(exif)
    if at is None:
        return exif
    return exif[: at[0]] + struct.pack(at[1] + "H", 1) + exif[at[0] + 2 :]


def _turn_upright(arr: np.ndarray, metadata: Metadata, orientation: int) -> tuple[np.ndarray, Metadata]:
    """The stored pixels (alpha included) turned upright, and metadata that says they are."""
    if orientation not in UPRIGHT or orientation == 1:
        return arr, metadata
    transpose, flip_rows, flip_columns = UPRIGHT[orientation]
    if transpose:
        arr = arr.swapaxes(0, 1)
    if flip_rows:
        arr = arr[::-1]
    if flip_columns:
        arr = arr[:, ::-1]
    xmp = metadata.xmp
    for pattern in XMP_ORIENTATION:
        xmp = None if xmp is None else pattern.sub(rb"\g<1>1\g<2>", xmp)
    dpi = metadata.dpi
    if transpose and dpi is not None:
        dpi = (dpi[1], dpi[0])
    exif = None if metadata.exif is None else _exif_upright(metadata.exif)
    return arr, replace(metadata, exif=exif, xmp=xmp, dpi=dpi)


def _photo(arr: np.ndarray, bit_depth: int, metadata: Metadata, orientation: int) -> Photo:
    arr, metadata = _turn_upright(arr, metadata, orientation)
    return _split(arr, bit_depth, metadata)


def _ratio(value: object) -> float:
    """A TIFF rational as tifffile (``(num, den)``) or Pillow (a number) gives it."""
    if isinstance(value, tuple) and len(value) == 2:
        return float(value[0]) / float(value[1])
    return float(value)  # type: ignore[arg-type]


def _valid_dpi(dpi: object) -> tuple[float, float] | None:
    """Two finite positive numbers, or None."""
    if not isinstance(dpi, tuple | list) or len(dpi) != 2:
        return None
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError):
        return None
    return (x, y) if all(math.isfinite(v) and v > 0 for v in (x, y)) else None


def _resolution_dpi(x: object, y: object, unit: object) -> tuple[float, float] | None:
    """DPI from an EXIF or TIFF resolution and its unit; None when it gives none (no unit)."""
    if x is None:
        return None
    per_inch = {UNIT_INCH: 1.0, UNIT_CM: CM_PER_INCH}.get(UNIT_INCH if unit is None else int(unit))  # type: ignore[call-overload]
    if per_inch is None:
        return None
    return _valid_dpi((_ratio(x) * per_inch, _ratio(x if y is None else y) * per_inch))


def _load_exif(exif: bytes) -> Image.Exif:
    tags = Image.Exif()
    tags.load(EXIF_HEADER + exif)
    return tags


def _exif_dpi(exif: bytes) -> tuple[float, float] | None:
    tags = _load_exif(exif)
    return _resolution_dpi(tags.get(TAG_X_RESOLUTION), tags.get(TAG_Y_RESOLUTION), tags.get(TAG_RESOLUTION_UNIT))


def _sub_ifds(exif: Image.Exif) -> dict[int, dict[int, Any]]:
    """The Exif IFD (with its Interop IFD) and the GPS IFD of an EXIF block, as Pillow writes them."""
    subs = {}
    for code in (TAG_EXIF_IFD, TAG_GPS_IFD):
        sub = dict(exif.get_ifd(code))
        if code == TAG_EXIF_IFD and TAG_INTEROP_IFD in sub:
            interop = dict(exif.get_ifd(TAG_INTEROP_IFD))
            if interop:
                sub[TAG_INTEROP_IFD] = interop
            else:
                del sub[TAG_INTEROP_IFD]
        if sub:
            subs[code] = sub
    return subs


def _bytes_within_limit(value: object) -> bytes | None:
    if isinstance(value, str):
        value = value.encode()
    return value if isinstance(value, bytes) and 0 < len(value) <= MAX_METADATA_BYTES else None


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
    chunks = _or_none(lambda: _png_metadata_chunks(path)) or {}
    metadata = Metadata(
        exif=_plain_exif(chunks.get(PNG_EXIF)),
        icc=_or_none(lambda: _png_icc(chunks[PNG_ICC])),
        xmp=_or_none(lambda: _png_xmp(chunks[PNG_TEXT])),
        dpi=_or_none(lambda: _png_dpi(chunks[PNG_RESOLUTION])),
    )
    return _photo(arr, depth, metadata, _or_none(lambda: _exif_orientation(metadata.exif)) or 1)


def _png_metadata_chunks(path: Path) -> dict[bytes, bytes]:
    """The first intact chunk of each metadata kind (of ``iTXt``: the XMP one), seeking past the
    image data."""
    found: dict[bytes, bytes] = {}
    with open(path, "rb") as fh:
        if fh.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
            return found
        while len(head := fh.read(8)) == 8:
            length, kind = struct.unpack(">I4s", head)
            if kind == b"IEND":
                break
            if kind not in (PNG_EXIF, PNG_ICC, PNG_TEXT, PNG_RESOLUTION) or kind in found or length > MAX_METADATA_BYTES:
                fh.seek(length + 4, os.SEEK_CUR)
                continue
            data, crc = fh.read(length), fh.read(4)
            intact = len(crc) == 4 and zlib.crc32(kind + data) == int.from_bytes(crc, "big")
            if intact and (kind != PNG_TEXT or data.startswith(PNG_XMP_KEYWORD + b"\0")):
                found[kind] = data
    return found


def _inflate(data: bytes) -> bytes | None:
    """zlib data inflated, or None when it is cut short or would pass :data:`MAX_METADATA_BYTES`."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_METADATA_BYTES)
    return out if inflater.eof and not inflater.unconsumed_tail else None


def _png_icc(data: bytes) -> bytes | None:
    _name, _, rest = data.partition(b"\0")
    return _bytes_within_limit(_inflate(rest[1:])) if rest[:1] == b"\0" else None  # method 0: zlib


def _png_xmp(data: bytes) -> bytes | None:
    rest = data[len(PNG_XMP_KEYWORD) + 1 :]
    compressed = rest[:1] == b"\x01"
    _language, _, rest = rest[2:].partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    return _bytes_within_limit(_inflate(text) if compressed else text)


def _png_dpi(data: bytes) -> tuple[float, float] | None:
    x, y, unit = struct.unpack(">IIB", data)
    if unit != PNG_UNIT_METRE:
        return None
    dpi = [v * METRES_PER_INCH for v in (x, y)]
    return _valid_dpi(tuple(float(round(v)) if abs(v - round(v)) <= PNG_DPI_SNAP else v for v in dpi))


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
            exif=_or_none(lambda: _tiff_exif(path)) if any(code in tags for code in TIFF_EXIF_SIGNS) else None,
            icc=_bytes_within_limit(value(TAG_ICC)),
            xmp=_bytes_within_limit(value(TAG_XMP)),
            dpi=_or_none(lambda: _resolution_dpi(value(TAG_X_RESOLUTION), value(TAG_Y_RESOLUTION), value(TAG_RESOLUTION_UNIT))),
        )
        orientation = _or_none(lambda: int(value(TAG_ORIENTATION) or 1)) or 1
    if arr.ndim == 3 and arr.shape[0] in (1, 2, 3, 4) and arr.shape[2] not in (1, 2, 3, 4):
        arr = np.moveaxis(arr, 0, -1)
    if arr.dtype == np.uint8:
        return _photo(arr, 8, metadata, orientation)
    if arr.dtype == np.uint16:
        return _photo(arr, 16, metadata, orientation)
    raise ValueError(f"unsupported TIFF sample type {arr.dtype}; use 8- or 16-bit integers")


def _tiff_exif(path: Path) -> bytes | None:
    """The EXIF of a TIFF as a block of its own: the text tags of the first IFD and the Exif and
    GPS IFDs (the orientation is the TIFF's own, applied to the pixels)."""
    # Pillow's EXIF reader reads the TIFF's own IFDs, whatever image they hold (Pillow may not open it).
    with warnings.catch_warnings(), open(path, "rb") as fh:
        warnings.simplefilter("ignore")  # Pillow warns about damage; what it cannot read is left out
        source = Image.Exif()
        source.load_from_fp(fh)
        exif = Image.Exif()
        for code in EXIF_TEXT_TAGS:
            if isinstance(text := source.get(code), str):
                exif[code] = text.encode("latin-1")  # Pillow reads TIFF text as Latin-1: the bytes back
        for code, sub in _sub_ifds(source).items():
            exif[code] = sub
        return _plain_exif(exif.tobytes()) if len(exif) else None


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
        exif = _plain_exif(info.get("exif"))
        if im.format == "JPEG" and info.get("jfif_unit") not in JFIF_UNITS:
            # Pillow falls back to 72 DPI when the EXIF holds no resolution; we keep "unknown".
            dpi = None if exif is None else _or_none(lambda: _exif_dpi(exif))
        else:
            dpi = _valid_dpi(info.get("dpi"))
        metadata = Metadata(exif=exif, icc=_bytes_within_limit(info.get("icc_profile")), xmp=_bytes_within_limit(info.get("xmp")), dpi=dpi)
        return _photo(np.asarray(im), 8, metadata, _or_none(lambda: _exif_orientation(exif)) or 1)


def _described(exc: Exception) -> str:
    """``Type: message``, without the type twice (pypng's messages already start with it)."""
    text = str(exc).strip() or "no details"
    name = type(exc).__name__
    return text if text.startswith(name) else f"{name}: {text}"


#: First bytes of the formats with their own readers (the others go to Pillow, which sniffs too).
TIFF_MAGICS = (*TIFF_BYTE_ORDERS, b"II+\x00", b"MM\x00+")  # classic TIFF and BigTIFF


def _sniff(path: Path) -> str:
    """``"png"``, ``"tiff"`` or ``"other"`` from the file's first bytes, not its name: a JPEG saved
    as ``.png`` is still a JPEG."""
    with open(path, "rb") as f:
        head = f.read(len(PNG_SIGNATURE))
    if head == PNG_SIGNATURE:
        return "png"
    return "tiff" if head[:4] in TIFF_MAGICS else "other"


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
        the same (palette, CMYK, multi-page TIFF, ...): the message names the conversion to make.

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
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no such file: {path}")
    if not path.is_file():
        raise ValueError(f"not a file: {path}")
    try:
        kind = _sniff(path)
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
        raise ValueError(f"cannot read {path} as an image ({_described(exc)})") from None


#: Pillow's modes of one colour channel (with or without alpha).
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"})


@dataclass(frozen=True)
class Header:
    """What a photo's header says, read without decoding its pixels."""

    width: int
    height: int
    channels: int  # colour channels, alpha left out: 1 or 3


def read_header(path: str | os.PathLike[str]) -> Header:
    """The size and colour of a photo from its header alone (no pixel is decoded: a server can
    refuse a photo that would not fit in memory before it takes any). A damaged or unknown file is
    a one-line ``ValueError``; what the header cannot tell is found by :func:`read_image`."""
    path = Path(path)
    try:
        kind = _sniff(path)
        if kind == "png":
            with open(path, "rb") as fh:
                reader = png.Reader(file=fh)
                reader.preamble()
                return Header(int(reader.width), int(reader.height), 1 if reader.greyscale else 3)
        if kind == "tiff":
            with tifffile.TiffFile(str(path)) as tif:
                page = tif.pages.first
                samples = int(page.samplesperpixel) - len(getattr(page, "extrasamples", ()) or ())
                return Header(int(page.imagewidth), int(page.imagelength), 1 if samples < 3 else 3)
        with Image.open(path) as im:
            return Header(im.size[0], im.size[1], 1 if im.mode in GRAY_MODES else 3)
    except Exception as exc:
        raise ValueError(f"cannot read {path} as an image ({_described(exc)})") from None


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


def _writable(metadata: Metadata, path: Path) -> Metadata:
    """The pieces of ``metadata`` that have the right form (Pillow's ``Exif\\0\\0`` header is
    accepted on EXIF); the others are left out with a warning."""
    kept: dict[str, Any] = {}
    for name, value in ((f.name, getattr(metadata, f.name)) for f in fields(metadata)):
        if value is None:
            continue
        good = _valid_dpi(value) if name == "dpi" else _plain_exif(value) if name == "exif" else value if isinstance(value, bytes) and value else None
        if good is None:
            warnings.warn(f"{path}: the {METADATA_NAMES[name]} is malformed and is left out", MetadataWarning, stacklevel=3)
        kept[name] = good
    return Metadata(**kept)


def _write_keeping_what_fits(tmp: Path, metadata: Metadata, write: Callable[[Path, Metadata], None], path: Path) -> None:
    """``write(tmp, metadata)``; if that fails, the photo is written with each piece of metadata
    that can be written on its own, and a warning names each piece left out."""
    try:
        write(tmp, metadata)
        return
    except Exception:
        if metadata == Metadata():
            raise
    kept, written = Metadata(), False
    for name in (f.name for f in fields(metadata)):
        if getattr(metadata, name) is None:
            continue
        trial = replace(kept, **{name: getattr(metadata, name)})
        try:
            write(tmp, trial)
        except Exception as exc:
            warnings.warn(f"{path}: the {METADATA_NAMES[name]} cannot be written and is left out ({type(exc).__name__}: {exc})", MetadataWarning, stacklevel=5)
            written = False
        else:
            kept, written = trial, True
    if not written:
        write(tmp, kept)


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


def _png_chunks(metadata: Metadata) -> list[tuple[bytes, bytes]]:
    chunks = []
    if metadata.icc is not None:
        chunks.append((PNG_ICC, PNG_ICC_NAME + b"\0\0" + zlib.compress(metadata.icc)))  # name, method 0 (zlib)
    if metadata.exif is not None:
        chunks.append((PNG_EXIF, metadata.exif))
    if metadata.xmp is not None:
        # keyword, uncompressed, method 0, no language, no translated keyword: as the XMP specification asks
        chunks.append((PNG_TEXT, PNG_XMP_KEYWORD + b"\0\0\0\0\0" + metadata.xmp))
    if metadata.dpi is not None:
        per_metre = [round(v / METRES_PER_INCH) for v in metadata.dpi]
        chunks.append((PNG_RESOLUTION, struct.pack(">IIB", *per_metre, PNG_UNIT_METRE)))
    return chunks


def _write_png(tmp: Path, arr: np.ndarray, bit_depth: int, metadata: Metadata) -> None:
    planes = 1 if arr.ndim == 2 else arr.shape[2]
    writer = _PngWriter(
        width=arr.shape[1],
        height=arr.shape[0],
        greyscale=planes in (1, 2),
        alpha=planes in (2, 4),
        bitdepth=bit_depth,
        chunks=_png_chunks(metadata),
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
        exif = _load_exif(metadata.exif)
        software = False  # the first IFD's text comes from the EXIF, Software included
        for code in EXIF_TEXT_TAGS:
            if isinstance(text := exif.get(code), str):
                if code == TAG_SOFTWARE:
                    software = text.encode("latin-1")
                else:
                    extratags.append((code, TIFF_ASCII, 0, text.encode("latin-1"), True))
        subs = _sub_ifds(exif)
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
        _link_sub_ifds(tmp, subs)


def _link_sub_ifds(path: Path, subs: dict[int, dict[int, Any]]) -> None:
    """Append the EXIF sub-IFDs to a TIFF just written and point its placeholder tags at them."""
    with tifffile.TiffFile(path) as tif:
        if tif.is_bigtiff:
            raise ValueError("EXIF is not written into BigTIFF")
        order = tif.byteorder
        tags = tif.pages.first.tags
        entries = {code: tags[TIFF_SUB_IFD_SLOTS[code]].offset for code in subs}
    with open(path, "r+b") as fh:
        end = fh.seek(0, os.SEEK_END)
        for code, entry in entries.items():
            start = end + end % 2  # IFDs start on a word boundary
            ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II" if order == "<" else b"MM", group=code)
            for tag, value in subs[code].items():
                ifd[tag] = value
            block = ifd.tobytes(start)
            if start + len(block) >= CLASSIC_TIFF_LIMIT:
                raise ValueError("the EXIF would lie beyond the 4 GB a classic TIFF can address")
            fh.seek(end)
            fh.write(bytes(start - end) + block)
            fh.seek(entry)
            fh.write(struct.pack(order + "HHII", code, TIFF_LONG, 1, start))
            end = start + len(block)


def write_image(path: str | os.PathLike[str], photo: Photo, *, quality: int = JPEG_QUALITY) -> None:
    """Write ``photo`` atomically (a temporary file beside ``path``, then a rename) in the format
    given by the suffix, with its metadata where the format can hold it (see the module's
    docstring).

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
    ValueError
        If the format is unknown, cannot hold the photo (alpha or 16 bits in a JPEG), the folder
        is missing or not writable, or ``quality`` is out of range. A piece of metadata that
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
    metadata = _writable(photo.metadata, path)
    atomic_write(path, lambda tmp: _write_keeping_what_fits(tmp, metadata, write, path), verify=lambda tmp: _check_whole(tmp, path, photo.pixels.shape))


def is_whole_image(path: Path) -> bool:
    """Whether ``path`` decodes to its last pixel (a JPEG, PNG or TIFF cut short does not)."""
    try:
        read_image(path, max_pixels=sys.maxsize)
    except (ValueError, OSError, MemoryError):
        return False
    return True


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
    """``.npy``: the float kernel (sums to 1); an image suffix: a preview scaled to its maximum."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        atomic_write(path, lambda tmp: np.save(tmp, kernel), verify=lambda tmp: _check_npy(tmp, path, kernel.shape))
    else:
        write_image(path, Photo(kernel / kernel.max(), None, 8))


def _check_npy(tmp: Path, path: Path, shape: tuple[int, ...]) -> None:
    try:
        back = np.load(tmp, allow_pickle=False).shape
    except (ValueError, OSError, EOFError) as exc:
        raise OSError(f"cannot write {path}: the file written does not load back (is the disk full?): {exc}") from None
    if back != shape:
        raise OSError(f"cannot write {path}: the file written holds shape {back}, not {shape}")


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
