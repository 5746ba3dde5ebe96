"""Euclidean projection onto the unit simplex, where blur kernels live (k >= 0, sum k = 1)."""

from __future__ import annotations

import numpy as np


def project_simplex(k: np.ndarray) -> np.ndarray:
    """``argmin_{z >= 0, sum z = 1} ||z - k||``, by the sort-based algorithm of Held, Wolfe and Crowder."""
    flat = np.asarray(k, dtype=float).ravel()
    s = np.sort(flat)[::-1]
    cums = np.cumsum(s) - 1.0
    ranks = np.arange(1, flat.size + 1)
    rho = np.nonzero(s - cums / ranks > 0)[0][-1]
    theta = cums[rho] / (rho + 1)
    return np.maximum(flat - theta, 0.0).reshape(np.shape(k))
