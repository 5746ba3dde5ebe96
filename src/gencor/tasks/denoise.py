"""Denoising a photo with gencor's noise-conditional network (:mod:`gencor.models.denoiser`).

The same network is the Generator of the final deconvolution (:mod:`gencor.tasks.deconv`); here
it runs on its own, for photos that are noisy but sharp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gencor.layout import from_planes, to_planes
from gencor.noise import DENOISE_PRECISIONS, DENOISE_SIGMA_MAX, estimate_noise
from gencor.validate import as_image, check_real


@dataclass
class DenoiseResult:
    """The denoised image (input layout) and the noise level it was denoised at."""

    image: np.ndarray
    sigma: float


def photo_noise(planes: np.ndarray) -> float:
    """The noise level of ``(H, W)`` or ``(C, H, W)`` planes: the mean of the channels' wavelet
    estimates (a luminance would average the channels' noise down by a third)."""
    stack = planes.reshape(-1, *planes.shape[-2:])
    return float(np.mean([estimate_noise(p) for p in stack]))


def denoise(image: np.ndarray, *, sigma: float | None = None, channel_axis: int | None = None, precision: str = "auto") -> DenoiseResult:
    """Remove noise from a float image in [0, 1].

    Parameters
    ----------
    image
        ``(H, W)``, or color with ``channel_axis`` (three channels use the color network; a fourth,
        alpha, is kept as it is; other counts are denoised channel by channel).
    sigma
        The noise's standard deviation as a fraction of the range (25 of 255 is 0.098), from 0 to
        0.2; ``None`` estimates it from the photo (wavelet median, per channel).
    channel_axis
        Axis of the color channels, or ``None`` for gray.
    precision
        "auto" (bfloat16 on CPUs with bfloat16 units, where it is about 8x faster, else float32),
        "float32" or "bfloat16".

    Returns
    -------
    DenoiseResult
        ``image``: the denoised image in the input's layout, clipped to [0, 1]; ``sigma``: the
        level used.

    Raises
    ------
    ValueError
        If the image is not in [0, 1] or ``sigma`` is outside [0, 0.2].
    TypeError
        If the image is not a numeric NumPy array or ``sigma`` is not a number.

    Examples
    --------
    >>> import numpy as np
    >>> from gencor import denoise
    >>> clean = np.kron(0.3 + 0.4 * np.arange(4.0) / 3, np.ones((64, 16)))  # four flat bands
    >>> noisy = np.clip(clean + np.random.default_rng(0).normal(0, 0.08, clean.shape), 0, 1)
    >>> out = denoise(noisy, sigma=0.08).image
    >>> bool(np.abs(out - clean).mean() < 0.5 * np.abs(noisy - clean).mean())
    True
    """
    arr = as_image(image, channel_axis=channel_axis)
    if precision not in DENOISE_PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(DENOISE_PRECISIONS)}, not {precision!r}")
    planes = to_planes(arr).reshape(-1, *arr.shape[:2]).astype(np.float32)
    if sigma is None:
        level = photo_noise(planes[:3])
    else:
        level = check_real(sigma, "sigma")
        if not 0 <= level <= DENOISE_SIGMA_MAX:
            raise ValueError(f"sigma must be from 0 to {DENOISE_SIGMA_MAX} (a fraction of the range; 25 of 255 is 0.098), got {sigma}")
    from gencor.models.denoiser import shipped_denoiser

    net = shipped_denoiser(precision)
    out = planes.copy()
    if len(planes) in (3, 4):
        out[:3] = net(planes[:3], level)
    else:
        for c, plane in enumerate(planes):
            out[c] = net(plane[None], level)[0]
    out = np.clip(out, 0.0, 1.0).astype(float)
    return DenoiseResult(image=from_planes(out if arr.ndim == 3 else out[0], channel_axis), sigma=level)
