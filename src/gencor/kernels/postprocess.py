"""Kernel clean-up: camera-shake kernels are thin, connected curves, so faint isolated blobs are noise."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: The cut never goes above this fraction of the peak (a noise-scaled cut on a photo of pure noise
#: would otherwise remove every tap).
MAX_REL_THRESHOLD = 0.5
#: Connected pieces of the kernel with less than this share of the heaviest piece's mass are noise.
WEAK_PIECE = 0.1


def clean_kernel(k: np.ndarray, *, rel_threshold: float = 0.03) -> np.ndarray:
    """Zero values below ``rel_threshold * max``, drop weak disconnected pieces, renormalise.

    A kernel with no positive finite mass left (the estimate collapsed, e.g. on pure noise) becomes
    the identity, which the confidence then judges like any other candidate.
    """
    if not np.all(np.isfinite(k)) or k.max() <= 0:
        return delta_kernel(k.shape[0])
    k = np.where(k >= min(rel_threshold, MAX_REL_THRESHOLD) * k.max(), k, 0.0)
    labels, n = ndimage.label(k > 0, structure=np.ones((3, 3)))
    if n > 1:
        mass = ndimage.sum(k, labels, index=np.arange(1, n + 1))
        weak = np.nonzero(mass < WEAK_PIECE * mass.max())[0] + 1
        k = np.where(np.isin(labels, weak), 0.0, k)
    return k / k.sum()


def delta_kernel(size: int) -> np.ndarray:
    """The ``size x size`` identity kernel (no blur)."""
    k = np.zeros((size, size))
    k[size // 2, size // 2] = 1.0
    return k


def center_kernel(k: np.ndarray) -> np.ndarray:
    """Shift ``k`` by whole pixels so its centre of mass sits at the centre of the array.

    A shifted kernel explains the same blur as a shifted image; centring removes that ambiguity so
    the deblurred photo stays aligned with the input.
    """
    h, w = k.shape
    if not np.all(np.isfinite(k)) or k.sum() <= 0:
        return delta_kernel(h)
    cy, cx = ndimage.center_of_mass(k)
    dy, dx = int(round(h // 2 - cy)), int(round(w // 2 - cx))
    out = np.zeros_like(k)
    src = k[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out / out.sum()
