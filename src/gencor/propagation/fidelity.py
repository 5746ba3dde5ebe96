"""Data terms ``f`` of the propagation. Each gives its value and (separately, since the Corrector
needs it at one point per stage only) its gradient, the Lipschitz constant of that gradient and the
exact warm start ``argmin_u f(u) + gamma/2 ||u - a||^2`` (Eq. 4)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
from scipy import fft

from gencor.operators.base import LinearOperator
from gencor.operators.convolution import Convolution
from gencor.operators.gradient import Gradient


class Fidelity(Protocol):
    """What :func:`gencor.propagation.propagate` needs of a data term."""

    @property
    def lipschitz(self) -> float: ...

    def value(self, u: np.ndarray) -> float: ...

    def grad(self, u: np.ndarray) -> np.ndarray: ...

    def warm_start(self, anchor: np.ndarray, gamma: float) -> np.ndarray: ...


@dataclass(frozen=True)
class DataFidelity:
    """``f(u) = 1/2 ||A u - y||^2`` for an operator ``A`` with an exact normal-equation solve."""

    operator: LinearOperator
    y: np.ndarray

    @property
    def lipschitz(self) -> float:
        return self.operator.lipschitz

    def value(self, u: np.ndarray) -> float:
        r = self.operator.forward(u) - self.y
        return 0.5 * float(np.vdot(r, r))

    def grad(self, u: np.ndarray) -> np.ndarray:
        return self.operator.adjoint(self.operator.forward(u) - self.y)

    @cached_property
    def _aty(self) -> np.ndarray:
        return self.operator.adjoint(self.y)

    def warm_start(self, anchor: np.ndarray, gamma: float) -> np.ndarray:
        return self.operator.solve_normal(self._aty + gamma * anchor, gamma)


#: Iterates whose spectra are kept: the current one and the warm start proposed from it.
KNOWN_ITERATES = 2


@dataclass
class _Known:
    """An iterate ``u`` with its spectrum, ``sum_d conj(D_d) u_d`` and its latent spectra by weight."""

    u: np.ndarray
    u_hat: np.ndarray
    dtu: np.ndarray
    latent: dict[float, np.ndarray]


class SplitFidelity:
    """``f(u) = min_x 1/2 ||k * x - y||^2 + beta/2 ||grad x - u||^2``: the blur data term seen from
    the gradient field ``u`` of shape ``(2, H, W)``, or ``(C, 2, H, W)`` for a ``(C, H, W)`` stack of
    images ``y`` (the layout of :class:`~gencor.operators.Gradient`).

    ``u`` is free, but it only pays for what no image ``x`` can explain, so gradients stay tied to
    one latent image (they are no longer two unrelated maps). The minimising ``x`` is one FFT
    solve; ``grad f(u) = beta (u - grad x(u))`` and ``L = beta``, so the Corrector's step
    ``prox_{phi/beta}(grad x(u))`` is exactly one half-quadratic-splitting step (Krishnan and
    Fergus 2009; Xu et al. 2011).
    """

    def __init__(self, blur: Convolution, y: np.ndarray, beta: float) -> None:
        self.shape = blur.in_shape
        self.y = y
        self.beta = float(beta)
        # Single-precision observations keep single-precision spectra (twice as fast, and
        # ample for smoothing 8-bit photos); the estimator passes float64.
        ctype = np.complex64 if y.dtype == np.float32 else np.complex128
        self.k_otf = blur.otf.astype(ctype)
        self.d_otf = Gradient(self.shape).otf().astype(ctype)
        self.y_hat = fft.rfft2(y)
        self.k_y = np.conj(self.k_otf) * self.y_hat
        self.k_power = np.abs(self.k_otf) ** 2
        self.d_conj = np.conj(self.d_otf)
        self.d_power = np.sum(np.abs(self.d_otf) ** 2, axis=0)
        # What is known of the last ``u``s seen, shared with :meth:`with_beta` copies: its spectrum,
        # ``sum_d conj(D_d) u_d`` and the latent spectra solved from it, by weight. The propagation
        # evaluates the same iterate several times (the Corrector's test, the gradient, the next
        # run's start), and the warm start's spectrum is known without an FFT. Iterates are never
        # modified in place, so identity is a safe key.
        self._last: list[_Known] = []

    def with_beta(self, beta: float) -> SplitFidelity:
        """The same term at another ``beta``, sharing the FFTs already computed."""
        other = copy.copy(self)
        other.beta = float(beta)
        return other

    def _known(self, u: np.ndarray) -> _Known:
        for known in self._last:
            if known.u is u:
                return known
        u_hat = fft.rfft2(u)
        return self._remember(u, u_hat, np.sum(self.d_conj * u_hat, axis=-3))

    def _remember(self, u: np.ndarray, u_hat: np.ndarray, dtu: np.ndarray) -> _Known:
        known = _Known(u, u_hat, dtu, {})
        self._last[:] = [known, *self._last[: KNOWN_ITERATES - 1]]
        return known

    def _latent_spectrum(self, u: np.ndarray, weight: float) -> np.ndarray:
        """Spectrum of ``argmin_x 1/2||k*x - y||^2 + weight/2 ||grad x - u||^2``."""
        known = self._known(u)
        x_hat = known.latent.get(weight)
        if x_hat is None:
            x_hat = (self.k_y + weight * known.dtu) / (self.k_power + weight * self.d_power)
            known.latent[weight] = x_hat
        return x_hat

    def latent(self, u: np.ndarray) -> np.ndarray:
        """The image ``x(u)`` that the gradients ``u`` stand for."""
        return fft.irfft2(self._latent_spectrum(u, self.beta), s=self.shape)

    @property
    def lipschitz(self) -> float:
        return self.beta

    def _norm2(self, spectrum: np.ndarray) -> float:
        """``||irfft2(spectrum)||^2`` by Parseval, without the inverse transform: every column of
        the half spectrum stands for two conjugate columns, except the first (and the last when the
        width is even)."""
        total = 2.0 * np.vdot(spectrum, spectrum).real - np.vdot(spectrum[..., 0], spectrum[..., 0]).real
        if self.shape[-1] % 2 == 0:
            total -= np.vdot(spectrum[..., -1], spectrum[..., -1]).real
        return float(total) / (self.shape[0] * self.shape[1])

    def value(self, u: np.ndarray) -> float:
        x_hat = self._latent_spectrum(u, self.beta)
        r_grad_hat = self.d_otf * x_hat[..., None, :, :] - self._known(u).u_hat
        return 0.5 * self._norm2(self.k_otf * x_hat - self.y_hat) + 0.5 * self.beta * self._norm2(r_grad_hat)

    def grad(self, u: np.ndarray) -> np.ndarray:
        x_hat = self._latent_spectrum(u, self.beta)
        return -self.beta * (fft.irfft2(self.d_otf * x_hat[..., None, :, :], s=self.shape) - u)

    def warm_start(self, anchor: np.ndarray, gamma: float) -> np.ndarray:
        # Minimising over u first leaves x with the weight beta*gamma/(beta+gamma) on ||grad x - a||^2,
        # and u = (beta grad x + gamma a) / (beta + gamma), whose spectrum is known from x's.
        known = self._known(anchor)
        x_hat = self._latent_spectrum(anchor, self.beta * gamma / (self.beta + gamma))
        a, b = self.beta / (self.beta + gamma), gamma / (self.beta + gamma)
        u_hat = a * (self.d_otf * x_hat[..., None, :, :]) + b * known.u_hat
        u = fft.irfft2(u_hat, s=self.shape)
        self._remember(u, u_hat, a * self.d_power * x_hat + b * known.dtu)
        return u
