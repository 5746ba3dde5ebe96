"""The final stage of the deblurring pipeline as one stage of Algorithm 1, on the image itself.

``u^t`` is the non-blind deconvolution (the hyper-Laplacian MAP solve of :mod:`gencor.tasks.deconv`,
which already minimises ``f + phi``). The Generator proposes ``u~ = N(u^t)``; the Corrector keeps
it only if ``Psi_D(u~) <= Psi_D(u^t)``, with

    ``Psi_D(x) = 1/2 ||w (k * x - y)||^2 + lam sum |grad x|^p + nu D(x)``

on the frame's interior (``w`` = 0 on clipped pixels, as in the deconvolution). ``D`` is a learned
blur score: without it the MAP solve always wins (the MAP bias), with it a sharper proposal that
still explains the photo can pass. Whatever ``N`` returns (noise, NaN), the result's ``Psi_D`` is
never above ``Psi_D(u^t)``. No proximal step follows an accepted proposal: ``u^t`` is already the
minimiser of ``f + phi``, and a step towards it would only bring back the MAP bias. This module
knows no network: ``D`` is any callable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.signal import fftconvolve


class FinalStage(Protocol):
    """A Generator of the final stage and the blur score ``D`` with its weight ``nu``."""

    nu: float

    def propose(self, deconvolved: np.ndarray, blurred: np.ndarray, sigma: float) -> np.ndarray: ...

    def score(self, image: np.ndarray) -> float: ...


@dataclass(frozen=True)
class FinalObjective:
    """``Psi_D`` of a gray observation ``y`` under ``kernel`` (see the module docstring)."""

    y: np.ndarray
    kernel: np.ndarray
    lam: float
    nu: float
    score: Callable[[np.ndarray], float]
    p: float = 0.8
    weight: np.ndarray | None = None

    def terms(self, x: np.ndarray) -> tuple[float, float, float]:
        """``(f, phi, nu D)`` at ``x``; ``inf`` for a non-finite ``x``."""
        if x.shape != self.y.shape or not np.all(np.isfinite(x)):
            return np.inf, np.inf, np.inf
        m = max(self.kernel.shape) // 2
        inner = (slice(m, x.shape[0] - m), slice(m, x.shape[1] - m))
        r = (fftconvolve(x, self.kernel, mode="same") - self.y)[inner]
        if self.weight is not None:
            r = r * self.weight[inner]
        gx = np.diff(x, axis=1)[inner[0], m : x.shape[1] - m - 1]
        gy = np.diff(x, axis=0)[m : x.shape[0] - m - 1, inner[1]]
        phi = self.lam * float(np.sum(np.abs(gx) ** self.p) + np.sum(np.abs(gy) ** self.p))
        return 0.5 * float(np.sum(r * r)), phi, self.nu * float(self.score(x))

    def __call__(self, x: np.ndarray) -> float:
        return float(sum(self.terms(x)))


@dataclass(frozen=True)
class FinalDecision:
    """What the Corrector did: the image kept, whether the proposal was kept, both ``Psi_D``."""

    image: np.ndarray
    accepted: bool
    psi_current: float
    psi_proposal: float


def correct(current: np.ndarray, proposal: np.ndarray, objective: Callable[[np.ndarray], float]) -> FinalDecision:
    """Keep ``proposal`` if its objective is finite and not above ``current``'s, else ``current``."""
    psi_u = objective(current)
    psi_p = objective(proposal) if proposal.shape == current.shape else np.inf
    take = bool(np.isfinite(psi_p) and psi_p <= psi_u)
    return FinalDecision(proposal if take else current, take, float(psi_u), float(psi_p))
