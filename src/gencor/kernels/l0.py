"""An image-domain L0 estimator with edge selection: the second family of kernel estimators.

The latent image minimises ``1/2 ||k * x - y||^2 + lam_g ||grad x||_0 + lam_i ||x||_0 + lam_d ||D(x)||_0
+ lam_b ||D(1 - x)||_0``
by half-quadratic splitting on a rising ``beta`` (Xu, Zheng and Jia, CVPR 2013; Pan, Hu, Su and
Yang, CVPR 2014 for the intensity term, which keeps the flat backgrounds of text and documents
flat). ``D`` is the patch minimum (the dark channel of Pan, Sun, Pfister and Yang, CVPR 2016):
blur brightens the darkest pixel of a patch, so a sparse dark channel favours sharp images; its
aux variable is solved like the others and mapped back through the pixel that holds each patch's
minimum. ``D(1 - x)`` is the bright channel: with the dark one, the extreme channels of Yan, Ren,
Guo, Wang and Cao (CVPR 2017), for photos with few dark pixels.

The kernel is then fitted to *selected* latent gradients only (Cho and Lee, SIGGRAPH Asia 2009):
the strongest, in every direction alike, so that no orientation of the kernel is left
unconstrained and no noise or fine texture ends up in it. What makes this family work in
practice, each measured in ``scripts/experiments/estimator_dev.py``:

- a sqrt(2) pyramid whose coarsest kernel starts as a two-pixel bar (a delta is a fixed point of
  the alternation: a sharp latent explains nothing more with a wider kernel);
- ``lam`` divided by 1.1 at every alternation, carried across scales;
- taps under a share of the peak zeroed and connected pieces of little mass removed at every
  alternation; the kernel re-centred at every level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft, ndimage
from skimage.restoration import denoise_tv_chambolle

from gencor.kernels.estimate import (
    BETA_MAX_RANGE,
    BETA_RATE_RANGE,
    DECAY_RANGE,
    ETA_RANGE,
    LAM_RANGE,
    LATENT_DTYPE,
    MAX_ITERATIONS,
    Bounds,
    KernelEstimate,
    ProgressFn,
    ScaleRecord,
    check_ladder,
    check_settings,
    pyramid_level,
    pyramid_sizes,
    resize_kernel,
)
from gencor.kernels.postprocess import center_kernel, clean_kernel, delta_kernel
from gencor.noise import estimate_noise
from gencor.operators.convolution import psf2otf
from gencor.validate import as_image, check_kernel_size


@dataclass(frozen=True)
class L0Config:
    """Settings of :func:`estimate_kernel_l0` (chosen on training photos, never evaluation ones).

    Attributes
    ----------
    lam_grad, lam_intensity, lam_dark, lam_bright
        Weights of the L0 terms on gradients, intensities, the dark and the bright channel at the first
        alternation (0 switches a term off); each is multiplied by ``lam_decay`` (1/1.1) per
        alternation, down to ``lam_min``. The intensity term (Pan et al., CVPR 2014, for text)
        is off by default: it brought no gain on natural photos (docs/bench/estimators.md).
    dark_patch
        Side of the patch of the dark channel.
    iterations
        Alternations of latent and kernel steps per pyramid level.
    beta_max, beta_rate
        The half-quadratic ladder: ``beta`` from ``2 lam`` to ``beta_max``, times ``beta_rate``.
    eta
        Weight of ``||k||^2`` in the kernel step, relative to the energy of the selected gradients.
    per_bin
        Edge selection keeps, in each of four orientation bins, at least ``per_bin * kernel size``
        of the strongest latent gradients.
    cut
        Kernel taps under this share of the peak are zeroed at every alternation.
    cg_iterations
        Conjugate-gradient iterations of the support-constrained kernel solve.
    denoise
        TV weight (times ``sigma^2``) of a denoised copy to estimate on; 0, the default, uses the
        photo as it is (at 300, the GCM family's setting, the gain on noisy training photos fell
        from +0.96 to +0.31 dB: the edge selection already ignores the noise).
    """

    lam_grad: float = 4e-3
    lam_intensity: float = 0.0
    lam_dark: float = 4e-3
    lam_bright: float = 0.0
    dark_patch: int = 15
    lam_decay: float = 1 / 1.1
    lam_min: float = 1e-4
    iterations: int = 5
    beta_max: float = 1e5
    beta_rate: float = 2.0
    eta: float = 2e-3
    per_bin: float = 2.0
    cut: float = 0.1
    cg_iterations: int = 20
    denoise: float = 0.0

    def __post_init__(self) -> None:
        check_settings("L0", self, L0_BOUNDS, whole=("dark_patch", "iterations", "cg_iterations"))
        weights = [w for w in (self.lam_grad, self.lam_intensity, self.lam_dark, self.lam_bright) if w > 0]
        if weights:  # the ladder starts at twice the smallest weight, which decays to lam_min
            check_ladder("L0", 2.0 * min(*weights, self.lam_min), self.beta_max, self.beta_rate)


#: Bounds of the L0 settings of their own: the terms' weights (0 switches one off; at 1 the prior
#: outweighs any image in [0, 1]), the side of the dark channel's patch, the edges kept per
#: orientation bin (times the kernel size), the share of the peak under which taps are cut, the
#: conjugate-gradient iterations, and the TV weight (0 is off).
L0_LAM_RANGE = (0.0, 1.0)
DARK_PATCH_RANGE = (1, 255)
PER_BIN_RANGE = (1e-2, 1e3)
CUT_RANGE = (0.0, 0.9)
CG_ITERATIONS_RANGE = (1, 1000)
L0_DENOISE_RANGE = (0.0, 1e5)
#: The bounds of every field of :class:`L0Config`.
L0_BOUNDS: Bounds = {
    "lam_grad": L0_LAM_RANGE,
    "lam_intensity": L0_LAM_RANGE,
    "lam_dark": L0_LAM_RANGE,
    "lam_bright": L0_LAM_RANGE,
    "dark_patch": DARK_PATCH_RANGE,
    "lam_decay": DECAY_RANGE,
    "lam_min": LAM_RANGE,
    "iterations": (1, MAX_ITERATIONS),
    "beta_max": BETA_MAX_RANGE,
    "beta_rate": BETA_RATE_RANGE,
    "eta": ETA_RANGE,
    "per_bin": PER_BIN_RANGE,
    "cut": CUT_RANGE,
    "cg_iterations": CG_ITERATIONS_RANGE,
    "denoise": L0_DENOISE_RANGE,
}


def _grad(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Periodic forward differences."""
    return np.roll(x, -1, axis=1) - x, np.roll(x, -1, axis=0) - x


