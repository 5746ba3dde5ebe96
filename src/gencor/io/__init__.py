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

The package, by what each file holds:

- :mod:`~gencor.io.read`: :func:`read_image` and :func:`read_kernel`;
- :mod:`~gencor.io.write`: :func:`write_image` and :func:`write_kernel`;
- :mod:`~gencor.io.metadata`: EXIF, ICC, XMP and DPI as each format holds them;
- :mod:`~gencor.io.sniff`: which reader a file goes to, and :func:`read_header`;
- :mod:`~gencor.io.outputs`: the checks on an output path made before any work starts;
- :mod:`~gencor.io.atomic`: :func:`atomic_write`, through which every file gencor writes goes;
- :mod:`~gencor.io.formats` and :mod:`~gencor.io.photo`: the formats' constants and the types.
"""

from gencor.io.atomic import atomic_write, stale_temporaries, write_text
from gencor.io.formats import JPEG_QUALITY, MAX_PIXELS, SUFFIXES
from gencor.io.outputs import check_format, check_output_path
from gencor.io.photo import Header, Metadata, MetadataWarning, Photo
from gencor.io.read import is_whole_image, read_image, read_kernel
from gencor.io.sniff import read_header
from gencor.io.write import write_image, write_kernel

__all__ = [
    "JPEG_QUALITY",
    "MAX_PIXELS",
    "SUFFIXES",
    "Header",
    "Metadata",
    "MetadataWarning",
    "Photo",
    "atomic_write",
    "check_format",
    "check_output_path",
    "is_whole_image",
    "read_header",
    "read_image",
    "read_kernel",
    "stale_temporaries",
    "write_image",
    "write_kernel",
    "write_text",
]
