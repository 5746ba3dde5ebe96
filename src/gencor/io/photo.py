"""The photo as gencor holds it between reading and writing: pixels, alpha, bit depth, metadata."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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


@dataclass(frozen=True)
class Header:
    """What a photo's header says, read without decoding its pixels."""

    width: int
    height: int
    channels: int  # colour channels, alpha left out: 1 or 3
