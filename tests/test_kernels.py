"""Kernel step, clean-up, centring, trajectories and the pyramid."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage

from conftest import shapes_image
from gencor.kernels import (
    center_kernel,
    clean_kernel,
    kernel_step,
    random_motion_kernel,
)
from gencor.kernels.estimate import pyramid_sizes
from gencor.metrics import kernel_similarity
from gencor.operators import Convolution, Gradient


def test_kernel_step_recovers_kernel_from_sharp_gradients(rng: np.random.Generator) -> None:
    x = shapes_image(80)
    k = random_motion_kernel(11, rng)
    grad = Gradient(x.shape)
    g = grad.forward(Convolution(k, x.shape).forward(x))
    est = kernel_step(grad.forward(x), g, 11, eta=1e-4)
    assert est.min() >= 0 and est.sum() == pytest.approx(1.0)
    assert kernel_similarity(est, k) > 0.98


def test_trajectory_kernels(rng: np.random.Generator) -> None:
    for size in (7, 21, 51):
        k = random_motion_kernel(size, rng)
        assert k.shape == (size, size)
        assert k.min() >= 0 and k.sum() == pytest.approx(1.0)
        assert np.count_nonzero(k) > 2  # a trajectory, not a dot
    a = random_motion_kernel(15, np.random.default_rng(3))
    b = random_motion_kernel(15, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        random_motion_kernel(8, rng)


def test_clean_kernel_drops_weak_isolated_blobs() -> None:
    k = np.zeros((15, 15))
    k[7, 3:12] = 1.0
    k[1, 1] = 0.04  # faint and far away
    k[13, 13] = 0.3  # connected to nothing, weak total mass
    out = clean_kernel(k)
    assert out[1, 1] == 0 and out[13, 13] == 0
    assert out.sum() == pytest.approx(1.0)
    assert np.count_nonzero(out) == 9


def test_center_kernel() -> None:
    k = np.zeros((11, 11))
    k[1:4, 0:3] = 1.0
    out = center_kernel(k)
    cy, cx = ndimage.center_of_mass(out)
    assert abs(cy - 5) <= 0.5 and abs(cx - 5) <= 0.5
    assert out.sum() == pytest.approx(1.0)


def test_pyramid_goes_coarse_to_fine() -> None:
    levels = pyramid_sizes(31)
    assert levels[-1] == (1.0, 31)
    assert levels[0][1] <= 5
    assert all(a[0] < b[0] for a, b in itertools.pairwise(levels))
