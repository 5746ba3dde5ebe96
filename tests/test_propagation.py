"""Psi never increases under the Corrector, whatever the Generator returns."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import shapes_image
from gencor.kernels import random_motion_kernel
from gencor.operators import Convolution, Gradient, Mask
from gencor.propagation import DataFidelity, IdentityGenerator, LpPrior, ShrinkageGenerator, propagate


class AdversarialGenerator:
    """Returns noise, sometimes huge, sometimes NaN: the worst a network could do."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray:
        out = u0 + self.rng.normal(scale=10.0 ** self.rng.integers(-3, 2), size=u0.shape)
        if stage % 5 == 4:
            out[0, 0, 0] = np.nan
        return out


class OracleGenerator:
    """Returns the true sharp gradients: a proposal the Corrector should accept."""

    def __init__(self, truth: np.ndarray) -> None:
        self.truth = truth

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray:
        return self.truth


def _deblur_problem(rng: np.random.Generator) -> tuple[DataFidelity, np.ndarray]:
    x = shapes_image(48)
    k = random_motion_kernel(7, rng)
    grad = Gradient(x.shape)
    g = grad.forward(Convolution(k, x.shape).forward(x)) + 0.01 * rng.normal(size=(2, *x.shape))
    return DataFidelity(Convolution(k, x.shape), g), grad.forward(x)


@pytest.mark.parametrize("p", [0.8, 0.5, 0.0])
def test_psi_monotone_with_adversarial_generator(p: float, rng: np.random.Generator) -> None:
    data, _ = _deblur_problem(rng)
    prior = LpPrior(0.01, p)
    run = propagate(data, prior, data.y, gammas=[0.05, 0.1, 0.2, 0.5, 1.0] * 4, generator=AdversarialGenerator(rng))
    assert len(run.psi) == 21
    assert np.all(np.diff(run.psi) <= 1e-12 * run.psi[0])
    assert np.all(np.isfinite(run.psi))


def test_psi_monotone_for_masks(rng: np.random.Generator) -> None:
    x = shapes_image(40)
    mask = rng.uniform(size=x.shape) > 0.5
    data = DataFidelity(Mask(mask), mask * x)
    run = propagate(data, LpPrior(0.02, 0.8), np.zeros_like(x)[None], gammas=[0.5] * 10, generator=AdversarialGenerator(rng))
    assert np.all(np.diff(run.psi) <= 1e-12 * max(run.psi[0], 1))


def test_naive_cascade_can_increase_psi(rng: np.random.Generator) -> None:
    """Without the Corrector the same generator ruins the objective: the check matters."""
    data, _ = _deblur_problem(rng)
    run = propagate(data, LpPrior(0.01), data.y, gammas=[0.1] * 6, generator=AdversarialGenerator(rng), corrector=False)
    assert np.any(np.diff(run.psi) > 0) or not np.all(np.isfinite(run.psi))


def test_good_proposals_are_accepted(rng: np.random.Generator) -> None:
    data, truth = _deblur_problem(rng)
    prior = LpPrior(0.002)
    start = data.y
    oracle = propagate(data, prior, start, gammas=[0.5] * 3, generator=OracleGenerator(truth))
    plain = propagate(data, prior, start, gammas=[0.5] * 3, generator=IdentityGenerator())
    assert oracle.accepted[0]
    assert oracle.psi[-1] < plain.psi[-1]


def test_shrinkage_generator_lowers_psi(rng: np.random.Generator) -> None:
    data, _ = _deblur_problem(rng)
    prior = LpPrior(0.005)
    gammas = tuple(np.geomspace(0.1, 1, 8))
    run = propagate(data, prior, data.y, gammas=gammas, generator=ShrinkageGenerator(prior, gammas))
    assert run.psi[-1] < 0.9 * run.psi[0]


@pytest.mark.parametrize("beta", [0.05, 1.0, 50.0])
def test_psi_monotone_on_split_fidelity(beta: float, rng: np.random.Generator) -> None:
    """The kernel-estimation data term: monotone with an adversarial Generator, group l0 prior."""
    from gencor.propagation import SplitFidelity

    x = shapes_image(40)
    k = random_motion_kernel(7, rng)
    y = Convolution(k, x.shape).forward(x) + 0.01 * rng.normal(size=x.shape)
    data = SplitFidelity(Convolution(k, x.shape), y, beta)
    prior = LpPrior(0.004, 0.0, group_axis=0)
    run = propagate(data, prior, Gradient(x.shape).forward(y), gammas=[beta] * 12, generator=AdversarialGenerator(rng))
    assert np.all(np.diff(run.psi) <= 1e-12 * run.psi[0])
