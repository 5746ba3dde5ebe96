"""Blind kernel estimation: the GCM propagation on image gradients inside a coarse-to-fine pyramid.

At each scale, alternately (i) estimate the latent gradients ``u`` with the current kernel and
(ii) solve the kernel step on the simplex with ``u`` against the observed gradients.

The latent step minimises ``Psi_beta(u) = f_beta(u) + lam ||u||_p^p`` with the split data term
:class:`~gencor.propagation.SplitFidelity`, by one Algorithm-1 run per value of ``beta`` on a
rising ladder. A gradient-domain data term on its own (``1/2 sum_d ||k * u_d - d_d y||^2``) lets
the two gradient maps drift apart, and then no sparse prior makes them sharper than the blurred
observation: we measured the alternation to stay near a tiny kernel on natural photos. The split
term ties ``u`` to one latent image, and the rising ``beta`` is the continuation path of
half-quadratic splitting, which turns blurred ramps into steps before the data term takes over.
``lam`` decays over the iterations, so the first kernels are fitted to the strongest edges only.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np
from skimage.restoration import denoise_tv_chambolle
from skimage.transform import resize

from gencor.kernels.postprocess import center_kernel, clean_kernel, delta_kernel
from gencor.kernels.step import kernel_step
from gencor.noise import NOISY_PHOTO, estimate_noise
from gencor.operators.boundary import extend_periodic
from gencor.operators.convolution import Convolution
from gencor.operators.gradient import Gradient
from gencor.propagation.fidelity import SplitFidelity
from gencor.propagation.gcm import (
    Generator,
    IdentityGenerator,
    LpPrior,
    ShrinkageGenerator,
    propagate,
)
from gencor.validate import as_image, as_kernel, check_callback, check_flag, check_kernel_size, check_real

#: Called as ``progress(scale, n_scales, iteration, n_iterations)``.
ProgressFn = Callable[[int, int, int, int], None]
#: Builds the Generator of one Algorithm-1 run: ``factory(prior, gammas, scale, iteration, level)``:
#: the pyramid scale, the alternation at that scale, and the run along the ``beta`` ladder (0 is
#: the most blurred latent).
GeneratorFactory = Callable[[LpPrior, tuple[float, ...], int, int, int], Generator | None]


@dataclass
class ScaleRecord:
    """What happened at one pyramid scale: its size, its final kernel, the kernel after every
    alternation (``iterates``), and of every run ``Psi``, the Corrector's decisions and whether a
    Generator proposed (``False``: the identity, i.e. the warm start itself, was tested)."""

    image_shape: tuple[int, int]
    kernel_size: int
    kernel: np.ndarray
    psi: list[np.ndarray] = field(default_factory=list)
    accepted: list[np.ndarray] = field(default_factory=list)
    proposed: list[bool] = field(default_factory=list)
    iterates: list[np.ndarray] = field(default_factory=list)


@dataclass
class KernelEstimate:
    """The estimated kernel (convolution convention, sums to 1) and the per-scale history.

    ``scale`` is the image scale the kernel was estimated at (1 unless the run stopped at a coarser
    level) and ``lam`` the prior weight reached, from which a continued run picks up.
    """

    kernel: np.ndarray
    scales: list[ScaleRecord]
    scale: float = 1.0
    lam: float = 0.0


def shrinkage_generator(prior: LpPrior, gammas: tuple[float, ...], scale: int, iteration: int, level: int) -> Generator:
    """The analytic default Generator (see :class:`ShrinkageGenerator`)."""
    return ShrinkageGenerator(prior, gammas)


def identity_generator(prior: LpPrior, gammas: tuple[float, ...], scale: int, iteration: int, level: int) -> Generator | None:
    """No Generator: the Corrector-only variant, its proximal-gradient step alone. (Proposing the
    warm start itself changed nothing: the Corrector refused all 3,416 on Levin, and testing them
    cost a sixth of the latent step.)"""
    return None


def latent_gradients(
    data: SplitFidelity,
    prior: LpPrior,
    g: np.ndarray,
    *,
    beta_start: float,
    beta_max: float,
    beta_rate: float,
    gamma_ratio: float,
    generator: GeneratorFactory,
    scale: int,
    iteration: int,
    corrector: bool,
    record: ScaleRecord | None = None,
    trace: bool = True,
) -> np.ndarray:
    """The latent step: one Algorithm-1 run per ``beta`` of the ladder, started from the observed
    gradients that survive the first threshold (so the first latent is the smooth image behind the
    strongest edges, not a ringing deconvolution)."""
    beta = beta_start * prior.lam
    u = prior.prox(g, 1.0 / beta)
    level = 0
    while beta < beta_max:
        gammas = (gamma_ratio * beta,)
        proposer = generator(prior, gammas, scale, iteration, level)
        run = propagate(data.with_beta(beta), prior, u, gammas=gammas, generator=proposer, corrector=corrector, trace=trace)
        u = run.u
        if record is not None:
            record.psi.append(run.psi)
            record.accepted.append(run.accepted)
            record.proposed.append(proposer is not None and not isinstance(proposer, IdentityGenerator))
        beta *= beta_rate
        level += 1
    return u


def _or_shrinkage(factory: GeneratorFactory) -> GeneratorFactory:
    def wrapped(prior: LpPrior, gammas: tuple[float, ...], scale: int, iteration: int, level: int) -> Generator:
        return factory(prior, gammas, scale, iteration, level) or ShrinkageGenerator(prior, gammas)

    return wrapped


#: Precision of the latent step. Single precision halves the cost of its FFTs and array
#: operations; the kernel step (a small, ill-conditioned solve) stays in double precision.
LATENT_DTYPE = np.float32

#: Slack when comparing pyramid scales (they are products of irrational ratios).
SCALE_TOLERANCE = 1.0 + 1e-6
#: Most alternations per scale that :class:`EstimatorConfig` and the L0 settings take (each costs
#: a full latent step; the default is 5).
MAX_ITERATIONS = 100
#: Most runs on one ``beta`` ladder (29 with the defaults): each is an Algorithm-1 run that the
#: history keeps, so with :data:`MAX_ITERATIONS` this bounds the work and the memory of a scale.
MAX_BETA_STEPS = 100
#: Bounds (inclusive) of the settings, each of the order of its default (weights and ratios of
#: images in [0, 1]): the ladder's rate, its top, and its start relative to ``lam``.
BETA_RATE_RANGE = (1.1, 100.0)
BETA_MAX_RANGE = (1e-3, 1e10)
BETA_START_RANGE = (1e-3, 1e6)
#: Prior weights and their floor (the ladder starts at ``beta_start`` times the smaller).
LAM_RANGE = (1e-8, 1.0)
#: The decay of the prior weight per alternation (1 keeps it).
DECAY_RANGE = (1e-3, 1.0)
#: The exponent of the gradient prior.
P_RANGE = (0.0, 1.0)
#: The weight of ``||k||^2`` in the kernel step and the warm-start weight ratio.
ETA_RANGE = (1e-8, 1e4)
GAMMA_RATIO_RANGE = (1e-3, 1e3)
#: The TV weight (times ``sigma^2``) of the denoised copy, and the noise above which it is made
#: (a noise level: at most 1).
DENOISE_RANGE = (1e-6, 1e5)
DENOISE_ABOVE_RANGE = (1e-6, 1.0)
#: Kernel taps under ``noise_threshold * sigma`` or ``kernel_floor`` times the peak are cut (a
#: floor of 1 would cut every tap but the peak).
NOISE_THRESHOLD_RANGE = (1e-6, 1e3)
KERNEL_FLOOR_RANGE = (1e-6, 0.9)

#: ``(low, high)`` of a setting, both included.
Bounds = dict[str, tuple[float, float]]


def check_settings(what: str, settings: object, bounds: Bounds, *, whole: tuple[str, ...] = ()) -> None:
    """Check every field of the dataclass ``settings`` against ``bounds`` (the fields in ``whole``
    must be whole numbers), in one line naming the field; numpy numbers become Python numbers."""
    for f in fields(settings):  # type: ignore[arg-type]
        value = getattr(settings, f.name)
        low, high = bounds[f.name]
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"invalid {what} settings: {f.name} must be a number, got {type(value).__name__}")
        if f.name in whole and not isinstance(value, numbers.Integral):
            raise ValueError(f"invalid {what} settings: {f.name} must be a whole number from {low:g} to {high:g}, got {value!r}")
        number = int(float(value)) if f.name in whole else float(value)  # whole values are small: exact
        if not low <= number <= high:  # NaN fails too
            raise ValueError(f"invalid {what} settings: {f.name} must be from {low:g} to {high:g}, got {value!r}")
        object.__setattr__(settings, f.name, number)  # the settings may be frozen


def ladder_steps(start: float, beta_max: float, beta_rate: float) -> int:
    """Runs of a ``beta`` ladder from ``start`` up to ``beta_max``, times ``beta_rate``."""
    return max(math.ceil(math.log(beta_max / start) / math.log(beta_rate) - 1e-9), 0)


def check_ladder(what: str, start: float, beta_max: float, beta_rate: float) -> None:
    """A one-line error when the longest ladder, from ``start``, would exceed :data:`MAX_BETA_STEPS`."""
    steps = ladder_steps(start, beta_max, beta_rate)
    if steps > MAX_BETA_STEPS:
        raise ValueError(
            f"invalid {what} settings: the beta ladder would take {steps} steps (at most {MAX_BETA_STEPS}); "
            "raise beta_rate or the prior weights' floor, or lower beta_max"
        )


#: The coarsest level of the pyramid has a kernel of this side (or 3 px, at the least).
COARSEST_KERNEL = 5


def pyramid_sizes(kernel_size: int, ratio: float = np.sqrt(0.5)) -> list[tuple[float, int]]:
    """``(image scale, kernel size)`` from coarsest to finest; the coarsest kernel is 3 to 5 px."""
    levels = []
    scale = 1.0
    while True:
        k = int(np.ceil(kernel_size * scale)) // 2 * 2 + 1
        levels.append((scale, max(k, 3)))
        if k <= COARSEST_KERNEL:
            break
        scale *= ratio
    return levels[::-1]


def pyramid_level(blurred: np.ndarray, scale: float, ks: int, valid: np.ndarray | None) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
    """The observation at one pyramid level: its shape, the image resized and extended periodically
    by the kernel size, and the mask of the pixels the kernel step may trust. That is the frame's
    interior (near the border the observation mixes in scene content the latent cannot know about,
    which would bias the kernel), less the holes of ``valid``."""
    h, w = blurred.shape
    shape = (max(int(round(h * scale)), 2 * ks), max(int(round(w * scale)), 2 * ks))
    y = resize(blurred, shape, order=1, anti_aliasing=scale < 1) if scale < 1 else blurred
    y_ext = extend_periodic(y, ks)
    margin = ks // 2 + 1
    interior = np.zeros(y_ext.shape)
    interior[margin : shape[0] - margin, margin : shape[1] - margin] = 1.0
    if valid is not None:
        interior[: shape[0], : shape[1]] *= resize(valid.astype(float), shape, order=0, anti_aliasing=False) > 0.5
    return shape, y_ext, interior


def resize_kernel(k: np.ndarray, size: int) -> np.ndarray:
    """``k`` resampled to ``size x size`` (bilinear), non-negative and summing to 1."""
    k = np.clip(resize(k, (size, size), order=1, anti_aliasing=False), 0.0, None)
    return k / k.sum() if k.sum() > 0 else delta_kernel(size)


@dataclass(frozen=True)
class EstimatorConfig:
    """The numerical settings of :func:`estimate_kernel`, in one typed object.

    The defaults are the ones the pipeline ships with; they were chosen on the validation set
    (scikit-image sample photos), never on evaluation images.

    Attributes
    ----------
    lam, lam_decay, lam_min
        Weight of the sparse gradient prior at the first iteration of the coarsest scale, its
        decay per iteration (carried on across scales) and its floor.
    p
        Exponent of the (isotropic) gradient prior; 0 counts non-zero gradients.
    eta
        Weight of the ``||k||^2`` term of the kernel step.
    iterations
        Alternations of latent and kernel steps per scale.
    beta_start, beta_max, beta_rate
        The ladder of ``beta``: from ``beta_start * lam`` up to ``beta_max``, times ``beta_rate``.
    gamma_ratio
        Warm-start weight ``gamma = gamma_ratio * beta``.
    denoise
        The kernel is estimated on a copy denoised by total variation with weight
        ``denoise * sigma^2`` (``sigma`` measured on the photo; a MAP weight grows with the noise
        variance): TV keeps the steps the kernel is read from and removes the noise that would
        otherwise end up in the kernel.
    denoise_above
        Only photos whose measured ``sigma`` exceeds this are denoised. Below it the estimator is
        better off without: we measured even a TV weight of 5e-4 to move Levin's ER <= 3 share
        from 88% to 78%, i.e. the alternation is sensitive to small changes of its input.
    noise_threshold, kernel_floor
        Kernel taps below ``max(kernel_floor, noise_threshold * sigma)`` times the peak are cut.
        A floor of 0.1 removed the cloud of faint taps that a 39 px window collects on clean
        synthetic photos (kernel similarity 0.51 -> 0.81 on a 19 px line), but on real photos it
        cut the faint segments of long shake paths and collapsed them to a dot (boy_statue,
        bird, bridge of Lai et al.'s set), so the floor stays at 0.03.
    """

    lam: float = 0.004
    lam_decay: float = 1 / 1.1
    lam_min: float = 2.5e-5
    p: float = 0.0
    eta: float = 0.3
    iterations: int = 5
    beta_start: float = 8.0
    beta_max: float = 1e5
    beta_rate: float = 2.0
    gamma_ratio: float = 1.0
    denoise: float = 300.0
    denoise_above: float = NOISY_PHOTO
    noise_threshold: float = 10.0
    kernel_floor: float = 0.03

    def __post_init__(self) -> None:
        check_settings("estimator", self, ESTIMATOR_BOUNDS, whole=("iterations",))
        if self.beta_start * self.lam >= self.beta_max:
            # The ladder runs from beta_start * lam up to beta_max, times beta_rate per run.
            raise ValueError("invalid estimator settings: beta_start * lam must stay below beta_max")
        check_ladder("estimator", beta_steps_start(self), self.beta_max, self.beta_rate)


#: The bounds of every field of :class:`EstimatorConfig`.
ESTIMATOR_BOUNDS: Bounds = {
    "lam": LAM_RANGE,
    "lam_decay": DECAY_RANGE,
    "lam_min": LAM_RANGE,
    "p": P_RANGE,
    "eta": ETA_RANGE,
    "iterations": (1, MAX_ITERATIONS),
    "beta_start": BETA_START_RANGE,
    "beta_max": BETA_MAX_RANGE,
    "beta_rate": BETA_RATE_RANGE,
    "gamma_ratio": GAMMA_RATIO_RANGE,
    "denoise": DENOISE_RANGE,
    "denoise_above": DENOISE_ABOVE_RANGE,
    "noise_threshold": NOISE_THRESHOLD_RANGE,
    "kernel_floor": KERNEL_FLOOR_RANGE,
}


def beta_steps_start(cfg: EstimatorConfig) -> float:
    """The lowest start of ``cfg``'s ladders: the prior weight decays to ``lam_min`` (or starts below it)."""
    return cfg.beta_start * min(cfg.lam, cfg.lam_min)


def beta_steps(cfg: EstimatorConfig) -> int:
    """Runs of ``cfg``'s longest ``beta`` ladder (at most :data:`MAX_BETA_STEPS`)."""
    return ladder_steps(beta_steps_start(cfg), cfg.beta_max, cfg.beta_rate)


def check_config(cfg: object) -> None:
    """A one-line ``TypeError`` unless ``cfg`` is an :class:`EstimatorConfig` instance (a dict or
    the class itself would fail deep inside the estimator)."""
    if not isinstance(cfg, EstimatorConfig):
        raise TypeError(f"config must be an EstimatorConfig (e.g. gencor.EstimatorConfig(iterations=3)) or None, got {type(cfg).__name__}")


def check_options(cfg: object, generator: object, corrector: object, progress: object) -> None:
    """A one-line ``TypeError`` for a keyword of :func:`estimate_kernel` of the wrong kind: any
    truthy ``corrector`` (``"no"`` too) would keep the Corrector."""
    check_config(cfg)
    if generator is None or not callable(generator):
        raise TypeError(f"generator must be a function (a GeneratorFactory), got {type(generator).__name__}")
    check_flag(corrector, "corrector")
    check_callback(progress, "progress")


def check_valid(valid: object, shape: tuple[int, ...]) -> None:
    """``valid`` must be a boolean map of the image's shape: a float map would be thresholded
    without a word, and another shape resized."""
    if not isinstance(valid, np.ndarray) or valid.dtype != bool:
        raise TypeError(f"valid must be a boolean NumPy array or None, got {type(valid).__name__} {getattr(valid, 'dtype', '')}".rstrip())
    if valid.shape != shape:
        raise ValueError(f"valid must have the image's shape {shape}, got {valid.shape}")


def check_scales(init: object, init_scale: object, final_scale: object) -> tuple[float, float]:
    """``init`` a kernel (checked by :func:`~gencor.validate.as_kernel`, used as given), and
    ``0 <= init_scale < final_scale <= 1``: the pyramid's scales are within (0, 1]."""
    if init is not None:
        as_kernel(init, name="init")
    start, stop = check_real(init_scale, "init_scale"), check_real(final_scale, "final_scale")
    if not 0.0 <= start < 1.0:
        raise ValueError(f"init_scale must be from 0 to below 1, got {init_scale!r}")
    if not 0.0 < stop <= 1.0:
        raise ValueError(f"final_scale must be above 0 and at most 1, got {final_scale!r}")
    return start, stop


def estimate_kernel(
    blurred: np.ndarray,
    kernel_size: int,
    *,
    config: EstimatorConfig | None = None,
    generator: GeneratorFactory = identity_generator,
    corrector: bool = True,
    progress: ProgressFn | None = None,
    valid: np.ndarray | None = None,
    init: np.ndarray | None = None,
    init_scale: float = 0.0,
    final_scale: float = 1.0,
    trace: bool = True,
) -> KernelEstimate:
    """Estimate the blur kernel of a gray image in [0, 1], coarse to fine.

    Parameters
    ----------
    blurred
        ``(H, W)`` float image in [0, 1] (the luminance of a color photo).
    kernel_size
        Odd side of the kernel support; it should exceed the longest blur streak.
    config
        The estimator's settings (:class:`EstimatorConfig`; its defaults when ``None``).
    generator
        Factory of the Generator for each run; ``None`` from it (the default factory's answer
        everywhere) leaves the run to the Corrector's proximal-gradient step alone.
    corrector
        Keep the monotone Corrector. ``False`` is the Generator-only ablation: a naive cascade
        with no ``Psi`` test and no prox step, in which the runs that the factory leaves to the
        identity use the shrinkage Generator instead (else they would apply no prior at all).
    progress
        Optional callback.
    valid
        Optional ``(H, W)`` boolean map of the pixels the kernel step may trust; clipped lights
        (dilated by the kernel size) break the linear blur model and are left out.
    init, init_scale
        Continue a run that stopped at image scale ``init_scale`` with kernel ``init``: only the
        pyramid levels finer than ``init_scale`` are run, starting from ``init`` resampled (and
        ``lam`` should be the weight that run reached).
    final_scale
        Stop after the finest level at or below this image scale (Zhang and Yang, NeurIPS 2014:
        with noise the finest scale is not always the best one). The kernel is at that level's
        size; the caller resamples it.
    trace
        Record ``Psi`` after every stage (``ScaleRecord.psi``). ``False`` skips the evaluations
        that only the record needs (a third of the time); runs with a Generator still record it.

    Returns
    -------
    KernelEstimate
        The kernel (convolution convention, sums to 1), ``Psi`` of every run at every scale, the
        last scale and the prior weight reached.

    Raises
    ------
    TypeError
        If ``config`` is no :class:`EstimatorConfig`, ``corrector`` no bool, ``generator`` or
        ``progress`` not callable, ``valid`` no boolean array, ``init`` no array, or a scale or
        ``kernel_size`` no number.
    ValueError
        If ``blurred`` is not a 2-D image in [0, 1], ``kernel_size`` does not fit it, ``valid``
        has another shape, ``init`` is no finite non-negative kernel, or the scales are not
        ``0 <= init_scale < final_scale <= 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.ndimage import convolve
    >>> from gencor import estimate_kernel
    >>> sharp = np.kron(np.random.default_rng(0).uniform(size=(12, 12)), np.ones((8, 8)))
    >>> k = np.zeros((7, 7)); k[3, 1:6] = 0.2
    >>> est = estimate_kernel(convolve(sharp, k, mode="wrap"), 7)
    >>> est.kernel.shape, bool(abs(est.kernel.sum() - 1) < 1e-9)
    ((7, 7), True)
    """

    cfg = EstimatorConfig() if config is None else config
    blurred = as_image(blurred, channel_axis=None, name="blurred (the gray or luminance image)")
    check_kernel_size(kernel_size, blurred.shape)
    check_options(cfg, generator, corrector, progress)
    check_flag(trace, "trace")
    init_scale, final_scale = check_scales(init, init_scale, final_scale)
    if valid is not None:
        check_valid(valid, blurred.shape)
    if not corrector:
        generator = _or_shrinkage(generator)
    sigma = estimate_noise(blurred)
    if sigma > cfg.denoise_above:
        blurred = denoise_tv_chambolle(blurred, weight=cfg.denoise * sigma**2)
    rel_threshold = max(cfg.kernel_floor, cfg.noise_threshold * sigma)
    levels = [lv for lv in pyramid_sizes(kernel_size) if init_scale * SCALE_TOLERANCE < lv[0] <= final_scale * SCALE_TOLERANCE]
    if not levels:
        raise ValueError(f"no pyramid level between scales {init_scale} and {final_scale}")
    k = delta_kernel(levels[0][1]) if init is None else resize_kernel(init, levels[0][1])
    records: list[ScaleRecord] = []
    lam_it = cfg.lam
    for s_idx, (scale, ks) in enumerate(levels):
        if k.shape[0] != ks:
            k = resize_kernel(k, ks)
        shape, y_ext, interior = pyramid_level(blurred, scale, ks, valid)
        y_ext = y_ext.astype(LATENT_DTYPE)
        g = Gradient(y_ext.shape).forward(y_ext)
        record = ScaleRecord(image_shape=shape, kernel_size=ks, kernel=k)
        for it in range(cfg.iterations):
            u = latent_gradients(
                SplitFidelity(Convolution(k, y_ext.shape), y_ext, 1.0),
                LpPrior(lam_it, cfg.p, group_axis=0),
                g,
                beta_start=cfg.beta_start,
                beta_max=cfg.beta_max,
                beta_rate=cfg.beta_rate,
                gamma_ratio=cfg.gamma_ratio,
                generator=generator,
                scale=s_idx,
                iteration=it,
                corrector=corrector,
                record=record,
                trace=trace,
            )
            k = clean_kernel(kernel_step(u * interior, g * interior, ks, eta=cfg.eta), rel_threshold=rel_threshold)
            record.iterates.append(k)
            lam_it = max(lam_it * cfg.lam_decay, cfg.lam_min)
            if progress is not None:
                progress(s_idx, len(levels), it, cfg.iterations)
        k = center_kernel(k)
        record.kernel = k
        records.append(record)
    return KernelEstimate(kernel=k, scales=records, scale=levels[-1][0], lam=lam_it)
