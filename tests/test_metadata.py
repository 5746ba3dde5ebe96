"""Photos stay photos: EXIF orientation applied on read, and EXIF, ICC profile, XMP and DPI carried
from input to output in every format that can hold them; the JPEG quality of the output."""

from __future__ import annotations

import functools
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps
from PIL.TiffImagePlugin import IFDRational

from gencor.cli import main
from gencor.io import JPEG_QUALITY, Metadata, MetadataWarning, Photo, read_image, write_image

#: Stored size of the test photo: wider than high, so a quarter turn shows in the shape.
HEIGHT, WIDTH = 40, 64
#: What the test photo says about itself.
MAKE, MODEL, TAKEN = "PhoneCo", "Pocket 7", "2024:05:06 07:08:09"
DPI = (300.0, 300.0)
#: EXIF orientation of a phone held upright: the stored pixels must turn a quarter clockwise.
ROTATE_CLOCKWISE = 6
#: An XMP packet as cameras write it, with its own copy of the orientation.
XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" tiff:Orientation="6">'
    b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Harbour at dusk</rdf:li></rdf:Alt></dc:title>'
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
#: Output formats and bit depths: (suffix, bit depth).
OUTPUTS = [(".jpg", 8), (".png", 8), (".png", 16), (".tif", 8), (".tif", 16)]


@functools.cache
def _icc() -> bytes:
    """An sRGB profile (made once: it holds the time it was made)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[271] = MAKE
    exif[272] = MODEL
    exif[274] = orientation
    exif[0x8769] = {36867: TAKEN, 33434: IFDRational(1, 250)}  # DateTimeOriginal, ExposureTime
    exif[0x8825] = {1: "N", 2: (IFDRational(48, 1), IFDRational(30, 1), IFDRational(0, 1))}  # GPS latitude
    return exif


def _exif_block(orientation: int) -> bytes:
    """The EXIF block as :class:`Metadata` holds it: without JPEG's ``Exif\\0\\0``."""
    return _exif(orientation).tobytes().removeprefix(b"Exif\x00\x00")


def _stored(color: bool = True) -> np.ndarray:
    """A picture no turn or flip leaves unchanged: a ramp across, a ramp down, a bright corner."""
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    gray = (40 + 120 * xx / WIDTH + 60 * yy / HEIGHT).astype(np.uint8)
    gray[:8, :8] = 250
    return np.dstack([gray, gray[::-1], 255 - gray]) if color else gray


def _phone_jpeg(path: Path, orientation: int = ROTATE_CLOCKWISE, dpi: tuple[float, float] = DPI) -> Path:
    Image.fromarray(_stored()).save(path, exif=_exif(orientation), icc_profile=_icc(), xmp=XMP, dpi=dpi, quality=95)
    return path


def _tags(exif: bytes | None) -> dict[str, object]:
    """What the EXIF says, in a form to compare: first IFD, Exif and GPS IFDs; not the orientation."""
    assert exif is not None
    tags = Image.Exif()
    tags.load(exif)
    return {"make": tags.get(271), "model": tags.get(272), "exif": dict(tags.get_ifd(0x8769)), "gps": dict(tags.get_ifd(0x8825))}


def _orientation(exif: bytes | None) -> int | None:
    assert exif is not None
    tags = Image.Exif()
    tags.load(exif)
    return tags.get(274)


def test_phone_jpeg_is_read_upright_with_its_metadata(tmp_path: Path) -> None:
    path = _phone_jpeg(tmp_path / "phone.jpg")
    photo = read_image(path)
    assert photo.pixels.shape == (WIDTH, HEIGHT, 3)
    with Image.open(path) as im:
        upright = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(np.round(photo.pixels * 255), upright)
    # the bright corner went from top left to top right
    assert photo.pixels[:8, -8:, 0].mean() > 0.85 > 0.6 > photo.pixels[:8, :8, 0].mean()
    meta = photo.metadata
    assert meta.icc == _icc() and meta.dpi == DPI
    assert _orientation(meta.exif) == 1
    assert _tags(meta.exif) == _tags(_exif_block(ROTATE_CLOCKWISE))
    assert meta.xmp == XMP.replace(b'tiff:Orientation="6"', b'tiff:Orientation="1"')


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    """PNG (``eXIf``) and TIFF (the Orientation tag) come in as ``ImageOps.exif_transpose`` turns them."""
    stored = _stored()
    Image.fromarray(stored).save(tmp_path / "in.png", exif=_exif(orientation))
    tifffile.imwrite(tmp_path / "in.tif", stored, photometric="rgb", extratags=[(274, 3, 1, orientation, True)])
    with Image.open(tmp_path / "in.png") as im:
        upright = np.asarray(ImageOps.exif_transpose(im))
    for name in ("in.png", "in.tif"):
        np.testing.assert_array_equal(np.round(read_image(tmp_path / name).pixels * 255), upright, err_msg=name)


