"""Light streaks as kernel evidence: a night scene with point lights, blurred by a curved shake."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import convolve

from gencor.assess import kernel_similarity
from gencor.kernels import random_motion_kernel
from gencor.kernels.estimate import estimate_kernel
from gencor.kernels.l0 import estimate_kernel_l0
from gencor.kernels.streaks import light_streaks, streak_kernel

LIGHTS = [(40, 50), (60, 200), (180, 70), (200, 190), (128, 128)]


def night_scene(seed: int, *, extent: int = 33, size: int = 41) -> tuple[np.ndarray, np.ndarray]:
    """A dim blocky scene with five point lights 300 times brighter than white, shaken, clipped
    and noisy (sigma 0.01): the kernel and the photo."""
    rng = np.random.default_rng(seed)
    k = random_motion_kernel(size, rng, extent=extent)
    x = 0.05 + 0.1 * np.kron(rng.uniform(size=(16, 16)), np.ones((16, 16)))
    for r, c in LIGHTS:
        x[r, c] = 300.0
    return k, np.clip(convolve(x, k, mode="reflect") + rng.normal(0, 0.01, x.shape), 0, 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_streaks_read_the_kernel_where_the_priors_miss_it(seed: int) -> None:
    k, y = night_scene(seed)
    streaks = light_streaks(y, 51)
    assert len(streaks) == len(LIGHTS)  # every light, and nothing else
    found = streak_kernel(y, 51)
    assert found is not None
    kernel, agreement = found
    assert agreement > 0.95  # the five lights draw the same path
    assert kernel_similarity(kernel, k) > 0.7


def test_the_prior_families_miss_the_night_kernel() -> None:
    """The bar above is one neither image-prior family reaches on this scene (a measured fact that
    justifies the streak candidate; if they learn to, this test says so)."""
    k, y = night_scene(0)
    assert kernel_similarity(estimate_kernel(y, 41).kernel, k) < 0.6
    assert kernel_similarity(estimate_kernel_l0(y, 41).kernel, k) < 0.6


def test_a_61_px_curved_shake_is_read_from_the_streaks() -> None:
    """The long curved shake the issue asks for: 61 px. The streaks give it on 4 of seeds 0-4 (on
    seed 2 no light passes the isolation tests, so there is no streak candidate at all), where
    neither prior family reaches 0.5."""
    found = []
    for seed in range(5):
        k, y = night_scene(seed, extent=61, size=65)
        streak = streak_kernel(y, 83)
        found.append(streak is not None and kernel_similarity(streak[0], k) > 0.7)
    assert sum(found) >= 4, found
    k, y = night_scene(0, extent=61, size=65)
    assert kernel_similarity(estimate_kernel(y, 65).kernel, k) < 0.5
    assert kernel_similarity(estimate_kernel_l0(y, 65).kernel, k) < 0.5


def test_no_streak_without_isolated_lights() -> None:
    rng = np.random.default_rng(5)
    assert streak_kernel(rng.uniform(0, 0.8, size=(128, 128)), 31) is None  # nothing bright
    lit = np.full((128, 128), 0.95)  # bright everywhere: no dark surround
    assert streak_kernel(lit, 31) is None
    blob = np.full((128, 128), 0.05)
    blob[40:80, 40:80] = 1.0  # a lit window: too wide for a point light's trail
    assert streak_kernel(blob, 61) is None
