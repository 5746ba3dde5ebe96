"""Blur that changes across the frame: the efficient filter flow of Hirsch, Sra, Schölkopf and
Harmeling (ICCV 2010/2011), ``y = sum_i k_i * (w_i . x)``, on a periodic domain.

Each window ``w_i`` is a smooth bump on a grid over the frame and the windows sum to one, so a
single window is the uniform blur and neighbouring kernels blend without seams (issue #21).
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from gencor.operators.base import LinearOperator
from gencor.operators.convolution import psf2otf


def grid_windows(shape: tuple[int, int], grid: tuple[int, int], region: tuple[slice, slice] | None = None) -> np.ndarray:
    """``(rows * cols, H, W)`` non-negative windows that sum to one: products of piecewise-linear
    hats centred on a ``rows x cols`` grid of tile centres (flat beyond the outer centres).

    ``region`` evaluates them on a rectangle of the frame only (a tile of a large photo).
    """
    region = region or (slice(0, shape[0]), slice(0, shape[1]))
    axes = []
    for n, g, sl in zip(shape, grid, region, strict=True):
        if g < 1 or g > n:
            raise ValueError(f"a grid of {g} windows does not fit {n} pixels")
        centres = (np.arange(g) + 0.5) * n / g
        pos = np.arange(*sl.indices(n)) + 0.5
        hats = np.array([np.interp(pos, centres, np.eye(g)[i]) for i in range(g)]) if g > 1 else np.ones((1, len(pos)))
        axes.append(hats)
    rows, cols = axes
    return np.einsum("ih,jw->ijhw", rows, cols).reshape(-1, rows.shape[1], cols.shape[1])


class FilterFlow(LinearOperator):
    """``x -> sum_i k_i * (w_i . x)`` for kernels ``k_i`` and windows ``w_i`` of shape ``(n, H, W)``,
    acting on the last two axes. The sum is taken in the Fourier domain: ``n + 1`` FFTs a side.

    ``dtype`` is the precision of the work (``float32`` halves the time of the FFTs).
    """

    def __init__(self, kernels: list[np.ndarray], windows: np.ndarray, *, dtype: type = np.float64) -> None:
        stack: np.ndarray = np.asarray(windows)
        if stack.ndim != 3 or len(kernels) != stack.shape[0]:
            raise ValueError(f"need one kernel per window: {len(kernels)} kernels, windows of shape {stack.shape}")
        self.windows: np.ndarray = stack.astype(dtype, copy=False)
        shape = (int(stack.shape[1]), int(stack.shape[2]))
        self.in_shape = self.out_shape = shape
        complex_type = np.result_type(dtype, np.complex64)
        self.otfs = np.array([psf2otf(np.asarray(k, dtype=float), shape) for k in kernels]).astype(complex_type)

    def forward(self, x: np.ndarray) -> np.ndarray:
        spectrum = sum(otf * fft.rfft2(w * x) for otf, w in zip(self.otfs, self.windows, strict=True))
        return fft.irfft2(spectrum, s=self.out_shape)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        spectrum = fft.rfft2(y)
        out = np.zeros(y.shape, dtype=self.windows.dtype)
        for otf, w in zip(self.otfs, self.windows, strict=True):
            out += w * fft.irfft2(np.conj(otf) * spectrum, s=self.in_shape)
        return out

    def mean_otf(self) -> np.ndarray:
        """The transfer function of the windows' average blur (each kernel weighted by its
        window's share of the frame): the uniform blur closest to this one, a preconditioner."""
        share = self.windows.reshape(len(self.otfs), -1).mean(axis=1)
        return np.tensordot(share / share.sum(), self.otfs, axes=1)

    @property
    def lipschitz(self) -> float:
        """A bound on ``||A||^2``: ``||A x|| <= max_i ||K_i|| sum_i ||w_i x||`` and, as the windows are
        non-negative and sum to one, ``(sum_i ||w_i x||)^2 <= n ||x||^2``."""
        return len(self.otfs) * float(np.max(np.abs(self.otfs)) ** 2)