@pytest.mark.parametrize(("suffix", "depth"), OUTPUTS)
def test_metadata_survives_a_round_trip(tmp_path: Path, suffix: str, depth: int) -> None:
    src = read_image(_phone_jpeg(tmp_path / "phone.jpg"))
    photo = Photo(src.pixels, None, depth, src.metadata)
    out = tmp_path / f"out{suffix}"
    write_image(out, photo)
    back = read_image(out)
    assert back.bit_depth == depth and back.pixels.shape == (WIDTH, HEIGHT, 3)  # stored upright
    if suffix == ".jpg":
        assert np.abs(back.pixels - photo.pixels).mean() < 0.01
    else:
        np.testing.assert_allclose(back.pixels, photo.pixels, atol=0.5 / (2**depth - 1))
    meta = back.metadata
    assert meta.icc == _icc()
    assert meta.xmp is not None and meta.xmp == src.metadata.xmp and b'tiff:Orientation="1"' in meta.xmp
    assert meta.dpi == DPI
    assert _orientation(meta.exif) in (None, 1)
    assert _tags(meta.exif) == _tags(src.metadata.exif)
    if suffix != ".tif":  # JPEG and PNG carry the EXIF block byte for byte; TIFF re-encodes it
        assert meta.exif == src.metadata.exif
    # and what a viewer sees: Pillow finds the profile and no turn to make
    with Image.open(out) as im:
        assert im.info.get("icc_profile") == _icc()
        assert im.getexif().get(274) in (None, 1)


def test_tiff_exif_goes_on_to_jpeg(tmp_path: Path) -> None:
    src = read_image(_phone_jpeg(tmp_path / "phone.jpg"))
    write_image(tmp_path / "mid.tif", Photo(src.pixels, None, 16, src.metadata))
    mid = read_image(tmp_path / "mid.tif")
    write_image(tmp_path / "out.jpg", Photo(mid.pixels, None, 8, mid.metadata))
    assert _tags(read_image(tmp_path / "out.jpg").metadata.exif) == _tags(src.metadata.exif)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("mode", ["L", "LA", "RGBA"])
def test_gray_and_alpha_photos_carry_metadata(tmp_path: Path, suffix: str, mode: str) -> None:
    gray = _stored(color=False) / 255
    pixels = gray if mode.startswith("L") else np.dstack([gray] * 3)
    meta = Metadata(exif=_exif_block(1), icc=_icc(), xmp=XMP, dpi=(72.0, 96.0))
    write_image(tmp_path / f"out{suffix}", Photo(pixels, gray[::-1] if "A" in mode else None, 16, meta))
    back = read_image(tmp_path / f"out{suffix}")
    assert (back.alpha is None) == ("A" not in mode)
    assert (back.metadata.icc, back.metadata.xmp, back.metadata.dpi) == (_icc(), XMP, (72.0, 96.0))
    assert _tags(back.metadata.exif) == _tags(_exif_block(1))


def test_quarter_turn_swaps_the_resolution(tmp_path: Path) -> None:
    photo = read_image(_phone_jpeg(tmp_path / "phone.jpg", dpi=(300, 150)))
    assert photo.metadata.dpi == (150.0, 300.0)


def test_png_dpi_comes_back_whole(tmp_path: Path) -> None:
    """``pHYs`` holds dots per metre: 72 DPI is 2834.6 of them, stored as 2835."""
    for dpi in ((72.0, 72.0), (96.0, 600.0)):
        write_image(tmp_path / "a.png", Photo(np.zeros((4, 4)), None, 8, Metadata(dpi=dpi)))
        assert read_image(tmp_path / "a.png").metadata.dpi == dpi


def test_photo_without_metadata_writes_none(tmp_path: Path) -> None:
    for suffix in (".jpg", ".png", ".tif"):
        write_image(tmp_path / f"a{suffix}", Photo(np.zeros((4, 4)), None, 8))
        assert read_image(tmp_path / f"a{suffix}").metadata == Metadata()


