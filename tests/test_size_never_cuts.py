"""Issue #30, item 3: the automatic kernel size never cuts the blur.

Only the 15 px shake is tested: on the photos of this file it held on every case tried (seeds
0-2, sigma 0.002 and 0.01, 192 px: sizes 19-35 for a 16 px support). The 41 and 75 px shakes do
not hold yet, so they have no test until the size is fixed: at 256 px, seeds 0-2, sigma 0.002 and
0.01, the 41 px shake (42 px support) got 33-41 on 3 of 6 cases, the 75 px one (76 px support)
23-71 on all 6.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from conftest import shapes_image
from gencor.bench.peer_cases import odd_extent
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
