"""What gencor knows of the file formats it reads and writes: suffixes, first bytes, modes, limits."""

from __future__ import annotations

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

#: The byte-order marks that open a TIFF-structured EXIF block, as ``struct`` byte orders.
TIFF_BYTE_ORDERS = {b"II*\x00": "<", b"MM\x00*": ">"}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: First bytes of the formats with their own readers (the others go to Pillow, which sniffs too).
TIFF_MAGICS = (*TIFF_BYTE_ORDERS, b"II+\x00", b"MM\x00+")  # classic TIFF and BigTIFF

#: Pillow's modes of one colour channel (with or without alpha).
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"})
