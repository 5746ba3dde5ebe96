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
from typing import Protocol

import numpy as np

from gencor.operators.wavelet import Wavelet
from gencor.propagation.fidelity import Fidelity
from gencor.prox.lp import as_floating, prox_lp


@dataclass(frozen=True)
class LpPrior:
    """``phi(u) = lam * sum |u|^p``; ``p = 0.8`` is the hyper-Laplacian of natural-image gradients.

    With ``group_axis``, ``|u|`` is the norm along that axis: an isotropic penalty on gradient
    vectors (``p = 0`` then counts pixels with a non-zero gradient, as L0 smoothing does).
    """

    lam: float
    p: float = 0.8
    group_axis: int | tuple[int, ...] | None = None

    def value(self, u: np.ndarray) -> float:
        if self.p == 0:  # a count: the square root of the group norm is not needed
            return self.lam * float(np.count_nonzero(u if self.group_axis is None else np.sum(np.square(u), axis=self.group_axis)))
        mag = np.abs(u) if self.group_axis is None else np.sqrt(np.sum(np.square(u), axis=self.group_axis))
        return self.lam * float(np.sum(mag**self.p))

    def prox(self, v: np.ndarray, step: float) -> np.ndarray:
        return prox_lp(v, step * self.lam, self.p, group_axis=self.group_axis)


@dataclass(frozen=True)
class WaveletPrior:
    """``phi(u) = lam * sum |(W u)_i|^p`` over the detail coefficients of an orthonormal wavelet.

    An image-domain prior with an exact prox, ``W^T prox(W v)``, which is what the Corrector needs
    to keep its guarantee (used for inpainting; Haar details behave like multi-scale gradients).
    """

    transform: Wavelet
    lam: float
    p: float = 0.8

    def value(self, u: np.ndarray) -> float:
        c = self.transform.forward(u)
        return self.lam * float(np.sum(np.abs(c[..., self.transform.detail]) ** self.p))

    def prox(self, v: np.ndarray, step: float) -> np.ndarray:
        c = self.transform.forward(v)
        c[..., self.transform.detail] = prox_lp(c[..., self.transform.detail], step * self.lam, self.p)
        return self.transform.adjoint(c)


class Prior(Protocol):
    """What the Corrector needs of ``phi``: its value and its exact prox."""

    def value(self, u: np.ndarray) -> float: ...

    def prox(self, v: np.ndarray, step: float) -> np.ndarray: ...


class Generator(Protocol):
    """Stage ``t``'s learned (or not) map from the warm start to a proposal."""

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray: ...


class IdentityGenerator:
    """``N(u0) = u0``: with it the propagation is the *Corrector-only* variant."""

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray:
        return u0


@dataclass(frozen=True)
class ShrinkageGenerator:
    """``N(u0) = prox_{phi/gamma_t}(inner(u0))``: the shrinkage step of half-quadratic splitting.

    With the identity as ``inner`` it is one HQS step, and the Corrector keeps the guarantee that
    HQS alone lacks. With a learned ``inner`` (a CNN that sharpens the warm start) the proposal
    is as sparse as the prior wants: a dense network output would always lose the ``Psi`` test
    against a sparse ``u^t`` under an L0 prior.
    """

    prior: LpPrior
    gammas: tuple[float, ...]
    inner: Generator | None = None

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray:
        v = u0 if self.inner is None else self.inner(u0, stage)
        return self.prior.prox(v, 1.0 / self.gammas[min(stage, len(self.gammas) - 1)])


@dataclass
class PropagationResult:
    """The last iterate, ``Psi(u^t)`` for ``t = 0..T`` and which Generator proposals were accepted."""

    u: np.ndarray
    psi: np.ndarray
    accepted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def propagate(
    data: Fidelity,
    prior: Prior,
    u_init: np.ndarray,
    *,
    gammas: tuple[float, ...] | list[float],
    generator: Generator | None = None,
    corrector: bool = True,
    step_scale: float = 1.0,
    trace: bool = True,
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
        ``N^t``. ``None``: no Generator, the Corrector's proximal-gradient step from ``u^t`` alone
        (Corrector only). :class:`IdentityGenerator` proposes the warm start itself.
    trace
        Record ``Psi`` after every stage. Without a Generator nothing else needs it, and ``False``
        skips its evaluation (the result's ``psi`` is then empty): in the estimator's latent step
        the evaluation took a third of the time.
    corrector
        ``False`` gives the naive cascade ``u^{t+1} = N^t(u0)`` with no check and no prox step,
        which has no guarantee; it exists for the ablation.
    step_scale
        The proximal step is ``mu = step_scale / L``, ``0 < step_scale <= 1`` (any such step keeps the
        guarantee); a short one changes an accepted proposal less.
    """
    if not 0 < step_scale <= 1:
        raise ValueError(f"step_scale must be in (0, 1], got {step_scale}")
    step = step_scale / max(data.lipschitz, 1e-12)

    def objective(x: np.ndarray) -> float:
        return data.value(x) + prior.value(x)

    u = as_floating(u_init)
    if generator is None and not corrector:  # the naive cascade of warm starts
        generator = IdentityGenerator()
    if generator is None:  # nothing to test: the Corrector's step alone
        psi = [objective(u)] if trace else []
        for _ in gammas:
            u = prior.prox(u - step * data.grad(u), step)
            if trace:
                psi.append(objective(u))
        return PropagationResult(u=u, psi=np.asarray(psi), accepted=np.zeros(len(gammas), dtype=bool))
    psi_u = objective(u)
    psi = [psi_u]
    accepted = []
    for t, gamma in enumerate(gammas):
        proposal = np.asarray(generator(data.warm_start(u, gamma), t))
        if not corrector:
            u, psi_u = proposal, objective(proposal)
            psi.append(psi_u)
            accepted.append(True)
            continue
        # f >= 0, so a proposal whose prior term alone exceeds Psi(u^t) loses the test without
        # its data term being computed: under the L0 prior of the estimator this is nearly every
        # warm start (dense gradients against a sparse u^t).
        # A proposal of the wrong shape or with non-finite values (a broken network) is refused unseen.
        fits = proposal.shape == u.shape and bool(np.all(np.isfinite(proposal)))
        phi_prop = prior.value(proposal) if fits else np.inf
        take = bool(np.isfinite(phi_prop) and phi_prop <= psi_u)
        if take:
            psi_prop = data.value(proposal) + phi_prop
            take = bool(np.isfinite(psi_prop) and psi_prop <= psi_u)
        v = proposal if take else u
        u = prior.prox(v - step * data.grad(v), step)
        psi_u = objective(u)
        psi.append(psi_u)
        accepted.append(take)
    return PropagationResult(u=u, psi=np.asarray(psi), accepted=np.asarray(accepted))
