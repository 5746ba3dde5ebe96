"""Metadata (EXIF, ICC profile, XMP, DPI) as each format holds it: read from the file's own bytes,
turned upright with the pixels, and written back where the format can hold it."""

from __future__ import annotations

import math
import os
import re
import struct
import warnings
import zlib
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import tifffile
from PIL import Image, TiffImagePlugin

from gencor.io.formats import PNG_SIGNATURE, TIFF_BYTE_ORDERS
from gencor.io.photo import METADATA_NAMES, Metadata, MetadataWarning

#: Largest piece of metadata read (an ICC profile, an XMP packet, an EXIF block), in bytes: real
#: ones are a few MB at most, and a damaged file must not make us inflate gigabytes.
MAX_METADATA_BYTES = 32 * 2**20
#: What precedes the EXIF block in a JPEG APP1 segment (and in Pillow's ``info["exif"]``).
EXIF_HEADER = b"Exif\x00\x00"
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


def or_none(read: Callable[[], T | None]) -> T | None:
    """``read()``, or None when it fails: damaged metadata is ignored, never a reason to refuse a photo."""
    try:
        return read()
    except Exception:
        return None


def plain_exif(exif: object) -> bytes | None:
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


def exif_orientation(exif: bytes | None) -> int:
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


def turn_upright(arr: np.ndarray, metadata: Metadata, orientation: int) -> tuple[np.ndarray, Metadata]:
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


def _ratio(value: object) -> float:
    """A TIFF rational as tifffile (``(num, den)``) or Pillow (a number) gives it."""
    if isinstance(value, tuple) and len(value) == 2:
        return float(value[0]) / float(value[1])
    return float(value)  # type: ignore[arg-type]


def valid_dpi(dpi: object) -> tuple[float, float] | None:
    """Two finite positive numbers, or None."""
    if not isinstance(dpi, tuple | list) or len(dpi) != 2:
        return None
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError):
        return None
    return (x, y) if all(math.isfinite(v) and v > 0 for v in (x, y)) else None


def resolution_dpi(x: object, y: object, unit: object) -> tuple[float, float] | None:
    """DPI from an EXIF or TIFF resolution and its unit; None when it gives none (no unit)."""
    if x is None:
        return None
    per_inch = {UNIT_INCH: 1.0, UNIT_CM: CM_PER_INCH}.get(UNIT_INCH if unit is None else int(unit))  # type: ignore[call-overload]
    if per_inch is None:
        return None
    return valid_dpi((_ratio(x) * per_inch, _ratio(x if y is None else y) * per_inch))


def load_exif(exif: bytes) -> Image.Exif:
    tags = Image.Exif()
    tags.load(EXIF_HEADER + exif)
    return tags


def exif_dpi(exif: bytes) -> tuple[float, float] | None:
    tags = load_exif(exif)
    return resolution_dpi(tags.get(TAG_X_RESOLUTION), tags.get(TAG_Y_RESOLUTION), tags.get(TAG_RESOLUTION_UNIT))


def sub_ifds(exif: Image.Exif) -> dict[int, dict[int, Any]]:
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


def bytes_within_limit(value: object) -> bytes | None:
    if isinstance(value, str):
        value = value.encode()
    return value if isinstance(value, bytes) and 0 < len(value) <= MAX_METADATA_BYTES else None


def png_metadata_chunks(path: Path) -> dict[bytes, bytes]:
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


def png_icc(data: bytes) -> bytes | None:
    _name, _, rest = data.partition(b"\0")
    return bytes_within_limit(_inflate(rest[1:])) if rest[:1] == b"\0" else None  # method 0: zlib


def png_xmp(data: bytes) -> bytes | None:
    rest = data[len(PNG_XMP_KEYWORD) + 1 :]
    compressed = rest[:1] == b"\x01"
    _language, _, rest = rest[2:].partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    return bytes_within_limit(_inflate(text) if compressed else text)


def png_dpi(data: bytes) -> tuple[float, float] | None:
    x, y, unit = struct.unpack(">IIB", data)
    if unit != PNG_UNIT_METRE:
        return None
    dpi = [v * METRES_PER_INCH for v in (x, y)]
    return valid_dpi(tuple(float(round(v)) if abs(v - round(v)) <= PNG_DPI_SNAP else v for v in dpi))


def tiff_exif(path: Path) -> bytes | None:
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
        for code, sub in sub_ifds(source).items():
            exif[code] = sub
        return plain_exif(exif.tobytes()) if len(exif) else None


def writable(metadata: Metadata, path: Path) -> Metadata:
    """The pieces of ``metadata`` that have the right form (Pillow's ``Exif\\0\\0`` header is
    accepted on EXIF); the others are left out with a warning."""
    kept: dict[str, Any] = {}
    for name, value in ((f.name, getattr(metadata, f.name)) for f in fields(metadata)):
        if value is None:
            continue
        good = valid_dpi(value) if name == "dpi" else plain_exif(value) if name == "exif" else value if isinstance(value, bytes) and value else None
        if good is None:
            warnings.warn(f"{path}: the {METADATA_NAMES[name]} is malformed and is left out", MetadataWarning, stacklevel=3)
        kept[name] = good
    return Metadata(**kept)


def write_keeping_what_fits(tmp: Path, metadata: Metadata, write: Callable[[Path, Metadata], None], path: Path) -> None:
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


def png_chunks(metadata: Metadata) -> list[tuple[bytes, bytes]]:
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


def link_sub_ifds(path: Path, subs: dict[int, dict[int, Any]]) -> None:
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
