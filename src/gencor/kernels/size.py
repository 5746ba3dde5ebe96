"""Kernel support: how far a kernel really extends, and the odd window that holds it.

The automatic kernel size grows the estimation window while the kernel touches its border, then
reads the kernel's support: camera shake is a thin curve, so its extent is the side of the
bounding box of the taps that carry its mass.
"""

from __future__ import annotations

import numpy as np

from gencor.kernels.postprocess import center_kernel

#: Taps below this fraction of the peak do not count towards the extent (they are what the
#: clean-up leaves of noise).
EXTENT_THRESHOLD = 0.1
#: A kernel "touches" its window when a tap on the outermost ring reaches this fraction of the
#: peak: a real trajectory cut by the window, not a stray noise tap.
BORDER_THRESHOLD = 0.2
#: Pixels of free border added around the measured extent on each side: the estimator needs
#: room for the trajectory to grow at finer scales, and a kernel that touches its window is cut.
SIZE_MARGIN = 4


def kernel_extent(k: np.ndarray, *, threshold: float = EXTENT_THRESHOLD) -> int:
    """Side of the bounding box of the taps above ``threshold * max`` (1 for a delta)."""
    ys, xs = np.nonzero(k >= threshold * k.max())
    return int(max(np.ptp(ys), np.ptp(xs)) + 1)


def centred_extent(k: np.ndarray, *, threshold: float = EXTENT_THRESHOLD) -> int:
    """Side of the smallest square, centred where :func:`crop_kernel` centres ``k`` (its centre of
    mass), that holds every tap above ``threshold * max``. A shake path is rarely symmetric about
    its centre of mass, so a crop to the bounding box's side would cut one end of it."""
    c = center_kernel(np.pad(k, k.shape[0] // 2))
    ys, xs = np.nonzero(c >= threshold * c.max())
    mid = c.shape[0] // 2
    return int(2 * max(np.abs(ys - mid).max(), np.abs(xs - mid).max()) + 1)


def touches_border(k: np.ndarray, *, threshold: float = BORDER_THRESHOLD) -> bool:
    """Whether significant taps reach the outermost row or column: the blur may be longer."""
    big = k >= threshold * k.max()
    return bool(big[0].any() or big[-1].any() or big[:, 0].any() or big[:, -1].any())


def odd(n: float) -> int:
    """The odd integer at or above ``n``."""
    m = int(np.ceil(n))
    return m if m % 2 else m + 1


def size_for_extent(extent: float, *, lo: int, hi: int) -> int:
    """Odd kernel size for a blur of ``extent`` pixels: the extent, a margin on both sides, clamped."""
    return int(np.clip(odd(extent + 2 * SIZE_MARGIN), lo, hi if hi % 2 else hi - 1))


def crop_kernel(k: np.ndarray, size: int) -> np.ndarray:
    """``k`` centred (by its centre of mass) and cut or zero-padded to ``size x size``; sums to 1.
    It is padded first, so that centring a lopsided path drops none of its taps."""
    k = center_kernel(np.pad(k, k.shape[0] // 2))
    n = k.shape[0]
    if size < n:
        off = (n - size) // 2
        k = k[off : off + size, off : off + size]
    elif size > n:
        off = (size - n) // 2
        k = np.pad(k, off)
    return k / k.sum()


def crop_to_extent(k: np.ndarray, *, lo: int, hi: int, threshold: float = EXTENT_THRESHOLD) -> np.ndarray:
    """``k`` cropped to its centred extent (taps above ``threshold * max``) plus the margin, the
    side clamped to ``[lo, hi]``: the automatic size of one estimate."""
    return crop_kernel(k, size_for_extent(centred_extent(k, threshold=threshold), lo=lo, hi=hi))
