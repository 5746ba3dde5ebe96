"""Benchmark metrics, following Levin et al.'s ``comp_upto_shift`` protocol."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.metrics import structural_similarity

from gencor.assess import kernel_similarity  # noqa: F401  (re-exported for the benchmarks)

#: Sub-pixel refinement of the alignment: offsets in steps of this, within one pixel.
SUBPIXEL_STEP = 0.25


def align_upto_shift(estimate: np.ndarray, truth: np.ndarray, *, max_shift: int = 10, crop: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """Shift ``estimate`` to best match ``truth``: integer search within ``max_shift``, then
    quarter-pixel refinement with bilinear interpolation. Returns both images cropped by ``crop``."""
    h, w = truth.shape
    ref = truth[crop : h - crop, crop : w - crop]
    best, best_ssd = (0.0, 0.0), np.inf
    for dy in range(-max_shift, max_shift + 1):
        for dx in range(-max_shift, max_shift + 1):
            cand = estimate[crop + dy : h - crop + dy, crop + dx : w - crop + dx]
            ssd = float(np.sum((cand - ref) ** 2))
            if ssd < best_ssd:
                best, best_ssd = (dy, dx), ssd
    aligned = estimate[crop + best[0] : h - crop + best[0], crop + best[1] : w - crop + best[1]]
    offsets = np.arange(-1.0, 1.0 + SUBPIXEL_STEP / 2, SUBPIXEL_STEP)
    for fy in offsets:
        for fx in offsets:
            shifted = ndimage.shift(estimate, (-(best[0] + fy), -(best[1] + fx)), order=1, mode="nearest")
            cand = shifted[crop : h - crop, crop : w - crop]
            ssd = float(np.sum((cand - ref) ** 2))
            if ssd < best_ssd:
                aligned, best_ssd = cand, ssd
    return aligned, ref


def image_scores(estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """SSD, PSNR and SSIM after :func:`align_upto_shift`."""
    a, r = align_upto_shift(estimate, truth)
    ssd = float(np.sum((a - r) ** 2))
    mse = ssd / a.size
    return {
        "ssd": ssd,
        "psnr": float(10 * np.log10(1.0 / max(mse, 1e-12))),
        "ssim": float(structural_similarity(a, r, data_range=1.0)),
    }
