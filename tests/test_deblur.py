"""End-to-end: blind deblurring of synthetic photos the test makes, gray and color."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from conftest import shapes_image
from gencor.kernels import random_motion_kernel
from gencor.metrics import image_scores, kernel_similarity
from gencor.tasks.deblur import deblur
from gencor.tasks.deconv import deconvolve


def _blur(x: np.ndarray, k: np.ndarray, rng: np.random.Generator, sigma: float = 0.002) -> np.ndarray:
    r = k.shape[0] // 2
    padded = np.pad(x, r, mode="reflect")  # real content beyond the frame, not zeros
    return fftconvolve(padded, k, mode="valid") + sigma * rng.normal(size=x.shape)


def test_blind_recovery_of_kernel_and_image() -> None:
    rng = np.random.default_rng(0)
    x = shapes_image(160, seed=0)
    k = random_motion_kernel(11, rng, extent=9)
    y = _blur(x, k, rng)
    result = deblur(y, kernel_size=15, trace=True)
    assert result.kernel.shape == (15, 15)
    assert result.kernel.sum() == pytest.approx(1.0)
    assert kernel_similarity(result.kernel, k) >= 0.8
    assert image_scores(result.image, x)["psnr"] >= image_scores(y, x)["psnr"] + 3.0
    assert all(len(psi) for rec in result.estimate.scales for psi in rec.psi)  # traced
    for rec in result.estimate.scales:
        for psi in rec.psi:
            assert np.all(np.diff(psi) <= 1e-9 * psi[0])


def test_color_deblur_keeps_layout() -> None:
    rng = np.random.default_rng(1)
    gray = shapes_image(96, seed=1)
    x = np.stack([gray, gray[::-1], 0.5 * gray + 0.25], axis=0)  # channels first
    k = random_motion_kernel(7, rng, extent=5)
    y = np.stack([_blur(c, k, rng) for c in x], axis=0)
    result = deblur(np.clip(y, 0, 1), kernel_size=9, channel_axis=0)
    assert result.image.shape == x.shape
    assert result.image.min() >= 0 and result.image.max() <= 1


def test_non_blind_deconvolution_sharpens() -> None:
    rng = np.random.default_rng(2)
    x = shapes_image(96, seed=2)
    k = random_motion_kernel(11, rng)
    y = _blur(x, k, rng)
    sharp = deconvolve(y, k).image
    assert image_scores(sharp, x)["psnr"] >= image_scores(y, x)["psnr"] + 5.0


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"kernel_size": 14}, ValueError),
        ({"kernel_size": -3}, ValueError),
        ({"kernel_size": 61}, ValueError),
        ({"kernel_size": 7.0}, TypeError),
        ({"kernel_size": "big"}, ValueError),
        ({"generator": "magic"}, ValueError),
    ],
)
def test_bad_options(kwargs: dict, exc: type) -> None:
    with pytest.raises(exc):
        deblur(shapes_image(64), **kwargs)


@pytest.mark.parametrize(
    "image, exc",
    [
        (np.full((64, 64), np.nan), ValueError),
        (np.where(np.eye(64) > 0, np.inf, 0.5), ValueError),
        (np.zeros((0, 0)), ValueError),
        (np.zeros((8, 8)), ValueError),
        (np.zeros((4, 64, 64)), ValueError),
        ([[0.5] * 64] * 64, TypeError),
        (np.full((64, 64), "a"), TypeError),
    ],
)
def test_bad_images(image: object, exc: type) -> None:
    with pytest.raises(exc):
        deblur(image)  # type: ignore[arg-type]


def test_bad_kernels() -> None:
    x = shapes_image(64)
    for kernel, exc in ((np.full((3, 3), np.nan), ValueError), (-np.ones((3, 3)), ValueError), (np.ones(3), ValueError), ("k", TypeError)):
        with pytest.raises(exc):
            deconvolve(x, kernel)  # type: ignore[arg-type]
