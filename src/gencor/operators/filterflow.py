"""Blur that changes across the frame: the efficient filter flow of Hirsch, Sra, Schölkopf and
Harmeling (ICCV 2010/2011), ``y = sum_i k_i * (w_i . x)``, on a periodic domain.

Each window ``w_i`` is a smooth bump on a grid over the frame and the windows sum to one, so a
single window is the uniform blur and neighbouring kernels blend without seams (issue #21).
"""

from __future__ import annotations

import numpy as np

from gencor.operators.base import LinearOperator
from gencor.operators.convolution import Convolution


def grid_windows(shape: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """``(rows * cols, H, W)`` non-negative windows that sum to one: products of piecewise-linear
    hats centred on a ``rows x cols`` grid of tile centres (flat beyond the outer centres)."""
    axes = []
    for n, g in zip(shape, grid, strict=True):
        if g < 1 or g > n:
            raise ValueError(f"a grid of {g} windows does not fit {n} pixels")
        centres = (np.arange(g) + 0.5) * n / g
        pos = np.arange(n) + 0.5
        hats = np.array([np.interp(pos, centres, np.eye(g)[i]) for i in range(g)]) if g > 1 else np.ones((1, n))
        axes.append(hats)
    rows, cols = axes
    return np.einsum("ih,jw->ijhw", rows, cols).reshape(-1, *shape)


class FilterFlow(LinearOperator):
    """``x -> sum_i k_i * (w_i . x)`` for kernels ``k_i`` and windows ``w_i`` of shape ``(n, H, W)``."""

    def __init__(self, kernels: list[np.ndarray], windows: np.ndarray) -> None:
        windows = np.asarray(windows, dtype=float)
        if windows.ndim != 3 or len(kernels) != windows.shape[0]:
            raise ValueError(f"need one kernel per window: {len(kernels)} kernels, windows of shape {windows.shape}")
        self.windows = windows
        shape = (int(windows.shape[1]), int(windows.shape[2]))
        self.in_shape = self.out_shape = shape
        self.parts = [Convolution(k, shape) for k in kernels]

    def forward(self, x: np.ndarray) -> np.ndarray:
        return sum((op.forward(w * x) for op, w in zip(self.parts, self.windows, strict=True)), np.zeros(self.out_shape))

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        return sum((w * op.adjoint(y) for op, w in zip(self.parts, self.windows, strict=True)), np.zeros(self.in_shape))

    @property
    def lipschitz(self) -> float:
        """A bound on ``||A||^2``: ``||A x|| <= max_i ||K_i|| sum_i ||w_i x||`` and, as the windows are
        non-negative and sum to one, ``(sum_i ||w_i x||)^2 <= n ||x||^2``."""
        return len(self.parts) * max(op.lipschitz for op in self.parts)
