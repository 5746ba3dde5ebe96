"""An orthonormal wavelet transform (PyWavelets), the analysis operator of sparse image priors.

Orthonormality is what makes the prox of ``lam ||W u||_p^p`` exact: ``W^T prox(W v)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pywt

from gencor.operators.base import LinearOperator


class Wavelet(LinearOperator):
    """``u (..., H, W) -> `` coefficients in one ``(..., H, W)`` array (periodised, orthonormal).

    ``H`` and ``W`` must be multiples of ``2**levels``; :attr:`detail` marks the detail bands
    (the coarse approximation is left out of priors: it carries the image's mean brightness).
    """

    def __init__(self, shape: tuple[int, int], *, wavelet: str = "haar", levels: int = 3) -> None:
        step = 2**levels
        if shape[0] % step or shape[1] % step:
            raise ValueError(f"wavelet grid {shape} must be a multiple of {step} on both sides")
        self.in_shape = self.out_shape = tuple(shape)
        self.wavelet, self.levels = wavelet, levels
        probe = pywt.wavedec2(np.zeros(shape), wavelet, mode="periodization", level=levels)
        _, self._slices = pywt.coeffs_to_array(probe)
        self.detail = np.ones(shape, dtype=bool)
        self.detail[self._slices[0]] = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        coeffs = pywt.wavedec2(x, self.wavelet, mode="periodization", level=self.levels, axes=(-2, -1))
        return pywt.coeffs_to_array(coeffs, axes=(-2, -1))[0]

    def _slices_for(self, ndim: int) -> list[Any]:
        """The band layout with the leading (batch) axes of an ``ndim``-array kept whole."""
        lead = (slice(None),) * (ndim - 2)
        return [lead + self._slices[0]] + [{k: lead + v for k, v in band.items()} for band in self._slices[1:]]

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        coeffs = pywt.array_to_coeffs(y, self._slices_for(y.ndim), output_format="wavedec2")
        return pywt.waverec2(coeffs, self.wavelet, mode="periodization", axes=(-2, -1))

    @property
    def lipschitz(self) -> float:
        return 1.0
