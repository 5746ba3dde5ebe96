"""A noise-aware L0 estimator: the kernel fitted on intensities in closed form, the prior tied to the noise.

The latent step is the L0-gradient half-quadratic splitting of Xu, Zheng and Jia (CVPR 2013). The
kernel step fits ``k`` to the latent *intensities* in the Fourier domain,

    min_k  1/2 ||u * k - y||^2 + gamma/2 ||grad k||^2 + l1 ||k||_1,  k >= 0,

solved by a continuation on a proximal weight ``rho`` (1 to 1000, doubling): each pass is one
closed-form solve pulled towards the previous kernel, then the prox of the l1 term and positivity.
This follows Anger, Delbracio and Facciolo ("Efficient blind deblurring under high noise levels",
ISPA 2019), whose measurements on noisy photos motivate each choice:

- the prior weight ``lam`` decays by 1.1 per alternation, across scales, down to a floor of half the
  noise level: under noise, a floor far below it lets the latent fit the noise, and the kernel
  with it;
- the kernel's smoothness weight ``gamma`` grows with the noise: noise taps are rough, a blur path
  is not;
- no hard threshold of small taps and no removal of isolated pieces: under noise they cut the
  faint parts of a long path;
- a pyramid of halvings with a Gaussian prefilter, deep enough for a 3 px kernel at the coarsest
  scale; the latent image goes up to the next scale and the kernel is fitted on it there.

Weights are for unnormalised forward FFT sums (NumPy's default), as in the authors' programs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft, ndimage
from skimage.transform import resize

from gencor.kernels.estimate import (
    BETA_MAX_RANGE,
    BETA_RATE_RANGE,
    DECAY_RANGE,
    LAM_RANGE,
    MAX_ITERATIONS,
    Bounds,
    KernelEstimate,
    ProgressFn,
    ScaleRecord,
    check_ladder,
    check_settings,
)
from gencor.kernels.postprocess import center_kernel, delta_kernel
from gencor.noise import estimate_noise
from gencor.operators.convolution import psf2otf
from gencor.validate import as_image, check_kernel_size

#: The smallest kernel of the pyramid: halvings stop once the kernel would fall under this side.
COARSEST = 3
#: Image side under which no further halving is made (too few pixels to fit a kernel on).
MIN_SIDE = 16


@dataclass(frozen=True)
class NoiseAwareConfig:
    """Settings of :func:`estimate_kernel_noise_aware`.

    Attributes
    ----------
    lam
        L0 weight of the latent gradients at the first alternation; divided by 1/``lam_decay`` at
        every alternation, across scales.
    lam_decay
        Factor of ``lam`` per alternation.
    lam_floor
        ``lam`` never falls under ``lam_floor * sigma`` (nor under ``lam_min``).
    lam_min
        Floor of ``lam`` on a clean photo.
    smoothness, smoothness_min
        Weight ``gamma`` of ``||grad k||^2``: ``smoothness * sigma``, at least ``smoothness_min``.
    l1
        Weight of ``||k||_1`` (divided by the continuation weight at each pass).
    rho_max
        The continuation weight goes from 1 up to this, doubling.
    iterations
        Alternations of latent and kernel steps per scale.
    beta_max, beta_rate
        The half-quadratic ladder of the latent step, from ``2 lam`` (first alternation of a
        scale, latent started from the observation) to ``beta_max``.
    warm_beta, warm_rate
        The shorter ladder of later alternations, which refine the previous latent.
    ratio
        Image scale from one pyramid level to the next coarser one.
    prefilter
        Standard deviation (in pixels of the finer scale) of the Gaussian before a halving; other
        ratios scale it by ``sqrt((1 / ratio^2 - 1) / 3)``.
    """

    lam: float = 4e-3
    lam_decay: float = 1 / 1.1
    lam_floor: float = 0.5
    lam_min: float = 1e-4
    smoothness: float = 200.0
    smoothness_min: float = 0.2
    l1: float = 0.5
    rho_max: float = 1e3
    iterations: int = 2
    beta_max: float = 1e5
    beta_rate: float = 2.0
    warm_beta: float = 0.05
    warm_rate: float = 5.0
    ratio: float = 0.5
    prefilter: float = 1.6

    def __post_init__(self) -> None:
        check_settings("noise-aware", self, NOISE_AWARE_BOUNDS, whole=("iterations",))
        check_ladder("noise-aware", 2.0 * min(self.lam, self.lam_min), self.beta_max, self.beta_rate)
        check_ladder("noise-aware", self.warm_beta, self.beta_max, self.warm_rate)


NOISE_AWARE_BOUNDS: Bounds = {
    "lam": LAM_RANGE,
    "lam_decay": DECAY_RANGE,
    "lam_floor": (0.0, 100.0),
    "lam_min": LAM_RANGE,
    "smoothness": (0.0, 1e6),
    "smoothness_min": (0.0, 1e6),
    "l1": (0.0, 100.0),
    "rho_max": (1.0, 1e8),
    "iterations": (1, MAX_ITERATIONS),
    "beta_max": BETA_MAX_RANGE,
    "beta_rate": BETA_RATE_RANGE,
    "warm_beta": (1e-6, 1e6),
    "warm_rate": BETA_RATE_RANGE,
    "ratio": (0.25, 0.9),
    "prefilter": (0.0, 10.0),
}


def fast_side(n: int) -> int:
    """The largest side up to ``n`` whose FFT is fast (a product of 2, 3, 5 and 7)."""
    while fft.next_fast_len(n, real=True) != n:
        n -= 1
    return n


def taper(y: np.ndarray, width: int) -> np.ndarray:
    """``y`` blended into its box-blurred self over ``width`` pixels at each border, so that the
    periodic model of the FFTs sees no jump where the frame wraps around."""
    if width < 2:
        return y
    ramps = []
    for n in y.shape:
        w = min(width, n // 4)
        ramp = np.ones(n)
        t = np.sin(np.arange(w) * np.pi / (2 * w - 1)) ** 2
        ramp[:w] = t
        ramp[n - w :] = t[::-1]
        ramps.append(ramp)
    weight = np.outer(*ramps)
    box = np.full((width, width), 1.0 / width**2)
    blurred = fft.irfft2(fft.rfft2(y) * psf2otf(box, y.shape), s=y.shape)
    return weight * y + (1 - weight) * blurred


def pyramid(shape: tuple[int, int], size: int, ratio: float) -> list[int]:
    """Kernel sizes from the finest scale to the coarsest: scaled by ``ratio`` (made odd) while
    the kernel stays at least :data:`COARSEST` and the image at least :data:`MIN_SIDE`."""
    sizes = [size]
    side = float(min(shape))
    scale = 1.0
    while True:
        scale *= ratio
        k = int(size * scale)
        k += (k + 1) % 2
        if k < COARSEST or side * scale < MIN_SIDE:
            return sizes
        sizes.append(k)


def downsample(y: np.ndarray, ratio: float, prefilter: float) -> np.ndarray:
    """``y`` scaled by ``ratio``, low-passed first so the coarse scale does not alias (or carry the noise)."""
    blur = prefilter * np.sqrt((1 / ratio**2 - 1) / 3)
    smooth = ndimage.gaussian_filter(y, blur, mode="mirror") if blur > 0 else y
    shape = (int(np.ceil(y.shape[0] * ratio)), int(np.ceil(y.shape[1] * ratio)))
    return resize(smooth, shape, order=1, anti_aliasing=False).astype(y.dtype)


class _Spectra:
    """Transforms of one scale's observation that every step reuses."""

    def __init__(self, y: np.ndarray) -> None:
        self.y = y
        self.Y = fft.rfft2(y)
        dx = np.zeros((3, 3))
        dx[1, 1], dx[1, 2] = -1.0, 1.0
        self.Dx = psf2otf(dx, y.shape)
        self.Dy = psf2otf(dx.T, y.shape)
        self.DtD = np.abs(self.Dx) ** 2 + np.abs(self.Dy) ** 2


