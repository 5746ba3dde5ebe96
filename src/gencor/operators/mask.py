"""Pixel masks: the forward model of missing pixels."""

from __future__ import annotations

import numpy as np

from gencor.operators.base import LinearOperator


class Mask(LinearOperator):
    """``x -> m * x`` for a 0/1 (or weight) mask ``m``; self-adjoint and diagonal."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = np.asarray(mask, dtype=float)
        self.in_shape = self.out_shape = self.mask.shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.mask * x

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        return self.mask * y

    def solve_normal(self, rhs: np.ndarray, gamma: float) -> np.ndarray:
        return rhs / (self.mask**2 + gamma)

    @property
    def lipschitz(self) -> float:
        return float(np.max(self.mask**2, initial=0.0))
