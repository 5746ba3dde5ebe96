"""The dark-channel L0 estimator family (gencor.kernels.l0): its pieces and a curved shake."""

from __future__ import annotations

import numpy as np
from scipy import fft
from scipy.signal import fftconvolve

from conftest import shapes_image
from gencor.assess import kernel_similarity
from gencor.kernels.l0 import L0Config, _grad, dark_aux, estimate_kernel_l0, kernel_cg, latent_l0, select_gradients
from gencor.kernels.trajectory import random_motion_kernel
from gencor.operators.convolution import psf2otf


def _periodic_blur(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    return fft.irfft2(fft.rfft2(x) * psf2otf(k, x.shape), s=x.shape)


def test_kernel_solve_recovers_the_kernel_from_exact_gradients() -> None:
    x = shapes_image(96, seed=3)
    k = random_motion_kernel(11, np.random.default_rng(0), extent=8)
    lx, ly = _grad(x)
    bx, by = _grad(_periodic_blur(x, k))
    est = kernel_cg(lx, ly, bx, by, np.full((11, 11), 1 / 121), 1e-6, 200)
    assert kernel_similarity(np.maximum(est, 0), k) > 0.98


def test_edge_selection_keeps_every_orientation() -> None:
    x = shapes_image(96, seed=4) + 0.01 * np.random.default_rng(0).standard_normal((96, 96))
    gx, gy = select_gradients(x, 9, 2.0)
    kept = np.hypot(gx, gy) > 0
    angle = np.mod(np.arctan2(gy, gx), np.pi)[kept]
    counts = np.bincount(np.minimum((angle / (np.pi / 4)).astype(int), 3), minlength=4)
    assert counts.min() >= 18  # 2 x kernel size in each of the four bins
    assert kept.mean() < 0.5  # and far from all of them


def test_dark_aux_zeroes_only_dark_patch_minima() -> None:
    x = np.full((20, 20), 0.5)
    x[5, 5] = 0.01  # the minimum of every patch around it
    x[15, 15] = 0.3  # a minimum too, but not dark enough
    a = dark_aux(x, 5, threshold=0.01)
    assert a[5, 5] == 0.0 and a[15, 15] == 0.3
    assert np.all(a[x == 0.5] == 0.5)


def test_latent_step_with_the_true_kernel_is_sharper_than_the_input() -> None:
    x = shapes_image(96, seed=5)
    k = random_motion_kernel(15, np.random.default_rng(2), extent=12)
    y = _periodic_blur(x, k)
    u = latent_l0(y, k, 2e-3, 0.0, 2e-3, L0Config())
    assert np.mean((u - x) ** 2) < 0.5 * np.mean((y - x) ** 2)


def _tiled_scene(n: int, seed: int) -> np.ndarray:
    """Four independent piecewise-smooth tiles: edges in every direction."""
    t = n // 2
    return np.vstack([np.hstack([shapes_image(t, seed=seed * 10 + 2 * i + j) for j in range(2)]) for i in range(2)])


def test_dark_family_follows_a_curved_noisy_shake() -> None:
    rng = np.random.default_rng(8)
    k = random_motion_kernel(23, rng, extent=21)
    y = np.clip(fftconvolve(_tiled_scene(182, 8), k, mode="valid") + 0.01 * rng.standard_normal((160, 160)), 0, 1)
    est = estimate_kernel_l0(y, 29)
    assert est.kernel.shape == (29, 29) and abs(est.kernel.sum() - 1) < 1e-9
    assert kernel_similarity(est.kernel, k) > 0.55


def test_deblur_progress_counts_both_families_from_the_start() -> None:
    # The bar must not fill up and then fall back when the second family starts.
    from gencor.tasks.deblur import deblur

    sharp = np.kron(np.random.default_rng(1).uniform(size=(20, 20)), np.ones((8, 8)))
    k = np.zeros((9, 9))
    k[4, 1:8] = 1 / 7
    calls: list[tuple[int, int, str]] = []
    deblur(np.clip(_periodic_blur(sharp, k), 0, 1), generator="none", progress=lambda d, t, p: calls.append((d, t, p)))
    assert {t for _, t, _ in calls} == {calls[-1][1]} and calls[-1][0] == calls[-1][1]
    assert any(p.startswith("dark channel") for _, _, p in calls)
