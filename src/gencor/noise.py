"""Noise level of a photo, which sets the prior weights of both estimation and deconvolution."""

from __future__ import annotations

import numpy as np
from skimage.restoration import estimate_sigma


def estimate_noise(image: np.ndarray) -> float:
    """Gaussian noise level of a gray image, from the wavelet MAD estimator of scikit-image."""
    return float(estimate_sigma(image))
