"""Preconditioned conjugate gradients for the weighted normal equations of deconvolution (clipped
lights get zero weight, so the system is no longer diagonal in Fourier space)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: An inner product of two vectors of the system (all planes at once).
Dot = Callable[[np.ndarray, np.ndarray], float]


def real_dot(a: np.ndarray, b: np.ndarray) -> float:
    """The plain inner product of two real arrays."""
    return float(np.vdot(a, b))


def half_spectrum_dot(width: int) -> Dot:
    """The inner product of two real images of ``width`` columns, given by their ``rfft2`` half
    spectra (Parseval, up to the constant factor, which CG does not see): every column but the
    first, and the last when ``width`` is even, stands for itself and its mirror."""
    single = [0, width // 2] if width % 2 == 0 else [0]

    def dot(a: np.ndarray, b: np.ndarray) -> float:
        once = sum(np.vdot(a[..., c], b[..., c]).real for c in single)
        return float(2.0 * np.vdot(a, b).real - once)

    return dot


def pcg(
    apply: Callable[[np.ndarray], np.ndarray],
    m_inv: Callable[[np.ndarray], np.ndarray],
    rhs: np.ndarray,
    x: np.ndarray,
    iterations: int,
    *,
    dot: Dot = real_dot,
) -> np.ndarray:
    """``iterations`` of preconditioned conjugate gradients for ``apply(x) = rhs`` from ``x``, all
    planes at once (the systems here are block diagonal over them). ``dot`` is the inner product
    of the space the vectors live in: a system posed on Fourier coefficients passes
    :func:`half_spectrum_dot`, so its preconditioner and its regulariser need no transforms."""
    r = rhs - apply(x)
    z = m_inv(r)
    d = z
    rz = dot(r, z)
    for i in range(iterations):
        ad = apply(d)
        alpha = rz / max(dot(d, ad), 1e-30)
        x = x + alpha * d
        if i == iterations - 1:
            break
        r = r - alpha * ad
        z = m_inv(r)
        rz_new = dot(r, z)
        d = z + (rz_new / max(rz, 1e-30)) * d
        rz = rz_new
    return x
