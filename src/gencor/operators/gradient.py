"""Forward finite differences with periodic boundaries, so that they diagonalise under the FFT."""

from __future__ import annotations

import numpy as np
from scipy import fft

from gencor.operators.base import LinearOperator


class Gradient(LinearOperator):
    """``x (H, W) -> (d/dx x, d/dy x)`` stacked as ``(2, H, W)``; the adjoint is minus the divergence."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.in_shape = tuple(shape)
        self.out_shape = (2, *shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        # Slices into one output, not rolled copies stacked: the same differences, a third of
        # the memory traffic (the splitting computes them at every step of every solve).
        x = np.asarray(x)
        out = np.empty((*x.shape[:-2], 2, *x.shape[-2:]), dtype=x.dtype)
        dx, dy = out[..., 0, :, :], out[..., 1, :, :]
        np.subtract(x[..., :, 1:], x[..., :, :-1], out=dx[..., :, :-1])
        np.subtract(x[..., :, 0], x[..., :, -1], out=dx[..., :, -1])
        np.subtract(x[..., 1:, :], x[..., :-1, :], out=dy[..., :-1, :])
        np.subtract(x[..., 0, :], x[..., -1, :], out=dy[..., -1, :])
        return out

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        dx, dy = y[..., 0, :, :], y[..., 1, :, :]
        out = np.empty(dx.shape, dtype=y.dtype)
        np.subtract(dx[..., :, :-1], dx[..., :, 1:], out=out[..., :, 1:])
        np.subtract(dx[..., :, -1], dx[..., :, 0], out=out[..., :, 0])
        out[..., 1:, :] += dy[..., :-1, :] - dy[..., 1:, :]
        out[..., 0, :] += dy[..., -1, :] - dy[..., 0, :]
        return out

    def otf(self) -> np.ndarray:
        """Transfer functions of the two differences for ``rfft2``, shape ``(2, H, W//2+1)``."""
        h, w = self.in_shape
        fx = np.exp(2j * np.pi * fft.rfftfreq(w))[None, :] - 1.0
        fy = np.exp(2j * np.pi * fft.fftfreq(h))[:, None] - 1.0
        return np.stack(np.broadcast_arrays(fx, fy)) + 0j

    def solve_normal(self, rhs: np.ndarray, gamma: float) -> np.ndarray:
        """``(D^T D + gamma I)^{-1}`` is a Fourier multiplier (a screened Poisson solve)."""
        denom = np.sum(np.abs(self.otf()) ** 2, axis=0) + gamma
        return fft.irfft2(fft.rfft2(rhs) / denom, s=self.in_shape)

    @property
    def lipschitz(self) -> float:
        return 8.0
