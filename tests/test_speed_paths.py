"""The shortcuts taken for speed and memory give the same restorations: lights solved on tiles
around them, large photos deconvolved tile by tile, and the Corrector's early rejection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import fftconvolve

import gencor.tasks.deconv as deconv
from conftest import shapes_image
from gencor.operators.convolution import Convolution
from gencor.propagation.fidelity import SplitFidelity
from gencor.propagation.gcm import LpPrior, propagate


def _blur(scene: np.ndarray, k: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = fftconvolve(scene, k, mode="valid")
    return np.clip(y + sigma * rng.standard_normal(y.shape), 0, 1)


def _kernel(n: int) -> np.ndarray:
    k = np.zeros((n, n))
    k[n // 2, :] = 1.0
    k[n // 2 - 1, : n // 2] = 0.5
    return k / k.sum()


def _rms(a: np.ndarray, b: np.ndarray, border: int) -> float:
    return float(np.sqrt(np.mean((a - b)[border:-border, border:-border] ** 2)))


def test_lights_solved_on_tiles_match_the_whole_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    k = _kernel(9)
    r = k.shape[0] // 2
    scene = 0.3 + 0.4 * shapes_image(320 + 2 * r, seed=2)
    scene[40:44, 40:44] = 6.0  # one light in a corner: the tiles cover a small part of the frame
    y = _blur(scene, k, 0.002, seed=2)
    truth = np.clip(scene[r:-r, r:-r], 0, 1)
    clipped = y >= deconv.CLIP_LEVEL
    tiles = deconv._light_tiles(clipped, k.shape[0])
    assert sum((a.stop - a.start) * (b.stop - b.start) for a, b in tiles) < deconv.TILE_SHARE * y.size
    tiled = deconv.deconvolve_plane(y, k, lam=3e-4, clipped=clipped)
    monkeypatch.setattr(deconv, "TILE_SHARE", 0.0)
    whole = deconv.deconvolve_plane(y, k, lam=3e-4, clipped=clipped)
    plain = deconv.deconvolve_plane(y, k, lam=3e-4)
    err = {name: _rms(np.clip(x, 0, 1), truth, 20) for name, x in (("tiled", tiled), ("whole", whole), ("plain", plain))}
    assert err["tiled"] <= 1.1 * err["whole"] < 0.8 * err["plain"], err


def test_large_photos_deconvolved_by_tiles_match_the_whole_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    k = _kernel(7)
    r = k.shape[0] // 2
    scene = shapes_image(300 + 2 * r, seed=4)
    y = np.stack([_blur(scene, k, 0.002, seed=4), _blur(scene[::-1], k, 0.002, seed=5)], axis=-1)
    truth = np.stack([scene[r:-r, r:-r], scene[::-1][r:-r, r:-r]], axis=-1)
    whole = deconv.deconvolve(y, k, channel_axis=-1).image
    monkeypatch.setattr(deconv, "FRAME_TILE", 128)
    tiled = deconv.deconvolve(y, k, channel_axis=-1).image
    assert tiled.shape == y.shape and np.all(np.isfinite(tiled))
    assert _rms(tiled, truth, 20) <= 1.1 * _rms(whole, truth, 20)


def test_early_rejection_keeps_the_corrector_decisions() -> None:
    """Rejecting a proposal on its prior term alone gives the decisions that its full Psi gives."""
    rng = np.random.default_rng(0)
    y = shapes_image(64, seed=1).astype(np.float32)
    data = SplitFidelity(Convolution(_kernel(5), y.shape), y, 4.0)
    prior = LpPrior(0.002, 0.0, group_axis=0)
    proposals: list[np.ndarray] = []

    def generator(u: np.ndarray, stage: int) -> np.ndarray:
        # Every other proposal is the warm start made sparse (often accepted), the others dense.
        out = prior.prox(u, 0.5) if stage % 2 else u + (0.01 * rng.standard_normal(u.shape)).astype(u.dtype)
        proposals.append(out)
        return out

    u0 = prior.prox(np.stack(np.gradient(y))[::-1].astype(np.float32), 0.5)
    run = propagate(data, prior, u0, gammas=[4.0] * 8, generator=generator)
    full = [data.value(p) + prior.value(p) <= run.psi[t] for t, p in enumerate(proposals)]
    assert list(run.accepted) == full
    assert any(full) and not all(full)


def test_corrector_alone_skips_what_only_the_record_needs() -> None:
    """Without a Generator the stage is the Corrector's proximal-gradient step from ``u^t``: the
    same iterate with or without ``Psi`` recorded, and ``Psi`` still never rises."""
    y = shapes_image(64, seed=3).astype(np.float32)
    data = SplitFidelity(Convolution(_kernel(5), y.shape), y, 4.0)
    prior = LpPrior(0.002, 0.0, group_axis=0)
    u0 = prior.prox(np.stack(np.gradient(y))[::-1].astype(np.float32), 0.5)
    traced = propagate(data, prior, u0, gammas=[4.0] * 6)
    quiet = propagate(data, prior, u0, gammas=[4.0] * 6, trace=False)
    np.testing.assert_array_equal(traced.u, quiet.u)
    assert quiet.psi.size == 0 and traced.psi.size == 7
    assert np.all(np.diff(traced.psi) <= 1e-6 * traced.psi[0])
    step = u0
    for _ in range(6):
        step = prior.prox(step - data.grad(step) / data.lipschitz, 1.0 / data.lipschitz)
    np.testing.assert_allclose(traced.u, step, rtol=0, atol=1e-6)


def test_estimator_without_the_record_finds_the_same_kernel() -> None:
    """``trace=False`` and not proposing the warm starts (the Corrector refuses them) leave the
    kernel as it was; the untraced estimate has no curves to plot."""
    from gencor.generators import generator_factory
    from gencor.kernels.estimate import estimate_kernel
    from gencor.plots import convergence_plot
    from gencor.propagation.gcm import IdentityGenerator

    k = _kernel(9)
    y = _blur(shapes_image(136, seed=4), k, 0.003, seed=4)

    def warm_starts(*args: object) -> IdentityGenerator:
        return IdentityGenerator()

    proposing = estimate_kernel(y, 9, generator=warm_starts)
    traced = estimate_kernel(y, 9, generator=generator_factory("none"))
    quiet = estimate_kernel(y, 9, generator=generator_factory("none"), trace=False)
    np.testing.assert_array_equal(traced.kernel, quiet.kernel)
    np.testing.assert_array_equal(proposing.kernel, traced.kernel)
    assert not any(a.any() for rec in proposing.scales for a in rec.accepted)
    with pytest.raises(ValueError, match="trace=True"):
        convergence_plot(quiet, Path("never.png"))