def dark_aux(x: np.ndarray, patch: int, threshold: float) -> np.ndarray:
    """The dark channel's aux image: ``x`` with every pixel that is the minimum of some patch and
    whose square is under ``threshold`` set to 0 (the hard threshold of ``||D(x)||_0`` mapped back
    to the pixels that hold the patch minima). A pixel is such a minimum exactly where the grey
    opening of ``x`` equals ``x``."""
    holds_min = ndimage.grey_opening(x, size=(patch, patch), mode="wrap") >= x
    return np.where(holds_min & (x**2 < threshold), 0.0, x)


def latent_l0(y: np.ndarray, k: np.ndarray, lam_grad: float, lam_intensity: float, lam_dark: float, cfg: L0Config, lam_bright: float = 0.0) -> np.ndarray:
    """The latent image of the L0 model for kernel ``k`` on the periodic image ``y``.

    Each splitting step is one forward and one inverse FFT: the aux variables enter through
    ``D^T g + a`` computed in space, in single precision.
    """
    shape = y.shape
    y = y.astype(LATENT_DTYPE)
    otf = psf2otf(k, shape)
    den_grad = np.abs(psf2otf(np.array([[1.0, -1.0, 0.0]]), shape)) ** 2 + np.abs(psf2otf(np.array([[1.0], [-1.0], [0.0]]), shape)) ** 2
    num_data = (np.conj(otf) * fft.rfft2(y)).astype(np.complex64)
    den_data = (np.abs(otf) ** 2).astype(LATENT_DTYPE)
    den_grad = den_grad.astype(LATENT_DTYPE)
    pixel_terms = (lam_intensity > 0) + (lam_dark > 0) + (lam_bright > 0)
    terms = [lam for lam in (lam_grad, lam_intensity, lam_dark, lam_bright) if lam > 0]
    beta = 2.0 * min(terms) if terms else cfg.beta_max
    x = y.copy()
    while beta < cfg.beta_max:
        gx, gy = _grad(x)
        weak = gx**2 + gy**2 < lam_grad / beta
        gx[weak] = 0.0
        gy[weak] = 0.0
        # D^T g for forward differences: the backward difference, negated.
        rhs = (np.roll(gx, 1, axis=1) - gx) + (np.roll(gy, 1, axis=0) - gy)
        if lam_intensity > 0:
            rhs += np.where(x**2 >= lam_intensity / beta, x, 0.0)
        if lam_dark > 0:
            rhs += dark_aux(x, cfg.dark_patch, lam_dark / beta)
        if lam_bright > 0:
            rhs += 1.0 - dark_aux(1.0 - x, cfg.dark_patch, lam_bright / beta)
        num = num_data + np.float32(beta) * fft.rfft2(rhs)
        x = fft.irfft2(num / (den_data + np.float32(beta) * (den_grad + pixel_terms)), s=shape)
        beta *= cfg.beta_rate
    return x.astype(float)


def select_gradients(x: np.ndarray, size: int, per_bin: float) -> tuple[np.ndarray, np.ndarray]:
    """The latent's gradients with all but the strongest zeroed: the threshold is the largest
    that keeps at least ``per_bin * size`` pixels in each of four orientation bins."""
    gx, gy = _grad(x)
    mag = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    bins = np.minimum((angle / (np.pi / 4)).astype(int), 3)
    need = int(per_bin * size)
    threshold = np.inf
    for b in range(4):
        m = mag[bins == b]
        if m.size == 0:
            continue
        n = min(need, m.size)
        threshold = min(threshold, float(np.partition(m, m.size - n)[m.size - n]))
    keep = mag >= threshold
    return np.where(keep, gx, 0.0), np.where(keep, gy, 0.0)


