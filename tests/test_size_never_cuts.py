"""Issue #30, item 3: the automatic kernel size never cuts the blur.

The 15 px shake held on every case tried (seeds 0-2, sigma 0.002 and 0.01, 192 px: sizes 19-35
for a 16 px support). The 41 px shake (42 px support, 256 px, seeds 0-2, sigma 0.002 and 0.01, on
this file's photos) got 41-73 with the crop to the centred extent
(:func:`~gencor.kernels.size.centred_extent`); before it, seed 2 at sigma 0.002 was cut to 41.
Two of those six are still under the support: seed 1 at sigma 0.002 (39, a wrong compact kernel
of the dark family, similarity 0.23) and seed 2 at sigma 0.01 (41). The 75 px shake (76 px
support) does not hold (17-83 on 6 cases): the kernels found for it are compact blobs, so it has
no test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from conftest import shapes_image
from gencor.bench.peer_cases import odd_extent
from gencor.kernels.size import centred_extent, crop_kernel, kernel_extent, size_for_extent
from gencor.kernels.trajectory import random_motion_kernel
from gencor.tasks.deblur import deblur


def _shake(extent: int, seed: int) -> np.ndarray:
    """A curved camera shake whose path spans ``extent - 1`` px, cut to the bounding box of its
    taps (its support: ``extent`` or one more) and padded to an odd square."""
    k = random_motion_kernel(2 * extent + 1, np.random.default_rng(seed), extent=extent - 1)
    ys, xs = np.nonzero(k)
    k = k[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    side = max(k.shape) + 1 - max(k.shape) % 2
    return np.pad(k, ((0, side - k.shape[0]), (0, side - k.shape[1])))


def _photo(k: np.ndarray, n: int, sigma: float, seed: int) -> np.ndarray:
    """Four piecewise-smooth tiles (edges in every direction), blurred by ``k`` without borders
    of their own (a valid convolution of a larger scene), with Gaussian noise."""
    m = n + k.shape[0] - 1
    t = (m + 1) // 2
    scene = np.vstack([np.hstack([shapes_image(t, seed=10 * seed + 2 * i + j) for j in range(2)]) for i in range(2)])[:m, :m]
    noise = sigma * np.random.default_rng(seed + 100).standard_normal((n, n))
    return np.clip(fftconvolve(scene, k, mode="valid") + noise, 0, 1)


@pytest.mark.parametrize("sigma", [0.002, 0.01])
def test_the_automatic_size_holds_a_15_px_shake(sigma: float) -> None:
    k = _shake(15, seed=0)
    support, _ = odd_extent(k)
    assert support >= 15
    result = deblur(_photo(k, 192, sigma, seed=0), kernel_size="auto", force=True)
    assert result.report.kernel_size >= support, (result.report.kernel_size, support, result.report.candidate)


@pytest.mark.parametrize(("seed", "sigma"), [(2, 0.002), (0, 0.01)])
def test_the_automatic_size_holds_a_41_px_shake(seed: int, sigma: float) -> None:
    k = _shake(41, seed=seed)  # seed 2 was cut to 41 px (of 42) before the centred crop
    support, _ = odd_extent(k)
    result = deblur(_photo(k, 256, sigma, seed=seed), kernel_size="auto", force=True)
    assert result.report.kernel_size >= support, (result.report.kernel_size, support, result.report.candidate)


def test_a_crop_to_the_centred_extent_keeps_every_tap_of_a_lopsided_path() -> None:
    k = np.zeros((61, 61))
    k[30, 15:46] = 1.0
    k[30, 40:46] = 8.0  # most of the mass at one end: the centre of mass is far from the middle
    assert kernel_extent(k) == 31 and centred_extent(k) > 31
    kept = crop_kernel(k, size_for_extent(centred_extent(k), lo=3, hi=61))
    np.testing.assert_allclose(np.sort(kept[kept > 0]), np.sort(k[k > 0]) / k.sum())
    tight = crop_kernel(k, kernel_extent(k))  # the bounding box's side about the centre of mass
    assert np.count_nonzero(tight) < np.count_nonzero(k)
