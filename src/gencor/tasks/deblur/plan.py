"""Step 1 of :func:`gencor.tasks.deblur.deblur`, the plan: check the options, measure the noise and
the clipped lights, and choose the window the frame's kernel is estimated on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from gencor.generators import generator_factory
from gencor.kernels.estimate import EstimatorConfig, GeneratorFactory, KernelEstimate, check_config, estimate_kernel, pyramid_sizes
from gencor.kernels.l0 import L0Config
from gencor.kernels.noiseaware import NoiseAwareConfig, pyramid
from gencor.layout import luminance
from gencor.noise import estimate_noise
from gencor.tasks.deconv import METHODS, check_lam, clipped_pixels
from gencor.validate import as_image, check_callback, check_flag, check_kernel_size

#: Side of the window the kernel is estimated on for large photos; blur is (nearly) the same
#: everywhere under camera shake, and the window with the most edges constrains it best.
ESTIMATION_WINDOW = 640
#: The automatic size covers blurs up to ``MAX_AUTO_SIZE - 2 * SIZE_MARGIN`` = 75 px. The sizing
#: run starts with the first window of the ladder and grows it while the kernel touches its border:
#: we measured a generous window from the start to fill with noise taps on clean photos.
MAX_AUTO_SIZE = 83
SIZING_LADDER = (39, 59, MAX_AUTO_SIZE)
MIN_AUTO_SIZE = 11
#: The image scale at which each estimation run is split: its kernel there is the coarse
#: candidate, and the two agreement windows are estimated up to it.
SIZING_SCALE = 0.5
#: The estimation window holds no edge when 99 % of its pixels stray from its best-fit plane by less
#: than this plus three times the noise: a blank photo or a smooth gradient, which any blur leaves
#: as it is (a ramp blurred is the same ramp), so no kernel can be measured on it.
FLAT_CONTRAST = 2 / 255
#: ``kernel_size`` value that asks for the automatic size.
AUTO = "auto"
#: ``blur`` values: one kernel for the frame, a grid of local kernels, or the grid only when its
#: kernels differ from the frame's by more than ``LOCAL_VARIATION`` (``blur_variation``).
BLUR_MODES = ("uniform", "local", "auto")

#: Called as ``progress(done, total, phase)``.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Options:
    """The keywords of :func:`~gencor.tasks.deblur.deblur`, as given."""

    kernel_size: int | str
    channel_axis: int | None
    generator: str
    corrector: bool
    final_stage: bool
    blur: str
    lam: float | None
    force: bool
    deconvolution: str
    config: EstimatorConfig
    progress: Progress | None
    trace: bool = False


class Clock:
    """Seconds spent in each named stage, in the order the stages end."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()
        # Families run side by side: one lap at a time, so the stages still add up to the wall time.
        self._lock = threading.Lock()

    def lap(self, stage: str) -> None:
        with self._lock:
            now = time.perf_counter()
            self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._last
            self._last = now


class Steps:
    """Adapts the estimator's per-run callback into one count over the whole pipeline."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0
        # The local windows are estimated in threads: one count, one call at a time.
        self.lock = threading.Lock()

    def run(self, phase: str) -> Callable[[int, int, int, int], None] | None:
        progress = self.progress
        if progress is None:
            return None

        def update(scale: int, n_scales: int, it: int, n_it: int) -> None:
            with self.lock:
                self.done = min(self.done + 1, self.total)
                progress(self.done, self.total, phase)

        return update

    def add(self, steps: int) -> None:
        """More steps to the total (a larger window of the sizing ladder starts)."""
        with self.lock:
            self.total += steps


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


def pair_windows(gray: np.ndarray, size: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Two disjoint windows of side at most ``size``: the best one in each half of the frame (split
    across its longer side)."""
    h, w = gray.shape
    if w >= h:
        half = w // 2
        a = best_window(gray[:, :half], size)
        b = best_window(gray[:, half:], size)
        return a, (b[0], slice(b[1].start + half, b[1].stop + half))
    half = h // 2
    a = best_window(gray[:half], size)
    b = best_window(gray[half:], size)
    return a, (slice(b[0].start + half, b[0].stop + half), b[1])


def runs_noise_aware(sigma: float) -> bool:
    """Whether the noise-aware family runs: on a noisy photo, above the noise at which the GCM
    family denoises (0.005). On nearly clean photos its smooth kernels lost to the other families
    (Levin, measured noise 0.001-0.002: ER <= 3 on 56 % of the images with it against 72 %
    without). It runs on photos with clipped lights too: on the 6 such photos of 16 training
    crops (scripts/experiments/estimator_dev.py, true size) its kernels were closer to the truth
    than the GCM family's (similarity 0.67 against 0.59 at noise 0.01, 0.67 against 0.52 at 0.02),
    and filling the pixels near the lights with its own prediction made them worse (0.56-0.65
    against 0.67 at noise 0.01)."""
    return sigma > EstimatorConfig().denoise_above


