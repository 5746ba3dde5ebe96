"""Preconditioned conjugate gradients for the weighted normal equations of deconvolution (clipped
lights get zero weight, so the system is no longer diagonal in Fourier space)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def pcg(apply: Callable[[np.ndarray], np.ndarray], m_inv: Callable[[np.ndarray], np.ndarray], rhs: np.ndarray, x: np.ndarray, iterations: int) -> np.ndarray:
    """``iterations`` of preconditioned conjugate gradients for ``apply(x) = rhs`` from ``x``, all
    planes at once (the systems here are block diagonal over them)."""
    r = rhs - apply(x)
    z = m_inv(r)
    d = z
    rz = float(np.vdot(r, z))
    for _ in range(iterations):
        ad = apply(d)
        alpha = rz / max(float(np.vdot(d, ad)), 1e-30)
        x = x + alpha * d
        r = r - alpha * ad
        z = m_inv(r)
        rz_new = float(np.vdot(r, z))
        d = z + (rz_new / max(rz, 1e-30)) * d
        rz = rz_new
    return x