def kernel_cg(lx: np.ndarray, ly: np.ndarray, bx: np.ndarray, by: np.ndarray, k0: np.ndarray, eta: float, iterations: int) -> np.ndarray:
    """``argmin_k sum_d ||l_d * k - b_d||^2 + eta E ||k||^2`` on the kernel's support by conjugate
    gradients (``E``: energy of the selected gradients, so ``eta`` is scale-free)."""
    shape = lx.shape
    size = k0.shape
    lxf, lyf = fft.rfft2(lx), fft.rfft2(ly)
    auto = np.abs(lxf) ** 2 + np.abs(lyf) ** 2
    cross = np.conj(lxf) * fft.rfft2(bx) + np.conj(lyf) * fft.rfft2(by)
    reg = eta * float(np.sum(lx**2 + ly**2))

    def crop(full_f: np.ndarray) -> np.ndarray:
        full = fft.irfft2(full_f, s=shape)
        return np.roll(full, (size[0] // 2, size[1] // 2), axis=(0, 1))[: size[0], : size[1]]

    def apply(k: np.ndarray) -> np.ndarray:
        return crop(auto * psf2otf(k, shape)) + reg * k

    b = crop(cross)
    k = k0.copy()
    r = b - apply(k)
    p = r.copy()
    rr = float(np.sum(r * r))
    for _ in range(iterations):
        ap = apply(p)
        alpha = rr / max(float(np.sum(p * ap)), 1e-30)
        k += alpha * p
        r -= alpha * ap
        rr_new = float(np.sum(r * r))
        if rr_new < 1e-20:
            break
        p = r + (rr_new / rr) * p
        rr = rr_new
    return k


def bar_kernel(size: int) -> np.ndarray:
    """The starting kernel: a horizontal two-pixel bar at the centre."""
    k = np.zeros((size, size))
    c = size // 2
    k[c, c - 1 : c + 1] = 0.5
    return k


def estimate_kernel_l0(
    blurred: np.ndarray,
    kernel_size: int,
    *,
    config: L0Config | None = None,
    valid: np.ndarray | None = None,
    progress: ProgressFn | None = None,
) -> KernelEstimate:
    """Estimate the kernel of a gray image in [0, 1] with the L0 family (see the module docstring)."""
    cfg = L0Config() if config is None else config
    blurred = as_image(blurred, channel_axis=None, name="blurred (the gray or luminance image)")
    check_kernel_size(kernel_size, blurred.shape)
    if cfg.denoise > 0:
        sigma = estimate_noise(blurred)
        blurred = denoise_tv_chambolle(blurred, weight=cfg.denoise * sigma**2)
    lam_g, lam_i, lam_d, lam_b = cfg.lam_grad, cfg.lam_intensity, cfg.lam_dark, cfg.lam_bright
    records: list[ScaleRecord] = []
    k = np.zeros((1, 1))
    levels = pyramid_sizes(kernel_size)
    for s_idx, (scale, ks) in enumerate(levels):
        k = bar_kernel(ks) if s_idx == 0 else resize_kernel(k, ks)
        shape, y_ext, interior = pyramid_level(blurred, scale, ks, valid)
        bx, by = _grad(y_ext)
        record = ScaleRecord(image_shape=shape, kernel_size=ks, kernel=k)
        for it in range(cfg.iterations):
            x = latent_l0(y_ext, k, lam_g, lam_i, lam_d, cfg, lam_b)
            lx, ly = select_gradients(x, ks, cfg.per_bin)
            lx, ly = lx * interior, ly * interior
            if not (lx.any() or ly.any()):
                # No edge to read a kernel from (a flat photo): no evidence of blur at all.
                k = delta_kernel(ks)
            else:
                k = kernel_cg(lx, ly, bx * interior, by * interior, k, cfg.eta, cfg.cg_iterations)
                k = clean_kernel(np.maximum(k, 0.0), rel_threshold=cfg.cut)
            record.iterates.append(k)
            lam_g = max(lam_g * cfg.lam_decay, cfg.lam_min) if lam_g > 0 else 0.0
            lam_i = max(lam_i * cfg.lam_decay, cfg.lam_min) if lam_i > 0 else 0.0
            lam_d = max(lam_d * cfg.lam_decay, cfg.lam_min) if lam_d > 0 else 0.0
            lam_b = max(lam_b * cfg.lam_decay, cfg.lam_min) if lam_b > 0 else 0.0
            if progress is not None:
                progress(s_idx, len(levels), it, cfg.iterations)
        k = center_kernel(k)
        record.kernel = k
        records.append(record)
    return KernelEstimate(kernel=k, scales=records, scale=1.0, lam=lam_g)
