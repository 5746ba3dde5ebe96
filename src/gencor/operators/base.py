"""The operator interface shared by every forward model."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class LinearOperator(ABC):
    """A linear map ``A`` with its adjoint.

    Solvers only ever call :meth:`forward`, :meth:`adjoint` and, where an operator can do it
    exactly, :meth:`solve_normal`; they never look inside an operator.
    """

    #: Shape of the last axes of an input (leading axes are batch axes).
    in_shape: tuple[int, ...]
    #: Shape of the last axes of an output.
    out_shape: tuple[int, ...]

    @abstractmethod
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply ``A``."""

    @abstractmethod
    def adjoint(self, y: np.ndarray) -> np.ndarray:
        """Apply ``A^T``."""

    def solve_normal(self, rhs: np.ndarray, gamma: float) -> np.ndarray:
        """Return ``(A^T A + gamma I)^{-1} rhs``; only operators with a fast exact solve implement it."""
        raise NotImplementedError(f"{type(self).__name__} has no exact normal-equation solve")

    @property
    def lipschitz(self) -> float:
        """An upper bound on ``||A^T A||``, the step-size constant of gradient steps on ``f``."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)