def latent_step(s: _Spectra, k: np.ndarray, u: np.ndarray, lam: float, beta: float, beta_max: float, rate: float) -> np.ndarray:
    """L0-gradient deconvolution by half-quadratic splitting, from ``u`` with ``beta`` rising to
    ``beta_max``: gradients with ``|g|^2 < lam / beta`` are set to zero at each step."""
    K = psf2otf(k, u.shape)
    KtY = np.conj(K) * s.Y
    KtK = np.abs(K) ** 2
    shape = u.shape
    while beta < beta_max:
        gx = np.roll(u, 1, axis=1) - u  # the difference whose transfer function is Dx
        gy = np.roll(u, 1, axis=0) - u
        small = gx**2 + gy**2 < lam / beta
        gx[small] = 0.0
        gy[small] = 0.0
        rhs = KtY + beta * (np.conj(s.Dx) * fft.rfft2(gx) + np.conj(s.Dy) * fft.rfft2(gy))
        u = fft.irfft2(rhs / (KtK + beta * s.DtD), s=shape)
        beta *= rate
    return u


def kernel_step(s: _Spectra, u: np.ndarray, size: int, gamma: float, l1: float, rho_max: float) -> np.ndarray:
    """The kernel that maps the latent ``u`` onto the observation, on intensities, smooth, sparse
    and non-negative (see the module's docstring); centred and summing to 1. The continuation
    starts from a flat kernel, so no earlier estimate biases it."""
    k = np.full((size, size), 1.0 / size**2)
    U = fft.rfft2(u)
    UtY = np.conj(U) * s.Y
    denominator = np.abs(U) ** 2 + gamma * s.DtD
    rho = 1.0
    while rho < rho_max:
        full = fft.irfft2((UtY + rho * psf2otf(k, u.shape)) / (denominator + rho), s=u.shape)
        k = np.roll(full, (size // 2, size // 2), axis=(0, 1))[:size, :size]
        k = np.maximum(k - l1 / rho, 0.0)
        rho *= 2.0
    if not np.isfinite(k).all() or k.sum() <= 1e-6:
        return delta_kernel(size)
    return center_kernel(k)


def estimate_kernel_noise_aware(
    blurred: np.ndarray,
    kernel_size: int,
    *,
    sigma: float | None = None,
    config: NoiseAwareConfig | None = None,
    progress: ProgressFn | None = None,
) -> KernelEstimate:
    """Estimate a camera-shake kernel from a gray photo, with priors tied to its noise.

    Parameters
    ----------
    blurred
        Gray image in [0, 1].
    kernel_size
        Odd side of the kernel; it must hold the whole blur.
    sigma
        Noise level (standard deviation, of the [0, 1] range); measured when ``None``.
    config
        Numerical settings (:class:`NoiseAwareConfig`).
    progress
        Called as ``progress(scale, n_scales, iteration, n_iterations)`` after every alternation.

    Returns
    -------
    KernelEstimate
        The kernel (convolution convention, non-negative, sums to 1) and the kernel of every scale.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.ndimage import convolve
    >>> rng = np.random.default_rng(0)
    >>> x = np.kron(rng.random((12, 12)), np.ones((8, 8)))
    >>> k = np.zeros((9, 9)); k[4, 1:8] = 1 / 7
    >>> y = convolve(x, k, mode="wrap") + 0.01 * rng.standard_normal(x.shape)
    >>> est = estimate_kernel_noise_aware(y, 9, sigma=0.01)
    >>> est.kernel.shape, round(float(est.kernel.sum()), 6)
    ((9, 9), 1.0)
    """
    y = as_image(blurred, channel_axis=None, name="blurred (the gray or luminance image)")
    check_kernel_size(kernel_size, y.shape)
    cfg = NoiseAwareConfig() if config is None else config
    if not isinstance(cfg, NoiseAwareConfig):
        raise TypeError(f"config must be a NoiseAwareConfig, got {type(cfg).__name__}")
    noise = estimate_noise(y) if sigma is None else float(sigma)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"sigma must be a non-negative number, got {sigma!r}")
    low, span = float(y.min()), float(np.ptp(y))
    if span > 0:  # the weights act on contrast stretched to [0, 1], whatever the exposure
        y, noise = (y - low) / span, noise / span
    lam_min = max(cfg.lam_floor * noise, cfg.lam_min)
    gamma = max(cfg.smoothness * noise, cfg.smoothness_min)

    h, w = fast_side(y.shape[0]), fast_side(y.shape[1])
    top, left = (y.shape[0] - h) // 2, (y.shape[1] - w) // 2
    finest = taper(y[top : top + h, left : left + w].astype(np.float64), kernel_size)
    sizes = pyramid(finest.shape, kernel_size, cfg.ratio)
    observations = [finest]
    for _ in sizes[1:]:
        observations.append(downsample(observations[-1], cfg.ratio, cfg.prefilter))

    lam = max(cfg.lam, lam_min)
    records: list[ScaleRecord] = []
    u = observations[-1]
    n_scales = len(sizes)
    for level in range(n_scales - 1, -1, -1):
        s = _Spectra(observations[level])
        size = sizes[level]
        if u.shape != s.y.shape:
            u = resize(u, s.y.shape, order=3, anti_aliasing=False)
        k = kernel_step(s, u, size, gamma, cfg.l1, cfg.rho_max)
        record = ScaleRecord(s.y.shape, size, k)
        for it in range(cfg.iterations):
            if it == 0:
                u = latent_step(s, k, s.y, lam, 2.0 * lam, cfg.beta_max, cfg.beta_rate)
            else:
                u = latent_step(s, k, u, lam, cfg.warm_beta, cfg.beta_max, cfg.warm_rate)
            k = kernel_step(s, u, size, gamma, cfg.l1, cfg.rho_max)
            record.iterates.append(k)
            lam = max(lam * cfg.lam_decay, lam_min)
            if progress is not None:
                progress(n_scales - level, n_scales, it + 1, cfg.iterations)
        record.kernel = k
        records.append(record)
    return KernelEstimate(kernel=k, scales=records, scale=1.0, lam=lam)
