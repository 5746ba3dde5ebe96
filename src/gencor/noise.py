"""Noise level of a photo, which sets the prior weights of both estimation and deconvolution."""

from __future__ import annotations

import numpy as np
from skimage.restoration import estimate_sigma

#: The noise levels gencor's denoiser is trained for, as fractions of the range (0 to 51 of 255).
DENOISE_SIGMA_MAX = 0.2


def estimate_noise(image: np.ndarray) -> float:
    """Gaussian noise level of a gray image, from the wavelet MAD estimator of scikit-image; 0 for
    a flat image (where the estimator has no detail coefficients to read)."""
    if np.ptp(image) == 0:
        return 0.0
    sigma = float(estimate_sigma(image))
    return sigma if np.isfinite(sigma) else 0.0
