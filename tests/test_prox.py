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
    for v, x in zip(vs, ours):
        ref = _brute(v, tau, p)
        cost = lambda z: 0.5 * (z - v) ** 2 + tau * ((z != 0) if p == 0 else abs(z) ** p)  # noqa: E731
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
            lambda q: 0.5 * np.sum((q - k.ravel()) ** 2),
            np.full(k.size, 1 / k.size),
            constraints=[{"type": "eq", "fun": lambda q: q.sum() - 1}],
            bounds=[(0, None)] * k.size,
            method="SLSQP",
            options={"ftol": 1e-12, "maxiter": 500},
        )
        np.testing.assert_allclose(z.ravel(), ref.x, atol=1e-5)
    simplex_point = np.full((3, 3), 1 / 9)
    np.testing.assert_allclose(project_simplex(simplex_point), simplex_point)
