"""Fuzzing the readers and the API (issue #10).

A corpus of mutated files made here (bit flips, truncations, header edits) in every format the
readers accept: each read either gives a valid image or one ``ValueError``; nothing else escapes.
``--fuzz-cases N`` sets the corpus size (default 2000, a few seconds). Property-based tests
(hypothesis) check the kernel and mask loaders and the API entry points on arbitrary arrays.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from conftest import shapes_image
from gencor.io import Photo, read_image, read_kernel, write_image
from gencor.validate import as_image, as_kernel

#: Pixel limit of the fuzzed reads: a mutated header may declare a huge image.
FUZZ_MAX_PIXELS = 1_000_000
#: Mutated files pushed through the whole command (a fresh process each).
CLI_CASES = 12


def _seeds() -> dict[str, bytes]:
    """One small valid file per format and mode."""
    gray = (shapes_image(48) * 255).astype(np.uint8)
    rgb = np.dstack([gray, gray[::-1], gray.T])
    out: dict[str, bytes] = {}

    def pil(img: Image.Image, fmt: str, **kw: object) -> bytes:
        buf = io.BytesIO()
        img.save(buf, format=fmt, **kw)
        return buf.getvalue()

    out["gray.png"] = pil(Image.fromarray(gray), "PNG")
    out["rgba.png"] = pil(Image.fromarray(np.dstack([rgb, gray])), "PNG")
    out["rgb.jpg"] = pil(Image.fromarray(rgb), "JPEG", quality=90)
    out["rgb.webp"] = pil(Image.fromarray(rgb), "WEBP", lossless=True)
    out["gray.bmp"] = pil(Image.fromarray(gray), "BMP")
    for name, arr, kw in (("deep.tif", (gray.astype(np.uint16) * 257), {}), ("zip.tif", rgb, {"compression": "zlib"})):
        buf = io.BytesIO()
        tifffile.imwrite(buf, arr, **kw)
        out[name] = buf.getvalue()
    buf = io.BytesIO()
    np.save(buf, np.ones((5, 5)) / 25)
    out["kernel.npy"] = buf.getvalue()
    return out


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    raw = bytearray(data)
    kind = rng.integers(4)
    if kind == 0:  # bit flips anywhere
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(len(raw)))
            raw[i] ^= 1 << int(rng.integers(8))
    elif kind == 1:  # truncation
        raw = raw[: int(rng.integers(len(raw)))]
    elif kind == 2:  # header edit: random bytes among the first 64
        for _ in range(int(rng.integers(1, 5))):
            i = int(rng.integers(min(64, len(raw))))
            raw[i] = int(rng.integers(256))
    else:  # a block repeated or dropped in the middle
        i, j = sorted(int(v) for v in rng.integers(len(raw), size=2))
        raw = raw[:i] + (raw[i:j] * 2 if rng.uniform() < 0.5 else b"") + raw[j:]
    return bytes(raw)


def _check_read(path: Path) -> None:
    """A valid image (or kernel), or one ``ValueError``; any other exception fails the test."""
    try:
        if path.suffix == ".npy":
            k = read_kernel(path)
            as_kernel(k)
            return
        photo = read_image(path, max_pixels=FUZZ_MAX_PIXELS)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    assert photo.pixels.ndim in (2, 3) and (photo.pixels.ndim == 2 or photo.pixels.shape[2] == 3)
    assert np.all(np.isfinite(photo.pixels)) and photo.pixels.min() >= 0 and photo.pixels.max() <= 1
    assert photo.bit_depth in (8, 16)


def test_mutated_files_give_an_image_or_one_error(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    cases = int(request.config.getoption("--fuzz-cases"))
    seeds = _seeds()
    rng = np.random.default_rng(2026)
    names = sorted(seeds)
    for i in range(cases):
        name = names[i % len(names)]
        path = tmp_path / f"case{name[name.index('.') :]}"
        path.write_bytes(_mutate(seeds[name], rng))
        try:
            _check_read(path)
        except AssertionError:
            raise
        except Exception as exc:
            keep = tmp_path.parent / f"fuzz_failure_{i}{path.suffix}"
            keep.write_bytes(path.read_bytes())
            pytest.fail(f"case {i} ({name}): {type(exc).__name__}: {exc} (file kept at {keep})")


def test_mutated_files_through_the_command(tmp_path: Path) -> None:
    """Exit 0 with an output, or exit 2 with one line; never a traceback."""
    seeds = _seeds()
    rng = np.random.default_rng(7)
    names = [n for n in sorted(seeds) if not n.endswith(".npy")]
    for i in range(CLI_CASES):
        name = names[i % len(names)]
        src = tmp_path / f"in{i}{name[name.index('.') :]}"
        src.write_bytes(_mutate(seeds[name], rng))
        out = tmp_path / f"out{i}.png"
        proc = subprocess.run([sys.executable, "-m", "gencor", "smooth", str(src), "-o", str(out), "--quiet"], capture_output=True, text=True, timeout=120)
        assert "Traceback" not in proc.stderr, proc.stderr
        if proc.returncode == 0:
            assert out.is_file()
        else:
            assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(dtype=st.sampled_from([np.float64, np.float32, np.uint8, np.uint16, np.int16]), shape=st.tuples(st.integers(0, 40), st.integers(0, 40))))
def test_as_image_on_any_array(arr: np.ndarray) -> None:
    try:
        out = as_image(arr, channel_axis=None)
    except (ValueError, TypeError) as exc:
        assert "\n" not in str(exc)
        assert isinstance(exc, ValueError) or arr.dtype == np.int16  # int16 holds no photo's bit depth
        return
    assert out.shape == arr.shape and np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1


@settings(max_examples=60, deadline=None)
@given(arrays(dtype=st.sampled_from([np.float64, np.int32]), shape=st.tuples(st.integers(0, 9), st.integers(0, 9))))
def test_as_kernel_on_any_array(arr: np.ndarray) -> None:
    try:
        k = as_kernel(arr)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    assert k.shape == arr.shape and np.all(k >= 0) and abs(k.sum() - 1) < 1e-9


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(16, 40), st.integers(16, 40), st.floats(0.0, 1.0), st.booleans())
def test_deconvolve_and_smooth_on_any_valid_image(h: int, w: int, level: float, noisy: bool) -> None:
    from gencor.tasks.deconv import deconvolve
    from gencor.tasks.smooth import smooth

    img = np.full((h, w), level)
    if noisy:
        img = np.clip(img + np.random.default_rng(h * w).normal(0, 0.2, img.shape), 0, 1)
    k = np.ones((3, 5)) / 15
    for out in (deconvolve(img, k).image, smooth(img).image):
        assert out.shape == img.shape and np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["png", "tif"]), st.sampled_from([8, 16]), st.booleans(), st.booleans())
def test_write_then_read_keeps_mode_and_depth(tmp_path_factory: pytest.TempPathFactory, fmt: str, depth: int, color: bool, alpha: bool) -> None:
    rng = np.random.default_rng(depth + 2 * color + 4 * alpha)
    shape = (17, 23, 3) if color else (17, 23)
    pixels = np.round(rng.uniform(size=shape) * (2**depth - 1)) / (2**depth - 1)
    photo = Photo(pixels, np.round(rng.uniform(size=(17, 23)) * 255) / 255 if alpha else None, depth)
    path = tmp_path_factory.mktemp("rt") / f"x.{fmt}"
    write_image(path, photo)
    back = read_image(path)
    assert back.bit_depth == depth and back.is_color == color and (back.alpha is None) == (not alpha)
    np.testing.assert_allclose(back.pixels, pixels, atol=1e-12)
