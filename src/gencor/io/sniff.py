"""Which reader a file goes to, from its first bytes; and what its header says, without decoding."""

from __future__ import annotations

import os
from pathlib import Path

import png
import tifffile
from PIL import Image

from gencor.io.formats import GRAY_MODES, PNG_SIGNATURE, TIFF_MAGICS
from gencor.io.photo import Header


def described(exc: Exception) -> str:
    """``Type: message``, without the type twice (pypng's messages already start with it)."""
    text = str(exc).strip() or "no details"
    name = type(exc).__name__
    return text if text.startswith(name) else f"{name}: {text}"


def sniff(path: Path) -> str:
    """``"png"``, ``"tiff"`` or ``"other"`` from the file's first bytes, not its name: a JPEG saved
    as ``.png`` is still a JPEG."""
    with open(path, "rb") as f:
        head = f.read(len(PNG_SIGNATURE))
    if head == PNG_SIGNATURE:
        return "png"
    return "tiff" if head[:4] in TIFF_MAGICS else "other"


def read_header(path: str | os.PathLike[str]) -> Header:
    """The size and colour of a photo from its header alone (no pixel is decoded: a server can
    refuse a photo that would not fit in memory before it takes any). A damaged or unknown file is
    a one-line ``ValueError``; what the header cannot tell is found by :func:`read_image`."""
    path = Path(path)
    try:
        kind = sniff(path)
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
        raise ValueError(f"cannot read {path} as an image ({described(exc)})") from None