def largest_size(shape: tuple[int, ...], cap: int) -> int:
    """The largest odd kernel size up to ``cap`` that the estimator accepts for ``shape``."""
    n = min(cap, min(shape[:2]) // 2)
    return n if n % 2 else n - 1


def levels(size: int, lo: float, hi: float) -> int:
    """The scales of the estimator's pyramid for ``size`` in ``(lo, hi]``."""
    return sum(1 for s, _ in pyramid_sizes(size) if lo < s * (1 - 1e-6) and s <= hi * (1 + 1e-6))


@dataclass
class Plan:
    """The photo, what the analysis measured on it, and how the kernel will be sought."""

    options: Options
    #: The photo as floats, channels last, and its luminance.
    arr: np.ndarray
    gray: np.ndarray
    sigma: float
    #: Pixels far enough from clipped lights to estimate on (``None``: all of them).
    valid: np.ndarray | None
    #: Whether the size is automatic, and the largest kernel size tried.
    auto: bool
    max_size: int
    #: The window with the most edges, where the frame's kernel is estimated, and its luminance.
    window: tuple[slice, slice]
    y: np.ndarray
    #: Kernel sizes tried in turn while the kernel touches the border of its window.
    ladder: list[int]
    #: Whether the photo is large enough for a half scale (else one kernel, nothing to compare:
    #: no agreement, stability or consensus is measured).
    has_coarse: bool
    #: Whether the estimation window holds no edge to measure a blur on (:func:`is_flat`).
    flat: bool
    factory: GeneratorFactory
    steps: Steps
    clock: Clock

    def mask(self, window: tuple[slice, slice]) -> np.ndarray | None:
        """The valid pixels of ``window``."""
        return None if self.valid is None else self.valid[window]

    def estimate(
        self,
        img: np.ndarray,
        size: int,
        mask: np.ndarray | None,
        phase: str,
        *,
        lam: float | None = None,
        init: np.ndarray | None = None,
        init_scale: float = 0.0,
        final_scale: float = 1.0,
    ) -> KernelEstimate:
        """One run of the GCM estimator with the user's settings (its ``lam`` unless given)."""
        settings = self.options.config
        return estimate_kernel(
            img,
            size,
            config=replace(settings, lam=settings.lam if lam is None else lam),
            generator=self.factory,
            corrector=self.options.corrector,
            valid=mask,
            progress=self.steps.run(phase),
            init=init,
            init_scale=init_scale,
            final_scale=final_scale,
            trace=self.options.trace,
        )


def is_flat(y: np.ndarray, sigma: float) -> bool:
    """Whether the window ``y`` holds no edge (see ``FLAT_CONTRAST``)."""
    h, w = y.shape
    rows, cols = np.mgrid[:h, :w]
    basis = np.column_stack([np.ones(h * w), rows.ravel(), cols.ravel()])
    coef, *_ = np.linalg.lstsq(basis, y.ravel(), rcond=None)
    return float(np.percentile(np.abs(y.ravel() - basis @ coef), 99)) < FLAT_CONTRAST + 3 * sigma


def _check(options: Options, arr: np.ndarray) -> tuple[bool, int, GeneratorFactory]:
    """Whether the size is automatic, the largest size, and the Generator's factory; a
    ``ValueError`` for a wrong option."""
    if options.lam is not None:
        check_lam(options.lam)
    for name in ("corrector", "final_stage", "force", "trace"):
        check_flag(getattr(options, name), name)
    check_config(options.config)
    check_callback(options.progress, "progress")
    kernel_size = options.kernel_size
    auto = isinstance(kernel_size, str) and kernel_size == AUTO
    if not isinstance(options.deconvolution, str) or options.deconvolution not in METHODS:
        raise ValueError(f"deconvolution must be one of {', '.join(METHODS)}, got {options.deconvolution!r}")
    if not isinstance(options.blur, str) or options.blur not in BLUR_MODES:
        raise ValueError(f"blur must be one of {', '.join(BLUR_MODES)}, got {options.blur!r}")
    if isinstance(kernel_size, str) and not auto:
        raise ValueError(f"kernel size must be an odd integer or 'auto', got {kernel_size!r}")
    factory = generator_factory(options.generator)
    max_size = check_kernel_size(largest_size(arr.shape, MAX_AUTO_SIZE), arr.shape) if auto else check_kernel_size(kernel_size, arr.shape)
    return auto, max_size, factory


def make_plan(image: np.ndarray, options: Options, clock: Clock) -> Plan:
    """Check the photo and the options, measure the noise and the clipped lights, and choose the
    estimation window."""
    arr = as_image(image, channel_axis=options.channel_axis)
    auto, max_size, factory = _check(options, arr)
    gray = luminance(arr)
    sigma = estimate_noise(gray)
    clipped = clipped_pixels(arr).any(axis=-1) if arr.ndim == 3 else clipped_pixels(arr)
    # A square dilation is a separable running maximum (the 2-D binary dilation took 3 s here).
    valid = ndimage.maximum_filter(clipped.view(np.uint8), size=max_size, mode="constant") == 0 if clipped.any() else None
    clock.lap("analysis")
    window = best_window(gray, max(ESTIMATION_WINDOW, 4 * max_size))
    has_coarse = levels(max_size, 0.0, SIZING_SCALE) > 0
    first = SIZING_LADDER[0] if auto and max_size > SIZING_LADDER[0] else max_size
    ladder = [n for n in SIZING_LADDER if n < max_size] + [max_size] if auto else [max_size]
    y = gray[window]
    # The GCM family's first rung and its two checks, the dark family's first rung and the
    # noise-aware run at the ladder's top; later rungs add their steps when they start.
    iterations = options.config.iterations
    noise_aware = NoiseAwareConfig()
    noisy = runs_noise_aware(sigma)
    steps = Steps(
        options.progress,
        iterations * (3 * levels(first, 0, SIZING_SCALE) + levels(first, SIZING_SCALE, 1.0))
        + (L0Config().iterations * len(pyramid_sizes(first)) if has_coarse else 0)
        + (noise_aware.iterations * len(pyramid(y.shape, ladder[-1], noise_aware.ratio)) if has_coarse and noisy else 0),
    )
    return Plan(options, arr, gray, sigma, valid, auto, max_size, window, y, ladder, has_coarse, is_flat(y, sigma), factory, steps, clock)
