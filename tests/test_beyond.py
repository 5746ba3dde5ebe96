"""Inpainting, L0 smoothing and pencil sketches: monotone Psi, improvement over the input, bad inputs, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import shapes_image
from gencor.cli import main
from gencor.io import Photo, read_image, write_image
from gencor.metrics import image_scores
from gencor.tasks.inpaint import fill_missing, inpaint
from gencor.tasks.sketch import sketch, strokes, tone_histogram
from gencor.tasks.smooth import l0_objective, smooth


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a - b) ** 2)))


def _monotone(psi: np.ndarray) -> bool:
    return bool(np.all(np.diff(psi) <= 1e-6 * abs(psi[0])))


# --- smoothing -----------------------------------------------------------------------------------


def test_smoothing_flattens_noise_keeps_edges_and_lowers_the_objective(rng: np.random.Generator) -> None:
    clean = np.full((64, 64), 0.25)
    clean[:, 30:] = 0.75
    clean[20:44, 10:24] = 0.5  # piecewise constant: a step and a block
    noisy = np.clip(clean + rng.normal(0, 0.03, clean.shape), 0, 1)
    result = smooth(noisy, lam=0.01)
    assert all(_monotone(p) for p in result.psi)
    assert _psnr(result.image, clean) > _psnr(noisy, clean) + 5
    assert np.abs(result.image[:, 34] - result.image[:, 26]).min() > 0.4  # the edge survives
    assert l0_objective(result.image, noisy, 0.01) < 0.5 * l0_objective(noisy, noisy, 0.01)


def test_color_smoothing_keeps_layout() -> None:
    rgb = np.stack([shapes_image(48, seed=s) for s in range(3)])  # channels first
    out = smooth(rgb, lam=0.02, channel_axis=0).image
    assert out.shape == rgb.shape and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("kwargs", [{"lam": 0.0}, {"lam": -1.0}, {"beta_rate": 1.0}, {"stages": 0}])
def test_smoothing_bad_options(kwargs: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        smooth(shapes_image(32), **kwargs)


# --- inpainting ----------------------------------------------------------------------------------


def test_inpainting_fills_random_holes(rng: np.random.Generator) -> None:
    clean = shapes_image(64)
    observed = rng.uniform(size=clean.shape) > 0.6
    result = inpaint(clean * observed, observed)
    assert _monotone(result.psi)
    assert np.array_equal(result.image[observed], clean[observed])  # observed pixels are kept
    assert _psnr(result.image, clean) > _psnr(clean * observed, clean) + 15
    assert _psnr(result.image, clean) >= _psnr(fill_missing(clean * observed, observed), clean) - 0.5


def test_inpainting_color_text_like_mask_and_corrector_only() -> None:
    clean = np.stack([shapes_image(48, seed=s) for s in range(3)], axis=-1)
    mask = np.full((48, 48), 255, dtype=np.uint8)
    mask[20:23, 5:40] = 0  # a stroke of "text"
    for gen in ("cnn", "none"):
        result = inpaint(clean, mask, channel_axis=-1, generator=gen)
        assert result.image.shape == clean.shape
        assert np.abs(result.image[20:23, 5:40] - clean[20:23, 5:40]).mean() < 0.05


@pytest.mark.parametrize(
    ("mask", "exc", "match"),
    [
        (np.ones((30, 32)), ValueError, "does not match"),
        (np.zeros((32, 32)), ValueError, "every pixel"),
        (np.full((32, 32), np.nan), ValueError, "NaN"),
        ([[1, 0]], TypeError, "NumPy array"),
        (np.ones((32, 32), dtype=complex), TypeError, "real"),
    ],
)
def test_inpainting_bad_masks(mask: object, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        inpaint(shapes_image(32), mask)  # type: ignore[arg-type]


def test_inpainting_bad_options() -> None:
    with pytest.raises(ValueError, match="unknown generator"):
        inpaint(shapes_image(32), np.ones((32, 32)), generator="magic")


# --- sketch --------------------------------------------------------------------------------------


def test_sketch_draws_edges_darker_than_flat_areas() -> None:
    img = np.full((64, 64), 0.8)
    img[:, 32:] = 0.2
    s = strokes(img)
    assert s[:, 30:34].mean() < s[:, 5:20].mean() - 0.2
    drawing = sketch(img).image
    assert drawing.shape == img.shape and drawing.min() >= 0 and drawing.max() <= 1
    assert drawing[:, 31:33].mean() < drawing[:, 5:20].mean()
    assert tone_histogram().sum() == pytest.approx(1.0)


def test_color_sketch_and_bad_options() -> None:
    rgb = np.stack([shapes_image(48, seed=s) for s in range(3)], axis=-1)
    out = sketch(rgb, channel_axis=-1, color=True).image
    assert out.shape == rgb.shape
    assert sketch(rgb, channel_axis=-1, smoothing=None).image.shape == (48, 48)
    with pytest.raises(ValueError, match="color"):
        sketch(rgb[..., 0], color=True)
    with pytest.raises(ValueError, match="smoothing"):
        sketch(rgb[..., 0], smoothing=-1.0)


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_beyond_commands(tmp_path: Path, rng: np.random.Generator) -> None:
    clean = np.stack([shapes_image(64, seed=s) for s in range(3)], axis=-1)
    observed = rng.uniform(size=(64, 64)) > 0.5
    write_image(tmp_path / "in.png", Photo(clean * observed[..., None], None, 8))
    write_image(tmp_path / "mask.png", Photo(observed.astype(float), None, 8))
    assert main(["inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o", str(tmp_path / "filled.png"), "--quiet"]) == 0
    filled = read_image(tmp_path / "filled.png").pixels
    assert image_scores(filled[..., 1], clean[..., 1])["psnr"] > 25
    assert main(["smooth", str(tmp_path / "filled.png"), "-o", str(tmp_path / "smooth.png"), "--lam", "0.05", "--quiet"]) == 0
    assert main(["sketch", str(tmp_path / "filled.png"), "-o", str(tmp_path / "sketch.png"), "--quiet"]) == 0
    assert main(["sketch", str(tmp_path / "filled.png"), "-o", str(tmp_path / "sketch_c.png"), "--color", "--quiet"]) == 0
    assert read_image(tmp_path / "sketch.png").pixels.ndim == 2 and read_image(tmp_path / "sketch_c.png").is_color


def test_cli_beyond_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_image(tmp_path / "in.png", Photo(shapes_image(40), None, 8))
    write_image(tmp_path / "small_mask.png", Photo(np.ones((30, 40)), None, 8))
    cases = [
        ["inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "small_mask.png"), "-o", str(tmp_path / "o.png")],
        ["inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "none.png"), "-o", str(tmp_path / "o.png")],
        ["inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "small_mask.png"), "-o", str(tmp_path / "in.png")],
        ["smooth", str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"), "--lam", "-1"],
        ["smooth", str(tmp_path / "in.png"), "-o", str(tmp_path / "in.png")],
        ["sketch", str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"), "--color"],
    ]
    for argv in cases:
        before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        try:
            code = main([*argv, "--quiet"])
        except SystemExit as stop:  # refused by the argument parser
            code = stop.code
        assert code == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("gencor") and ": error:" in err and "\n" not in err, (argv, err)
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