def test_quality_changes_jpeg_size(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    photo = Photo(rng.uniform(size=(64, 64, 3)), None, 8)
    sizes = {}
    for quality in (30, 95):
        write_image(tmp_path / f"q{quality}.jpg", photo, quality=quality)
        sizes[quality] = (tmp_path / f"q{quality}.jpg").stat().st_size
    assert sizes[30] < 0.7 * sizes[95]
    write_image(tmp_path / "default.jpg", photo)
    assert JPEG_QUALITY == 95 and (tmp_path / "default.jpg").read_bytes() == (tmp_path / "q95.jpg").read_bytes()


@pytest.mark.parametrize("quality", [0, 101, -5, 2.5, True, "95"])
def test_bad_quality_is_refused(tmp_path: Path, quality: object) -> None:
    with pytest.raises(ValueError, match="quality"):
        write_image(tmp_path / "a.jpg", Photo(np.zeros((4, 4)), None, 8), quality=quality)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_metadata_that_cannot_be_written_is_left_out_with_a_warning(tmp_path: Path) -> None:
    """A JPEG segment holds 64 KB: a longer XMP packet is dropped, the rest is written."""
    meta = Metadata(exif=_exif_block(1), icc=_icc(), xmp=b"<x:xmpmeta/>" + b" " * 70_000, dpi=DPI)
    with pytest.warns(MetadataWarning, match="XMP"):
        write_image(tmp_path / "a.jpg", Photo(np.zeros((8, 8)), None, 8, meta))
    back = read_image(tmp_path / "a.jpg").metadata
    assert back.xmp is None and back.icc == _icc() and back.dpi == DPI and back.exif == meta.exif
    with pytest.warns(MetadataWarning, match="EXIF"):
        write_image(tmp_path / "b.png", Photo(np.zeros((8, 8)), None, 8, Metadata(exif=b"not an EXIF block", icc=_icc())))
    assert read_image(tmp_path / "b.png").metadata == Metadata(icc=_icc())


def test_pillow_style_exif_is_accepted(tmp_path: Path) -> None:
    """``Image.Exif.tobytes()`` gives the JPEG header too; it is taken off, nothing is lost."""
    exif = _exif(1).tobytes()
    assert exif.startswith(b"Exif\x00\x00")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_image(tmp_path / "a.png", Photo(np.zeros((4, 4)), None, 8, Metadata(exif=exif)))
    assert read_image(tmp_path / "a.png").metadata.exif == exif[6:]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def test_damaged_metadata_does_not_stop_the_photo(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.fromarray(_stored()).save(path, dpi=(300, 300))
    raw = path.read_bytes()
    idat = raw.index(b"IDAT") - 4
    bad_icc = _chunk(b"iCCP", b"ICC profile\x00\x00" + b"not zlib data")
    bad_exif = _chunk(b"eXIf", b"MM\x00*\xff\xff\xff\xff")  # first IFD far beyond the block
    path.write_bytes(raw[:idat] + bad_icc + bad_exif + raw[idat:])
    photo = read_image(path)
    assert photo.pixels.shape == (HEIGHT, WIDTH, 3)  # no orientation read, none applied
    assert photo.metadata.icc is None and photo.metadata.dpi == DPI


def test_mutated_files_with_metadata_give_an_image_or_one_error(tmp_path: Path) -> None:
    """The fuzz test of ``test_fuzz``, on files full of metadata."""
    src = read_image(_phone_jpeg(tmp_path / "seed.jpg"))
    seeds = {".jpg": (tmp_path / "seed.jpg").read_bytes()}
    for suffix in (".png", ".tif"):
        write_image(tmp_path / f"seed{suffix}", Photo(src.pixels, None, 16, src.metadata))
        seeds[suffix] = (tmp_path / f"seed{suffix}").read_bytes()
    rng = np.random.default_rng(7)
    for i in range(300):
        suffix = list(seeds)[i % len(seeds)]
        raw = bytearray(seeds[suffix])
        for _ in range(int(rng.integers(1, 6))):
            raw[int(rng.integers(len(raw)))] = int(rng.integers(256))
        path = tmp_path / f"case{suffix}"
        path.write_bytes(bytes(raw))
        try:
            photo = read_image(path, max_pixels=1_000_000)
        except ValueError as exc:
            assert "\n" not in str(exc)
            continue
        assert photo.pixels.ndim == 3 and np.all(np.isfinite(photo.pixels))
        write_image(tmp_path / f"out{suffix}", photo)  # and whatever came in can go out


def test_cli_smooth_keeps_the_icc_profile(tmp_path: Path) -> None:
    src = _phone_jpeg(tmp_path / "in.jpg")
    out = tmp_path / "out.jpg"
    assert main(["smooth", str(src), "-o", str(out), "--quiet"]) == 0
    with Image.open(out) as im:
        assert im.info.get("icc_profile") == _icc()
        assert im.size == (HEIGHT, WIDTH)  # stored upright
        assert im.getexif().get(274) == 1
