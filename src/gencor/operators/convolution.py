"""Convolution ``y = k * x`` seen from both sides, on a periodic domain so that the FFT diagonalises it.

Real photos are not periodic: callers first extend the observation with
:func:`gencor.operators.extend_periodic`, which is what keeps the FFT solves free of border ringing.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from gencor.operators.base import LinearOperator


def psf2otf(kernel: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Transfer function (``rfft2``) of ``kernel`` on a periodic grid of ``shape``, centre at the origin."""
    kh, kw = kernel.shape
    if kh > shape[0] or kw > shape[1]:
        raise ValueError(f"kernel {kernel.shape} is larger than the grid {shape}")
    padded = np.zeros(shape, dtype=float)
    padded[:kh, :kw] = kernel
    padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return fft.rfft2(padded)


def _crop_centred(full: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Values at offsets ``-(size//2) .. +size//2`` of a periodic array, as a small centred array."""
    kh, kw = size
    return np.roll(full, (kh // 2, kw // 2), axis=(-2, -1))[..., :kh, :kw]


class Convolution(LinearOperator):
    """Image side: ``x -> k * x`` for a fixed kernel ``k``, acting on the last two axes."""

    def __init__(self, kernel: np.ndarray, shape: tuple[int, int], *, dtype: type = np.float64) -> None:
        """``dtype``: the precision of the transfer function (single precision halves the FFTs' time)."""
        self.kernel = np.asarray(kernel, dtype=float)
        self.in_shape = self.out_shape = tuple(shape)
        self.otf = psf2otf(self.kernel, self.in_shape).astype(np.result_type(dtype, np.complex64))

    def _apply(self, x: np.ndarray, otf: np.ndarray) -> np.ndarray:
        return fft.irfft2(fft.rfft2(x) * otf, s=self.in_shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self._apply(x, self.otf)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        return self._apply(y, np.conj(self.otf))

    def solve_normal(self, rhs: np.ndarray, gamma: float) -> np.ndarray:
        return self._apply(rhs, 1.0 / (np.abs(self.otf) ** 2 + gamma))

    @property
    def lipschitz(self) -> float:
        return float(np.max(np.abs(self.otf)) ** 2)


class KernelConvolution(LinearOperator):
    """Kernel side: ``k -> u * k`` for fixed images ``u`` of shape ``(..., H, W)``.

    Leading axes of ``u`` are separate observations of the same kernel (e.g. the two gradient
    directions); the adjoint sums over them.
    """

    def __init__(self, images: np.ndarray, kernel_shape: tuple[int, int]) -> None:
        self.images = np.asarray(images, dtype=float)
        self.grid = self.images.shape[-2:]
        self.in_shape = tuple(kernel_shape)
        self.out_shape = self.images.shape
        self.spectra = fft.rfft2(self.images)

    def forward(self, k: np.ndarray) -> np.ndarray:
        return fft.irfft2(self.spectra * psf2otf(k, self.grid), s=self.grid)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        corr = fft.irfft2(np.conj(self.spectra) * fft.rfft2(y), s=self.grid)
        return _crop_centred(corr.reshape(-1, *self.grid).sum(axis=0), self.in_shape)

    def solve_unconstrained(self, y: np.ndarray, eta: float) -> np.ndarray:
        """``argmin_k ||u*k - y||^2 + eta||k||^2`` over the whole grid, one FFT solve (Eq. 6), cropped."""
        num = np.sum(np.conj(self.spectra) * fft.rfft2(y), axis=tuple(range(self.spectra.ndim - 2)))
        den = np.sum(np.abs(self.spectra) ** 2, axis=tuple(range(self.spectra.ndim - 2))) + eta
        return _crop_centred(fft.irfft2(num / den, s=self.grid), self.in_shape)

    @property
    def lipschitz(self) -> float:
        power = np.abs(self.spectra.reshape(-1, *self.spectra.shape[-2:])) ** 2
        return float(np.max(np.sum(power, axis=0)))
