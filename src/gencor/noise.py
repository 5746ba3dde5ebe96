"""Noise level of a photo, which sets the prior weights of both estimation and deconvolution."""

from __future__ import annotations

import numpy as np
from skimage.restoration import estimate_sigma

#: The noise levels gencor's denoiser is trained for, as fractions of the range (0 to 51 of 255).
DENOISE_SIGMA_MAX = 0.2
#: The arithmetic of the denoiser: "auto" is bfloat16 on CPUs with bfloat16 units, else float32.
DENOISE_PRECISIONS = ("auto", "float32", "bfloat16")
#: A photo is noisy above this measured noise: the estimator denoises its gradients and runs the
#: noise-aware family, and the non-blind step runs the denoiser (``deconvolve(method="auto")``).
NOISY_PHOTO = 0.005


def estimate_noise(image: np.ndarray) -> float:
    """Gaussian noise level of a gray image, from the wavelet MAD estimator of scikit-image; 0 for
    a flat image (where the estimator has no detail coefficients to read)."""
    if np.ptp(image) == 0:
        return 0.0
    sigma = float(estimate_sigma(image))
    return sigma if np.isfinite(sigma) else 0.0
