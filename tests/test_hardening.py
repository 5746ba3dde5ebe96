"""Regression tests of the hostile-input report (issue #10): no silently different image, no
traceback, bounded resources, signals that clean up."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import png
import pytest
import tifffile
from PIL import Image
from scipy import ndimage

from conftest import shapes_image
from gencor.io import Photo, read_image, read_kernel, write_image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _with_sbit(path: Path, bits: int) -> None:
    """Insert an sBIT chunk (significant bits of a gray PNG) before the image data."""
    raw = path.read_bytes()
    idat = raw.index(b"IDAT") - 4
    path.write_bytes(raw[:idat] + _chunk(b"sBIT", bytes([bits])) + raw[idat:])


@pytest.mark.parametrize("bits", [12, 8])
def test_16_bit_png_with_sbit_keeps_brightness_and_depth(tmp_path: Path, bits: int) -> None:
    values = (np.arange(64 * 64).reshape(64, 64) % (2**bits)) << (16 - bits)  # what a 12-bit camera stores
    path = tmp_path / "deep.png"
    with open(path, "wb") as fh:
        png.Writer(64, 64, greyscale=True, bitdepth=16).write(fh, values.astype(np.uint16))
    _with_sbit(path, bits)
    photo = read_image(path)
    assert photo.bit_depth == 16
    assert abs(photo.pixels.mean() - values.mean() / 65535) < 0.002


def test_multi_page_tiff_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, np.zeros((3, 32, 32), np.uint8), photometric="minisblack", metadata=None)
    with pytest.raises(ValueError, match="multi-page"):
        read_image(path)


def test_min_is_white_tiff_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "negative.tif"
    tifffile.imwrite(path, np.zeros((32, 32), np.uint8), photometric="miniswhite")
    with pytest.raises(ValueError, match="MinIsWhite"):
        read_image(path)


def test_animated_gif_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.fromarray(np.full((32, 32), v, np.uint8)) for v in (0, 255)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.raises(ValueError, match="frames"):
        read_image(path)


def test_huge_header_is_refused_before_decoding(tmp_path: Path) -> None:
    """A few bytes of PNG that declare 30000 x 30000 pixels."""
    path = tmp_path / "bomb.png"
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 100)) + _chunk(b"IEND", b""))
    start = time.perf_counter()
    with pytest.raises(ValueError, match="900 megapixels"):
        read_image(path)
    assert time.perf_counter() - start < 5.0
    with pytest.raises(ValueError, match="limit of 1"):
        read_image(_png(tmp_path / "small.png", 1100), max_pixels=1_000_000)


def _png(path: Path, side: int) -> Path:
    Image.fromarray(np.zeros((side, side), np.uint8)).save(path)
    return path


def test_damaged_tiff_data_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "flip.tif"
    tifffile.imwrite(path, (shapes_image(64) * 255).astype(np.uint8), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        offset, count = tif.pages[0].dataoffsets[0], tif.pages[0].databytecounts[0]
    raw = bytearray(path.read_bytes())
    raw[offset + count // 2] ^= 0xFF  # inside the compressed strip
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="cannot read"):
        read_image(path)


def test_npy_kernel_with_a_corrupted_header(tmp_path: Path) -> None:
    path = tmp_path / "k.npy"
    np.save(path, np.ones((3, 3)))
    raw = path.read_bytes().replace(b"(3, 3)", b"(3, (3")
    path.write_bytes(raw)
    with pytest.raises(ValueError, match="cannot read kernel"):
        read_kernel(path)


def test_a_long_output_name_is_written(tmp_path: Path) -> None:
    out = tmp_path / ("x" * 245 + ".png")
    write_image(out, Photo(shapes_image(32), None, 8))
    assert read_image(out).pixels.shape == (32, 32)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def _cli(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gencor", *args], capture_output=True, text=True, timeout=300, **kw)  # type: ignore[call-overload]


def test_npy_photo_output_is_refused_before_the_work(tmp_path: Path) -> None:
    src = _png(tmp_path / "in.png", 64)
    start = time.perf_counter()
    proc = _cli("deblur", str(src), "-o", str(tmp_path / "out.npy"))
    assert proc.returncode == 2 and "unsupported output format" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert time.perf_counter() - start < 30


def test_pixel_limit_option(tmp_path: Path) -> None:
    src = _png(tmp_path / "in.png", 1100)
    proc = _cli("smooth", str(src), "-o", str(tmp_path / "out.png"), "--max-megapixels", "1")
    assert proc.returncode == 2 and "megapixels" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not bind root")
def test_unwritable_folder_is_refused_before_the_work(tmp_path: Path) -> None:
    src = _png(tmp_path / "in.png", 64)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        proc = _cli("deblur", str(src), "-o", str(locked / "out.png"))
    finally:
        locked.chmod(0o700)
    assert proc.returncode == 2 and "permission denied" in proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_termination_signals_clean_up(tmp_path: Path, sig: int) -> None:
    # A photo with edges: pure noise holds none and is returned unchanged before any estimation.
    rng = np.random.default_rng(0)
    blurred = ndimage.uniform_filter1d(shapes_image(400), 9, axis=1) + rng.normal(0, 0.01, (400, 400))
    Image.fromarray(np.round(np.clip(blurred, 0, 1) * 255).astype(np.uint8)).save(tmp_path / "in.png")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gencor", "deblur", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "--quiet"], stderr=subprocess.PIPE, text=True
    )
    time.sleep(4.0)  # past the imports, inside the estimation
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and "terminated" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


def test_api_takes_what_scikit_image_takes() -> None:
    from gencor.tasks.deconv import deconvolve
    from gencor.tasks.smooth import smooth

    k = np.ones((3, 3)) / 9
    x = shapes_image(48)
    as_uint16 = np.round(x * 65535).astype(np.uint16)
    np.testing.assert_allclose(deconvolve(as_uint16, k, lam=1e-3).image, deconvolve(as_uint16 / 65535.0, k, lam=1e-3).image, atol=1e-6)
    with pytest.raises(ValueError, match="divide floats"):
        deconvolve(x * 255.0, k)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        smooth(x * 255.0)
    for constant in (np.zeros((48, 48)), np.ones((48, 48))):
        assert np.all(np.isfinite(deconvolve(constant, k).image))


def test_plot_format_follows_the_suffix(tmp_path: Path) -> None:
    src = _png(tmp_path / "in.png", 64)
    proc = _cli("deblur", str(src), "-o", str(tmp_path / "out.png"), "--plot", str(tmp_path / "psi.jpg"))
    assert proc.returncode == 2 and "unsupported output format" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("palette.png", lambda p: Image.fromarray(np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)).convert("P").save(p), "palette"),
        ("key.png", lambda p: Image.fromarray(np.full((64, 64), 7, np.uint8)).save(p, transparency=7), "key colour"),
        ("cmyk.jpg", lambda p: Image.new("CMYK", (64, 64), (10, 20, 30, 40)).save(p), "CMYK"),
        ("deep.pgm", lambda p: Image.fromarray(np.full((64, 64), 40000, np.uint16)).save(p), "16-bit"),
        ("bits.png", lambda p: Image.new("1", (64, 64), 1).save(p), "1-bit"),
        ("palette.gif", lambda p: Image.new("P", (64, 64), 3).save(p), "palette"),
    ],
)
def test_modes_that_cannot_come_back_are_refused(tmp_path: Path, name: str, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    make(path)
    with pytest.raises(ValueError, match=message):
        read_image(path)


def test_alpha_or_16_bit_to_jpeg_is_refused_before_the_work(tmp_path: Path) -> None:
    rgba = tmp_path / "rgba.png"
    write_image(rgba, Photo(np.dstack([shapes_image(64)] * 3), shapes_image(64), 8))
    deep = tmp_path / "deep.png"
    write_image(deep, Photo(shapes_image(64), None, 16))
    for src, message in ((rgba, "alpha"), (deep, "8 bits")):
        start = time.perf_counter()
        proc = _cli("deblur", str(src), "-o", str(tmp_path / "out.jpg"))
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert time.perf_counter() - start < 30
    assert not (tmp_path / "out.jpg").exists()


def test_a_0_1_mask_means_observed_where_1(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    photo = (shapes_image(64) * 255).astype(np.uint8)
    observed = rng.uniform(size=(64, 64)) > 0.3
    Image.fromarray(photo).save(tmp_path / "in.png")
    Image.fromarray(observed.astype(np.uint8)).save(tmp_path / "mask.png")  # raw values 0 and 1
    proc = _cli("inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png"), "--generator", "none")
    assert proc.returncode == 0, proc.stderr
    assert f"{100 * (1 - observed.mean()):.1f}% of the pixels filled" in proc.stdout


@pytest.mark.parametrize("compression", ["lzw", "jpeg", "zlib"])
def test_compressed_tiffs_are_read(tmp_path: Path, compression: str) -> None:
    gray = (shapes_image(64) * 255).astype(np.uint8)
    rgb = np.dstack([gray, gray[::-1], gray.T])
    path = tmp_path / f"{compression}.tif"
    tifffile.imwrite(path, rgb, compression=compression, photometric="rgb")
    photo = read_image(path)
    assert photo.is_color and photo.bit_depth == 8
    error = np.abs(photo.pixels * 255 - rgb)
    if compression == "jpeg":  # lossy, with subsampled colour: a few levels on average
        assert error.mean() < 8
    else:
        assert error.max() == 0


def _small_disk() -> object:
    """A ``preexec_fn`` that caps the size of any file the child writes at 4 KiB (``ulimit -f 4``):
    a full disk as far as the photo's writer can tell (Python ignores SIGXFSZ, so writes fail)."""
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_a_full_disk_leaves_no_output_and_says_so_in_one_line(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / "in.png"
    Image.fromarray(np.uint8(np.random.default_rng(0).uniform(0, 255, size=(128, 128, 3)))).save(src)
    out = tmp_path / f"out{suffix}"
    proc = _cli("smooth", str(src), "-o", str(out), preexec_fn=_small_disk())
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gencor: error: ") and str(out) in lines[0], proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]  # no output, no temporary file


def test_an_encoder_that_stops_short_silently_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gencor.io.write as gio

    real_jpeg = gio._write_jpeg

    def cut_short(tmp: Path, *args: object, **kw: object) -> None:
        real_jpeg(tmp, *args, **kw)  # type: ignore[arg-type]
        tmp.write_bytes(tmp.read_bytes()[:4096])  # what a full disk left, with no error raised

    monkeypatch.setattr(gio, "_write_jpeg", cut_short)
    out = tmp_path / "o.jpg"
    with pytest.raises(OSError, match="does not decode back whole"):
        write_image(out, Photo(np.random.default_rng(1).uniform(size=(96, 96, 3)), None, 8))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_skip_existing_redoes_a_cut_short_jpeg_or_tiff(tmp_path: Path, suffix: str) -> None:
    from gencor.cli import main

    src = tmp_path / "in.png"
    Image.fromarray(np.uint8(np.random.default_rng(2).uniform(0, 255, size=(96, 96, 3)))).save(src)
    out = tmp_path / f"out{suffix}"
    assert main(["smooth", str(src), "-o", str(out), "--quiet"]) == 0
    whole = out.read_bytes()
    out.write_bytes(whole[: len(whole) // 2])  # Image.verify() passes this for JPEG and TIFF
    assert main(["smooth", str(src), "-o", str(out), "--skip-existing", "--quiet"]) == 0
    assert read_image(out).pixels.shape == (96, 96, 3)


def test_wide_integer_photos_and_weights_out_of_range_are_refused(tmp_path: Path) -> None:
    from gencor import deblur, deconvolve, smooth

    img = shapes_image(64)
    for dtype in (np.int64, np.int32, np.int16):
        with pytest.raises(TypeError, match="uint8"):
            deblur((img * 255).astype(dtype))
    k = np.ones((3, 3))
    for lam in (1e20, 2.0, 0.0, -1.0, float("nan"), 1e-320):
        with pytest.raises(ValueError, match="lam must be"):
            deconvolve(img, k, lam=lam)
    with pytest.raises(ValueError, match="lam must be"):
        smooth(img, lam=1e-320)
    src = _png(tmp_path / "in.png", 64)
    np.save(tmp_path / "k.npy", k / 9)
    proc = _cli("deconv", str(src), "--kernel", str(tmp_path / "k.npy"), "-o", str(tmp_path / "o.png"), "--lam", "1e20")
    assert proc.returncode == 2 and "lam must be" in proc.stderr and not (tmp_path / "o.png").exists(), proc.stderr
    for command in (["smooth", str(src), "-o", str(tmp_path / "s.png")], ["serve"]):
        proc = _cli(*command, "--max-megapixels", "1e308")
        assert proc.returncode == 2 and "megapixels" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
