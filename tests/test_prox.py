"""Each prox against a brute-force scalar search, and the simplex projection."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from gencor.prox import lp_threshold, project_simplex, prox_l0, prox_l1, prox_lp

GRID = np.linspace(-4, 4, 160001)


def _brute(v: float, tau: float, p: float) -> float:
    penalty = np.count_nonzero if p == 0 else None
    cost = 0.5 * (GRID - v) ** 2 + tau * (np.abs(GRID) > 0 if penalty else np.abs(GRID) ** p)
    return float(GRID[np.argmin(cost)])


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.8, 1.0])
@pytest.mark.parametrize("tau", [0.05, 0.4, 1.0])
def test_prox_lp_matches_brute_force(p: float, tau: float) -> None:
    vs = np.linspace(-3, 3, 61) + 0.013
    ours = prox_lp(vs, tau, p)
    for v, x in zip(vs, ours, strict=True):
        ref = _brute(v, tau, p)
        cost = lambda z, v=v: 0.5 * (z - v) ** 2 + tau * ((z != 0) if p == 0 else abs(z) ** p)  # noqa: E731
        # Same minimiser, or (at a tie) the same cost.
        assert abs(x - ref) < 1e-3 or abs(cost(x) - cost(ref)) < 1e-6


def test_named_proxes_agree() -> None:
    v = np.linspace(-2, 2, 41)
    np.testing.assert_allclose(prox_l1(v, 0.5), prox_lp(v, 0.5, 1.0))
    np.testing.assert_allclose(prox_l0(v, 0.5), prox_lp(v, 0.5, 0.0))


def test_threshold_is_the_jump() -> None:
    tau, p = 0.3, 0.8
    t = lp_threshold(tau, p)
    assert prox_lp(np.array([t * 0.999]), tau, p)[0] == 0
    assert prox_lp(np.array([t * 1.001]), tau, p)[0] > 0


def test_prox_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        prox_lp(np.ones(3), 0.1, 1.5)
    with pytest.raises(ValueError):
        prox_lp(np.ones(3), -0.1, 0.5)


def test_project_simplex(rng: np.random.Generator) -> None:
    for _ in range(5):
        k = rng.normal(size=(4, 5))
        z = project_simplex(k)
        assert z.min() >= 0 and z.sum() == pytest.approx(1.0)
        ref = minimize(
            lambda q, k=k: 0.5 * np.sum((q - k.ravel()) ** 2),
            np.full(k.size, 1 / k.size),
            constraints=[{"type": "eq", "fun": lambda q: q.sum() - 1}],
            bounds=[(0, None)] * k.size,
            method="SLSQP",
            options={"ftol": 1e-12, "maxiter": 500},
        )
        np.testing.assert_allclose(z.ravel(), ref.x, atol=1e-5)
    simplex_point = np.full((3, 3), 1 / 9)
    np.testing.assert_allclose(project_simplex(simplex_point), simplex_point)


@pytest.mark.parametrize("p", [0.0, 0.5, 0.8, 1.0])
def test_group_prox_matches_brute_force_in_2d(p: float) -> None:
    """The isotropic prox of a 2-vector against a search over a polar grid."""
    tau = 0.3
    radii = np.linspace(0, 3, 3001)
    angles = np.linspace(0, 2 * np.pi, 721)
    cand = np.stack([np.outer(radii, np.cos(angles)).ravel(), np.outer(radii, np.sin(angles)).ravel()])
    penalty = (radii > 0).astype(float) if p == 0 else radii**p
    for v in ([1.0, 0.5], [0.2, -0.3], [-2.0, 1.2], [0.55, 0.0]):
        v = np.array(v)
        ours = prox_lp(v[:, None], tau, p, group_axis=0)[:, 0]
        cost = 0.5 * np.sum((cand - v[:, None]) ** 2, axis=0) + tau * np.repeat(penalty, angles.size)
        best = cand[:, np.argmin(cost)]
        ours_cost = 0.5 * np.sum((ours - v) ** 2) + tau * ((np.linalg.norm(ours) > 0) if p == 0 else np.linalg.norm(ours) ** p)
        assert ours_cost <= cost.min() + 1e-4
        assert np.linalg.norm(ours - best) < 0.02 or abs(ours_cost - cost.min()) < 1e-4


def test_wavelet_prior_prox_is_the_minimiser(rng: np.random.Generator) -> None:
    """``W^T prox(W v)`` beats every random perturbation on the prox objective."""
    from gencor.operators import Wavelet
    from gencor.propagation import WaveletPrior

    prior = WaveletPrior(Wavelet((16, 16), levels=2), 0.05, 0.8)
    v = rng.normal(0, 0.5, (16, 16))
    x = prior.prox(v, 1.0)

    def objective(z: np.ndarray) -> float:
        return 0.5 * float(np.sum((z - v) ** 2)) + prior.value(z)

    best = objective(x)
    for scale in (1e-3, 1e-2, 1e-1):
        for _ in range(20):
            assert objective(x + scale * rng.normal(size=x.shape)) >= best - 1e-12
