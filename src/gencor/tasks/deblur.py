"""Blind deblurring of a photo: estimate the kernel on luminance, then deconvolve every channel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from gencor.kernels.estimate import GENERATORS, KernelEstimate, ProgressFn, estimate_kernel
from gencor.tasks.deconv import deconvolve
from gencor.validate import as_image, check_kernel_size

#: Side of the window the kernel is estimated on for large photos; blur is (nearly) the same
#: everywhere under camera shake, and the window with the most edges constrains it best.
ESTIMATION_WINDOW = 640


@dataclass
class DeblurResult:
    """The sharp image (input layout), the kernel (convolution convention) and the history."""

    image: np.ndarray
    kernel: np.ndarray
    estimate: KernelEstimate


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of a channels-last RGB image."""
    return rgb[..., :3] @ np.array([0.299, 0.587, 0.114])


def best_window(gray: np.ndarray, size: int) -> tuple[slice, slice]:
    """The ``size x size`` window with the largest mean gradient magnitude."""
    h, w = gray.shape
    if h <= size and w <= size:
        return slice(0, h), slice(0, w)
    sh, sw = min(size, h), min(size, w)
    energy = np.hypot(*np.gradient(gray))
    stride = max(size // 8, 1)
    mean = ndimage.uniform_filter(energy, size=(sh, sw), mode="constant")
    rows = np.arange(sh // 2, h - sh + sh // 2 + 1, stride)
    cols = np.arange(sw // 2, w - sw + sw // 2 + 1, stride)
    grid = mean[np.ix_(rows, cols)]
    r, c = np.unravel_index(np.argmax(grid), grid.shape)
    top, left = rows[r] - sh // 2, cols[c] - sw // 2
    return slice(top, top + sh), slice(left, left + sw)


def deblur(
    image: np.ndarray,
    *,
    kernel_size: int = 31,
    channel_axis: int | None = None,
    generator: str = "cnn",
    corrector: bool = True,
    lam: float | None = None,
    progress: ProgressFn | None = None,
) -> DeblurResult:
    """Blind deblurring of a photo blurred by camera shake.

    Parameters
    ----------
    image
        Float image in [0, 1]: ``(H, W)``, or color with ``channel_axis``.
    kernel_size
        Odd side of the kernel support, in pixels. It must exceed the longest blur streak; too
        large costs time and some accuracy. 31 suits most hand-held shots at web size; use 51 or
        more for long exposures at full resolution.
    channel_axis
        Axis of the color channels, or ``None`` for gray.
    generator
        ``"cnn"`` (the shipped networks: the full GCM), ``"none"`` (identity: the
        Corrector-only variant) or ``"shrink"`` (the analytic shrinkage of half-quadratic
        splitting).
    corrector
        Keep the monotone Corrector; ``False`` is the Generator-only variant (no guarantee).
    lam
        Prior weight of the final deconvolution (default: from the measured noise).
    progress
        Optional callback ``(scale, n_scales, iteration, n_iterations)``.
    """
    arr = as_image(image, channel_axis=channel_axis)
    ks = check_kernel_size(kernel_size, arr.shape)
    if generator not in GENERATORS:
        raise ValueError(f"unknown generator {generator!r}; choose from {', '.join(GENERATORS)}")
    gray = luminance(arr) if arr.ndim == 3 else arr
    window = best_window(gray, max(ESTIMATION_WINDOW, 4 * ks))
    estimate = estimate_kernel(
        gray[window],
        ks,
        generator=GENERATORS[generator],
        corrector=corrector,
        progress=progress,
    )
    sharp = deconvolve(arr, estimate.kernel, lam=lam, channel_axis=None if arr.ndim == 2 else -1)
    if arr.ndim == 3 and channel_axis is not None:
        sharp = np.moveaxis(sharp, -1, channel_axis)
    return DeblurResult(image=sharp, kernel=estimate.kernel, estimate=estimate)
