"""The kernel step: ``k = argmin 1/2 sum_d ||u_d * k - g_d||^2 + eta/2 ||k||^2``, then onto the simplex."""

from __future__ import annotations

import numpy as np

from gencor.operators.convolution import KernelConvolution


def kernel_step(u: np.ndarray, g: np.ndarray, size: int, *, eta: float) -> np.ndarray:
    """Solve the kernel subproblem (Eq. 6) with one FFT solve and return a kernel on the simplex.

    The quadratic is solved exactly over the whole grid, cropped to ``size x size``, then negative
    taps are cut and the rest rescaled to sum to 1. We measured the Euclidean projection (and an
    exact projected-gradient solve on the simplex) to be worse: both make kernels sparse, erasing
    the faint tails of a trajectory, and the alternation then drifts towards smaller kernels.
    """
    k = np.maximum(KernelConvolution(u, (size, size)).solve_unconstrained(g, eta), 0.0)
    total = k.sum()
    if not np.isfinite(total) or total <= 0:
        k = np.zeros((size, size))
        k[size // 2, size // 2] = 1.0
        return k
    return k / total
