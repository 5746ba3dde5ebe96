"""One run of Algorithm 1: for a fixed forward model, minimise ``Psi(u) = f(u) + phi(u)``.

Each stage ``t``:

1. *Generator.* Warm start ``u0 = argmin f(u) + gamma_t/2 ||u - u^t||^2`` (an exact solve owned by
   the operator), then ``u~ = N^t(u0)``, any map at all: a trained CNN, a shrinkage, the identity.
2. *Corrector.* ``v = u~`` if ``Psi(u~) <= Psi(u^t)`` else ``u^t``; then one proximal-gradient step
   ``u^{t+1} = prox_{mu phi}(v - mu grad f(v))`` with ``mu = 1/L``.

Because the prox is a global minimiser and ``mu <= 1/L``, ``Psi(u^{t+1}) <= Psi(v) <= Psi(u^t)``
whatever the Generator returns; :class:`PropagationResult` records ``Psi`` so callers can check it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np

from gencor.operators.base import LinearOperator
from gencor.prox.lp import prox_lp


@dataclass(frozen=True)
class DataFidelity:
    """``f(u) = 1/2 ||A u - y||^2`` for an operator ``A`` with an exact normal-equation solve."""

    operator: LinearOperator
    y: np.ndarray

    def residual(self, u: np.ndarray) -> np.ndarray:
        return self.operator.forward(u) - self.y

    def value(self, u: np.ndarray) -> float:
        r = self.residual(u)
        return 0.5 * float(np.vdot(r, r))

    @cached_property
    def _aty(self) -> np.ndarray:
        return self.operator.adjoint(self.y)

    def warm_start(self, anchor: np.ndarray, gamma: float) -> np.ndarray:
        """``argmin_u f(u) + gamma/2 ||u - anchor||^2`` (Eq. 4)."""
        return self.operator.solve_normal(self._aty + gamma * anchor, gamma)


@dataclass(frozen=True)
class LpPrior:
    """``phi(u) = lam * sum |u|^p``; ``p = 0.8`` is the hyper-Laplacian of natural-image gradients."""

    lam: float
    p: float = 0.8

    def value(self, u: np.ndarray) -> float:
        if self.p == 0:
            return self.lam * float(np.count_nonzero(u))
        return self.lam * float(np.sum(np.abs(u) ** self.p))

    def prox(self, v: np.ndarray, step: float) -> np.ndarray:
        return prox_lp(v, step * self.lam, self.p)


class Generator(Protocol):
    """Stage ``t``'s learned (or not) map from the warm start to a proposal."""

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray: ...


class IdentityGenerator:
    """``N(u0) = u0``: with it the propagation is the *Corrector-only* variant."""

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray:
        return u0


@dataclass(frozen=True)
class ShrinkageGenerator:
    """``N(u0) = prox_{phi/gamma_t}(u0)``: the analytic Generator of half-quadratic splitting.

    It is the non-learned default: paired with the warm start it is one HQS step, and the
    Corrector keeps the guarantee that HQS alone lacks.
    """

    prior: LpPrior
    gammas: tuple[float, ...]

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray:
        return self.prior.prox(u0, 1.0 / self.gammas[min(stage, len(self.gammas) - 1)])


@dataclass
class PropagationResult:
    """The last iterate, ``Psi(u^t)`` for ``t = 0..T`` and which Generator proposals were accepted."""

    u: np.ndarray
    psi: np.ndarray
    accepted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def propagate(
    data: DataFidelity,
    prior: LpPrior,
    u_init: np.ndarray,
    *,
    gammas: tuple[float, ...] | list[float],
    generator: Generator | None = None,
    corrector: bool = True,
) -> PropagationResult:
    """Run ``len(gammas)`` stages of Algorithm 1 from ``u_init``.

    Parameters
    ----------
    data, prior
        The two terms of ``Psi``.
    u_init
        ``u^0``.
    gammas
        Warm-start weight of each stage.
    generator
        ``N^t``; ``None`` is the identity (Corrector only).
    corrector
        ``False`` gives the naive cascade ``u^{t+1} = N^t(u0)`` with no check and no prox step,
        which has no guarantee; it exists for the ablation.
    """
    generator = generator or IdentityGenerator()
    step = 1.0 / max(data.operator.lipschitz, 1e-12)

    def psi_and_residual(x: np.ndarray) -> tuple[float, np.ndarray]:
        r = data.residual(x)
        return 0.5 * float(np.vdot(r, r)) + prior.value(x), r

    u = np.array(u_init, dtype=float)
    psi_u, r_u = psi_and_residual(u)
    psi = [psi_u]
    accepted = []
    for t, gamma in enumerate(gammas):
        proposal = generator(data.warm_start(u, gamma), t)
        psi_prop, r_prop = psi_and_residual(proposal)
        if not corrector:
            u, psi_u = proposal, psi_prop
            psi.append(psi_u)
            accepted.append(True)
            continue
        take = bool(np.isfinite(psi_prop) and psi_prop <= psi_u)
        v, r_v = (proposal, r_prop) if take else (u, r_u)
        u = prior.prox(v - step * data.operator.adjoint(r_v), step)
        psi_u, r_u = psi_and_residual(u)
        psi.append(psi_u)
        accepted.append(take)
    return PropagationResult(u=u, psi=np.asarray(psi), accepted=np.asarray(accepted))
