"""Blind deblurring of a photo: estimate the kernel on luminance, check it, deconvolve every channel.

The pipeline, in order:

1. Noise level and clipped lights are measured on the photo.
2. *Estimation and size.* On the window with the most edges, the coarse-to-fine estimator runs
   with a 39 px kernel window; while the kernel touches the border of its window, it runs again
   with a larger one (59, then 83 px). The support of the final kernel sets the reported size
   (``"auto"``), and the kernel is cut to it. We measured the half-scale kernel to be a poor guide
   to the size: it is often still collapsed to a few pixels where the full-scale one is right.
3. *Coarse candidate.* The run's half-scale kernel is kept as a second candidate (with noise, the
   finest scale is not always the best; Zhang and Yang, NeurIPS 2014).
4. *Agreement.* Two disjoint windows (one in each half of the frame) get their own half-scale
   estimates; a uniform camera shake gives them the same kernel.
5. *Second prior family.* The dark-channel L0 estimator (:mod:`gencor.kernels.l0`) runs on the
   same window with its own size ladder; its kernel is a third candidate, and how closely the two
   families agree is evidence for both (``consensus``). In a night photo, the streak of an
   isolated light (:mod:`gencor.kernels.streaks`) is a fourth; its "stability" is how well the
   streaks of different lights agree.
6. *Candidates and confidence.* The fine kernel, the half-scale kernel (the better choice when
   noise is high) and the dark-channel kernel are each tried on the window; the measures of
   :mod:`gencor.assess` give each a confidence, and the most trusted one is kept.
7. *Safety net.* If no candidate is trusted, the input is returned unchanged with a warning
   (``force=True`` deblurs anyway with the best candidate).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from scipy import fft, ndimage

from gencor.assess import TRUST_THRESHOLD, Evidence, confidence, kernel_similarity, lowest_answered, overshoot, residual, ringing, spread
from gencor.generators import final_stage, generator_factory
from gencor.kernels.estimate import EstimatorConfig, KernelEstimate, estimate_kernel, pyramid_sizes, resize_kernel
from gencor.kernels.l0 import L0Config, estimate_kernel_l0
from gencor.kernels.local import Region, choose_kernels, edge_energy, grid_kernels, grid_regions, local_grid, neighbour_agreement
from gencor.kernels.size import crop_kernel, kernel_extent, size_for_extent, touches_border
from gencor.kernels.streaks import streak_kernel
from gencor.layout import from_planes, luminance, to_planes
from gencor.noise import estimate_noise
from gencor.propagation.final import FinalObjective, correct
from gencor.tasks.deconv import LAM_MAX, check_lam, clipped_pixels, deconvolve, default_lam
from gencor.tasks.deconv_local import deconvolve_local
from gencor.threads import fft_workers
from gencor.validate import as_image, check_kernel_size

#: Side of the window the kernel is estimated on for large photos; blur is (nearly) the same
#: everywhere under camera shake, and the window with the most edges constrains it best.
ESTIMATION_WINDOW = 640
#: Side of the window of the dark-channel family. Its latent step costs about twice the GCM
#: family's per pixel (the patch minimum at every splitting step); on a 1 MP photo a 400 px window
#: takes 6 s where 640 px took 15 s.
DARK_WINDOW = 400
#: Largest side of each of the two windows whose kernels are compared.
PAIR_WINDOW = 400
#: The automatic size covers blurs up to ``MAX_AUTO_SIZE - 2 * SIZE_MARGIN`` = 75 px. The sizing
#: run starts with the first window of the ladder and grows it while the kernel touches its border:
#: we measured a generous window from the start to fill with noise taps on clean photos.
MAX_AUTO_SIZE = 83
SIZING_LADDER = (39, 59, MAX_AUTO_SIZE)
MIN_AUTO_SIZE = 11
#: The image scale at which each estimation run is split: its kernel there is the coarse
#: candidate, and the two agreement windows are estimated up to it.
SIZING_SCALE = 0.5
#: The conservative candidates deconvolve with this many times the noise-based prior weight: less
#: detail comes back, and far less ringing when the kernel is only roughly right.
CONSERVATIVE_LAM = 8.0
#: A kernel with this share of its mass in one pixel is "no blur": deconvolving with it would only
#: denoise, which is not what the user asked for, so the photo is left as it is.
NEAR_DELTA = 0.5
#: The confidence was fitted on noise up to 0.02 (docs/bench/calibration.md); above this level its
#: measures say nothing (a prior weight that large flattens any output, which then looks free of
#: ringing), so no result is trusted.
MAX_TRUSTED_NOISE = 0.05
#: ``kernel_size`` value that asks for the automatic size.
AUTO = "auto"
#: ``blur`` values: one kernel for the frame, a grid of local kernels, or the grid only when its
#: kernels differ from the frame's by more than ``LOCAL_VARIATION`` (``blur_variation``). Measured
#: by scripts/experiments/local_threshold.py on BSDS500 training photos (noise 0.005-0.01): with uniform shake
#: the variation was at most 0.148 (median 0) on 11 photos; with camera roll its median was 0.056
#: (at most 0.345) on 12, so the two overlap and the threshold sits above every uniform case.
BLUR_MODES = ("uniform", "local", "auto")
LOCAL_VARIATION = 0.2
#: The local path needs at least this many windows trusted with kernels of their own (a lone
#: window is not evidence that the blur varies).
MIN_TRUSTED_WINDOWS = 2

#: Called as ``progress(done, total, phase)``.
Progress = Callable[[int, int, str], None]


@dataclass
class DeblurReport:
    """What the program decided and why: the keys of ``gencor deblur --report``."""

    kernel_size: int
    noise_sigma: float
    confidence: float
    #: "deblurred", "conservative" (a stronger prior), "tentative" (the conservative twin of a
    #: candidate of moderate confidence, with a warning) or "unchanged".
    decision: str
    seconds: float
    #: Why the photo was returned unchanged: "cut" (a kernel ran out of the largest window),
    #: "no blur", "noise" (too noisy to trust), "confidence"; "" when it was deblurred.
    withheld: str = ""
    warnings: list[str] = field(default_factory=list)
    candidate: str = ""
    evidence: dict[str, float] = field(default_factory=dict)
    candidates: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Seconds per stage: ``analysis`` (noise, clipped lights), ``estimation`` (the sizing runs),
    #: ``checks`` (agreement windows and candidate scoring), ``deconvolution`` (the output) and
    #: ``final stage`` (the restoring Generator and its Corrector).
    timings: dict[str, float] = field(default_factory=dict)
    #: The final stage: whether the Generator proposed a restoration of the deconvolution, whether
    #: the Corrector kept it, and ``Psi_D`` of the deconvolution and of the proposal.
    final_stage: dict[str, Any] = field(default_factory=dict)
    #: "uniform" (one kernel for the frame) or "local" (a grid of kernels, the filter-flow model).
    blur: str = "uniform"
    #: How much the kernels of a grid of windows, as used, differ from the frame's (0: the same
    #: everywhere; ``None`` when not measured: ``blur="uniform"`` or a photo too small for a grid).
    blur_variation: float | None = None
    #: The grid of the local path: its shape, and per window whether its own kernel was trusted
    #: (else borrowed from its neighbours), its agreement with them, the confidence of its own
    #: kernel and of the frame's on it; their median confidence and the kernels' size.
    local: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DeblurResult:
    """The output image (input layout), the kernel (convolution convention), the estimator's
    history and the report. ``image`` is the input itself when ``report.decision`` is
    ``"unchanged"``."""

    image: np.ndarray
    kernel: np.ndarray
    estimate: KernelEstimate
    report: DeblurReport
    candidates: dict[str, np.ndarray] = field(default_factory=dict)
    #: The local path's kernels, one per cell of ``report.local["grid"]`` (row-major), as used.
    local_kernels: list[np.ndarray] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        return self.report.confidence

    @property
    def decision(self) -> str:
        return self.report.decision


class _Clock:
    """Seconds spent in each named stage, in the order the stages end."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._last
        self._last = now


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


def _largest_size(shape: tuple[int, ...], cap: int) -> int:
    """The largest odd kernel size up to ``cap`` that the estimator accepts for ``shape``."""
    n = min(cap, min(shape[:2]) // 2)
    return n if n % 2 else n - 1


class _Steps:
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


def _levels(size: int, lo: float, hi: float) -> int:
    return sum(1 for s, _ in pyramid_sizes(size) if lo < s * (1 - 1e-6) and s <= hi * (1 + 1e-6))


def deblur(
    image: np.ndarray,
    *,
    kernel_size: int | str = AUTO,
    channel_axis: int | None = None,
    generator: str = "cnn",
    corrector: bool = True,
    final_stage: bool = False,
    blur: str = "uniform",
    lam: float | None = None,
    force: bool = False,
    config: EstimatorConfig | None = None,
    progress: Progress | None = None,
) -> DeblurResult:
    """Blind deblurring of a photo blurred by camera shake.

    Parameters
    ----------
    image
        Float image in [0, 1]: ``(H, W)``, or color with ``channel_axis``.
    kernel_size
        ``"auto"`` (default) measures the blur and picks an odd size that holds it, for blurs up
        to 75 px. An odd integer fixes the size; it must exceed the longest blur streak.
    channel_axis
        Axis of the color channels, or ``None`` for gray.
    generator
        ``"cnn"`` (the shipped networks: the full GCM), ``"none"`` (identity: the
        Corrector-only variant) or ``"shrink"`` (the analytic shrinkage of half-quadratic
        splitting).
    corrector
        Keep the monotone Corrector; ``False`` is the Generator-only variant (no guarantee).
    final_stage
        Also run the final stage with the Generator's network: a restoration of the deconvolution,
        kept by the Corrector only if ``Psi_D`` (with the learned blur score) does not increase.
        Off by default: the shipped CPU-trained networks change no measured number
        (``docs/bench/ablation*.md``) and cost about 7 % more time. The local path has no final stage.
    blur
        ``"uniform"`` (default) keeps one kernel for the frame. ``"local"`` also estimates a kernel
        on each window of a grid (:func:`gencor.kernels.local.local_grid`); a window keeps its own
        kernel only where the confidence model prefers it to the frame's there, the others borrow
        from their trusted neighbours, and with two trusted windows or more one filter-flow
        deconvolution (:func:`gencor.tasks.deconv_local.deconvolve_local`) restores the photo.
        ``"auto"`` does the same but keeps the uniform result unless ``report.blur_variation``
        exceeds ``LOCAL_VARIATION``. Both cost one kernel estimation per window; photos too small
        for a grid of two windows are always uniform (issue #21: not the default yet, see
        ``docs/bench/nonuniform.md``).
    lam
        Prior weight of the final deconvolution (default: from the measured noise).
    force
        Deblur with the best candidate even when the confidence is below the trust threshold
        (between the graded and the trust threshold a clean photo gets the gentler "tentative"
        answer without it).
    config
        Settings of the kernel estimator (:class:`~gencor.EstimatorConfig`); the shipped defaults
        when ``None``.
    progress
        Optional callback ``(done, total, phase)``.

    Returns
    -------
    DeblurResult
        ``image`` (the input unchanged when no kernel was trusted), ``kernel``, ``estimate`` (the
        ``Psi`` history of every run) and ``report`` (kernel size, noise, confidence, decision,
        seconds, warnings).

    Raises
    ------
    ValueError
        If the image is not in [0, 1], is too small, or ``kernel_size`` is not ``"auto"`` or an
        odd integer that fits the image.
    TypeError
        If the image is not a numeric NumPy array.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.ndimage import convolve
    >>> from gencor import deblur
    >>> sharp = np.kron(np.random.default_rng(1).uniform(size=(12, 12)), np.ones((8, 8)))
    >>> shake = np.zeros((9, 9)); shake[4, 1:8] = 1 / 7
    >>> result = deblur(convolve(sharp, shake, mode="reflect"), kernel_size=9, generator="none")
    >>> result.image.shape, result.kernel.shape, result.report.decision in ("deblurred", "conservative", "tentative", "unchanged")
    ((96, 96), (9, 9), True)
    """
    with fft.set_workers(fft_workers()):
        return _deblur(
            image,
            kernel_size=kernel_size,
            channel_axis=channel_axis,
            generator=generator,
            corrector=corrector,
            final_stage=final_stage,
            blur=blur,
            lam=lam,
            force=force,
            settings=EstimatorConfig() if config is None else config,
            progress=progress,
        )


def _deblur(
    image: np.ndarray,
    *,
    kernel_size: int | str,
    channel_axis: int | None,
    generator: str,
    corrector: bool,
    final_stage: bool,
    blur: str,
    lam: float | None,
    force: bool,
    settings: EstimatorConfig,
    progress: Progress | None,
) -> DeblurResult:
    clock = _Clock()
    arr = as_image(image, channel_axis=channel_axis)
    if lam is not None:
        check_lam(lam)
    auto = isinstance(kernel_size, str) and kernel_size == AUTO
    if not isinstance(blur, str) or blur not in BLUR_MODES:
        raise ValueError(f"blur must be one of {', '.join(BLUR_MODES)}, got {blur!r}")
    if isinstance(kernel_size, str) and not auto:
        raise ValueError(f"kernel size must be an odd integer or 'auto', got {kernel_size!r}")
    factory = generator_factory(generator)
    max_size = check_kernel_size(_largest_size(arr.shape, MAX_AUTO_SIZE), arr.shape) if auto else check_kernel_size(kernel_size, arr.shape)
    gray = luminance(arr)
    sigma = estimate_noise(gray)
    clipped = clipped_pixels(arr).any(axis=-1) if arr.ndim == 3 else clipped_pixels(arr)
    # A square dilation is a separable running maximum (the 2-D binary dilation took 3 s here).
    valid = ndimage.maximum_filter(clipped.view(np.uint8), size=max_size, mode="constant") == 0 if clipped.any() else None
    warnings: list[str] = []
    clock.lap("analysis")

    window = best_window(gray, max(ESTIMATION_WINDOW, 4 * max_size))
    y = gray[window]
    pair_side = min(PAIR_WINDOW, max(gray.shape) // 2, min(gray.shape))
    pair = pair_windows(gray, pair_side)
    has_coarse = _levels(max_size, 0.0, SIZING_SCALE) > 0
    first = SIZING_LADDER[0] if auto and max_size > SIZING_LADDER[0] else max_size
    # The GCM family's first rung and its two checks, and the dark family's first rung; later rungs
    # add their steps when they start.
    steps = _Steps(
        progress,
        settings.iterations * (3 * _levels(first, 0, SIZING_SCALE) + _levels(first, SIZING_SCALE, 1.0))
        + (L0Config().iterations * len(pyramid_sizes(first)) if has_coarse else 0),
    )

    def run(
        img: np.ndarray,
        size: int,
        mask: np.ndarray | None,
        phase: str,
        *,
        lam: float = settings.lam,
        init: np.ndarray | None = None,
        init_scale: float = 0.0,
        final_scale: float = 1.0,
    ) -> KernelEstimate:
        return estimate_kernel(
            img,
            size,
            config=replace(settings, lam=lam),
            generator=factory,
            corrector=corrector,
            valid=mask,
            progress=steps.run(phase),
            init=init,
            init_scale=init_scale,
            final_scale=final_scale,
        )

    if not has_coarse:
        fine = run(y, max_size, None if valid is None else valid[window], "estimate")
        clock.lap("estimation")
        # Too small for a half scale: one kernel, nothing to compare it with.
        return _finish(
            arr,
            y,
            channel_axis,
            sigma,
            lam,
            force,
            warnings,
            {"fine": fine.kernel},
            fine,
            (1.0, {"fine": 1.0}),
            clock,
            stage=(generator if final_stage else "none", corrector),
        )

    ladder = [n for n in SIZING_LADDER if n < max_size] + [max_size] if auto else [max_size]
    mask = None if valid is None else valid[window]
    for i, trial in enumerate(ladder):
        if i:
            steps.total += settings.iterations * _levels(trial, 0.0, 1.0)
        coarse = run(y, trial, mask, f"estimate {trial} px, coarse scales", final_scale=SIZING_SCALE)
        fine = run(y, trial, mask, f"estimate {trial} px, fine scales", init=coarse.kernel, init_scale=coarse.scale, lam=coarse.lam)
        if not touches_border(fine.kernel):
            break
    clock.lap("estimation")
    k_half = coarse.kernel
    k_coarse = resize_kernel(k_half, trial)
    size = size_for_extent(max(kernel_extent(fine.kernel), kernel_extent(k_coarse)), lo=min(MIN_AUTO_SIZE, trial), hi=trial) if auto else trial
    k_fine = crop_kernel(fine.kernel, size)
    half = k_half.shape[0]
    history = KernelEstimate(kernel=k_fine, scales=coarse.scales + fine.scales, scale=fine.scale, lam=fine.lam)

    # Two disjoint windows, each estimated to half scale with the chosen size.
    pair_size = _largest_size((pair_side, pair_side), trial)
    halves = []
    if pair_size >= 3 and _levels(pair_size, 0.0, SIZING_SCALE) > 0:
        for i, win in enumerate(pair):
            est = run(gray[win], pair_size, None if valid is None else valid[win], f"check {i + 1}/2", final_scale=SIZING_SCALE)
            halves.append(est.kernel)
    stability = kernel_similarity(k_half, resize_kernel(fine.kernel, half))
    agreement = kernel_similarity(halves[0], halves[1]) if len(halves) == 2 else stability
    candidates = {"fine": k_fine, "coarse": crop_kernel(k_coarse, size)}
    stabilities = {"fine": stability, "coarse": stability}

    # The second prior family: image-domain L0 with the dark channel and edge selection, its own size.
    dark_window = best_window(gray, max(DARK_WINDOW, 4 * max_size))
    dark, dark_stability, dark_cut = _dark_family(
        gray[dark_window], None if valid is None else valid[dark_window], ladder if auto else [max_size], auto=auto, steps=steps, clock=clock
    )
    candidates["dark"] = dark
    stabilities["dark"] = dark_stability
    # Night photos: an isolated light's streak is the kernel's own path, whatever the priors say.
    streak = streak_kernel(gray, ladder[-1])
    if streak is not None:
        k_streak, streak_agreement = streak
        streak_side = size_for_extent(kernel_extent(k_streak), lo=min(MIN_AUTO_SIZE, trial), hi=ladder[-1]) if auto else max_size
        candidates["streak"] = crop_kernel(k_streak, streak_side)
        stabilities["streak"] = streak_agreement
    # A kernel still cut by the largest window is not the blur, and the blur is then likely longer
    # than the other family's kernel too (book3 of real_lai16: a 39 px cross where the GCM family
    # ran out of window): no candidate is trusted.
    cut = set()
    if auto and touches_border(fine.kernel):
        cut |= {"fine", "coarse"}
    if auto and dark_cut:
        cut.add("dark")
    if cut:
        warnings.append(f"the blur may be longer than the largest kernel size tried ({ladder[-1]} px)")
    plan = None
    grid = local_grid(gray.shape, trial)
    if blur != "uniform" and grid != (1, 1) and not cut:
        plan = _local_plan(gray, valid, grid, trial, size if auto else trial, run, steps, iterations=settings.iterations)
        clock.lap("local kernels")
    return _finish(
        arr,
        y,
        channel_axis,
        sigma,
        lam,
        force,
        warnings,
        candidates,
        history,
        (agreement, stabilities),
        clock,
        cut=cut,
        stage=(generator if final_stage else "none", corrector),
        local=plan,
        force_local=blur == "local",
    )


@dataclass
class _LocalPlan:
    """The local kernels (before the choice of :func:`choose_kernels`), their windows and evidence."""

    grid: tuple[int, int]
    regions: list[Region]
    #: The luminance of each window (views of the photo's).
    windows: list[np.ndarray]
    edges: np.ndarray
    kernels: list[np.ndarray]
    #: Each window's kernel at half scale against its full-scale kernel.
    stability: list[float]
    agreement: list[float]


def _local_plan(
    gray: np.ndarray,
    valid: np.ndarray | None,
    grid: tuple[int, int],
    trial: int,
    size: int,
    run: Callable[..., KernelEstimate],
    steps: _Steps,
    *,
    iterations: int,
) -> _LocalPlan:
    """A kernel on each window of ``grid``, coarse to fine as the frame's, all cut to one size (at
    least ``size``, the frame kernel's), with each one's stability (half scale against full scale)
    and agreement with its neighbours."""
    regions = grid_regions(gray.shape, grid, trial)
    n = len(regions)
    steps.total += n * iterations * _levels(trial, 0.0, 1.0)
    started = itertools.count(1)

    def estimate(img: np.ndarray, region: Region) -> KernelEstimate:
        mask = None if valid is None else valid[region]
        return run(img, trial, mask, f"local kernels {next(started)}/{n}")

    runs = grid_kernels(gray, regions, estimate, workers=fft_workers())
    kernels = [est.kernel for est in runs]
    side = size_for_extent(max(kernel_extent(k) for k in kernels), lo=size, hi=trial)
    stability = []
    for est in runs:
        levels = [rec.kernel_size for rec in est.scales]
        half = min(range(len(levels)), key=lambda i: abs(levels[i] - levels[-1] * SIZING_SCALE))
        k_half = est.scales[half].kernel
        stability.append(kernel_similarity(k_half, resize_kernel(est.kernel, k_half.shape[0])))
    sized = [crop_kernel(k, side) for k in kernels]
    return _LocalPlan(grid, regions, [gray[r] for r in regions], edge_energy(gray, regions), sized, stability, neighbour_agreement(kernels, grid))


def _dark_family(y: np.ndarray, mask: np.ndarray | None, ladder: list[int], *, auto: bool, steps: _Steps, clock: _Clock) -> tuple[np.ndarray, float, bool]:
    """The dark-channel L0 kernel of the window ``y`` (grown along ``ladder`` while it touches its
    border, then cut to its extent when ``auto``), its stability (half scale against full scale)
    and whether it still touches the border of the largest window."""
    cfg = L0Config()
    for i, trial in enumerate(ladder):
        if i:
            steps.total += cfg.iterations * len(pyramid_sizes(trial))
        est = estimate_kernel_l0(y, trial, config=cfg, valid=mask, progress=steps.run(f"dark channel {trial} px"))
        if not touches_border(est.kernel) or i == len(ladder) - 1:
            break
    clock.lap("estimation")
    levels = pyramid_sizes(trial)
    half = min(range(len(levels)), key=lambda i: abs(levels[i][0] - SIZING_SCALE))
    k_half = est.scales[half].kernel
    stability = kernel_similarity(k_half, resize_kernel(est.kernel, k_half.shape[0]))
    cut = touches_border(est.kernel)
    if not auto:
        return est.kernel, stability, cut
    size = size_for_extent(kernel_extent(est.kernel), lo=min(MIN_AUTO_SIZE, trial), hi=trial)
    return crop_kernel(est.kernel, size), stability, cut


def score_kernel(
    y: np.ndarray, kernel: np.ndarray, *, lam: float, sigma: float, agreement: float, stability: float, consensus: float
) -> tuple[float, Evidence]:
    """Confidence and evidence of deconvolving the gray window ``y`` with ``kernel`` (see
    :mod:`gencor.assess`); ``agreement``, ``stability`` and ``consensus`` come from the estimation runs."""
    trial = deconvolve(y, kernel, lam=lam).image
    ev = Evidence(
        agreement=agreement,
        stability=stability,
        ringing=ringing(trial, y),
        overshoot=overshoot(trial, y, kernel.shape[0]),
        residual=residual(trial, y, kernel, sigma),
        spread=spread(kernel),
        consensus=consensus,
    )
    return confidence(ev), ev


#: The prior family of each candidate kernel, for the ``consensus`` evidence.
FAMILIES = {"fine": "gcm", "coarse": "gcm", "dark": "dark", "streak": "streak"}


def _consensus(kernels: dict[str, np.ndarray], *, fallback: float) -> dict[str, float]:
    """Each kernel's best similarity to a kernel of another prior family (``fallback`` when there
    is none)."""
    out = {}
    for name, k in kernels.items():
        others = [kernel_similarity(k, o) for n, o in kernels.items() if FAMILIES[n] != FAMILIES[name]]
        out[name] = max(others) if others else fallback
    return out


def final_stage_outcome(final: dict[str, Any]) -> str:
    """The final stage in one word: "kept" or "rejected" (the Corrector's verdict on the
    restoration), "unchecked" (Generator only), "" when nothing was proposed."""
    if not final.get("proposed"):
        return ""
    if "psi_proposal" not in final:
        return "unchecked"
    return "kept" if final["accepted"] else "rejected"


def _final_stage(
    arr: np.ndarray, sharp: np.ndarray, kernel: np.ndarray, lam: float, sigma: float, generator: str, corrector: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """The last stage of Algorithm 1 on the deconvolution ``sharp`` of the photo ``arr`` (channels
    last): the Generator restores the luminance, the Corrector keeps the restoration only if
    ``Psi_D`` (:mod:`gencor.propagation.final`) does not increase. Color channels take the
    luminance's correction, so no hue shifts."""
    learned = final_stage(generator)
    if learned is None:
        return sharp, {"proposed": False}
    blurred_l, current_l = luminance(arr), luminance(sharp)
    correction = learned.propose(current_l, blurred_l, sigma) - current_l
    proposal = np.clip(sharp + (correction if sharp.ndim == 2 else correction[..., None]), 0.0, 1.0)
    if not corrector:  # the Generator-only variant: no test, no guarantee
        return proposal, {"proposed": True, "accepted": True}
    objective = FinalObjective(blurred_l, kernel, lam, learned.nu, learned.score, weight=~clipped_pixels(blurred_l))
    decision = correct(current_l, luminance(proposal), objective)
    info = {"proposed": True, "accepted": decision.accepted, "psi_deconvolution": decision.psi_current, "psi_proposal": decision.psi_proposal}
    return (proposal if decision.accepted else sharp), info


def _decision(conf: float, best: str, sigma: float, *, force: bool) -> tuple[str, str]:
    """The decision for a candidate of confidence ``conf`` (see :class:`DeblurReport`) and the
    warning that goes with it ("" for none)."""
    if conf >= TRUST_THRESHOLD:
        return ("conservative" if best.endswith("conservative") else "deblurred"), ""
    if force:
        return ("conservative" if best.endswith("conservative") else "deblurred"), f"low confidence ({conf:.2f}); deblurred anyway because of --force"
    if conf >= lowest_answered(sigma):
        # A graded answer: the kernel is likely right but the full deconvolution risky.
        return "tentative", (
            f"moderate confidence ({conf:.2f} < {TRUST_THRESHOLD}); deblurred gently with a stronger prior: compare with the input "
            "(use --force for the full deblurring)"
        )
    return "unchanged", (
        f"no trustworthy kernel found (confidence {conf:.2f} < {lowest_answered(sigma)}); the photo is returned unchanged (use --force to deblur anyway)"
    )


def _finish(
    arr: np.ndarray,
    y: np.ndarray,
    channel_axis: int | None,
    sigma: float,
    lam: float | None,
    force: bool,
    warnings: list[str],
    kernels: dict[str, np.ndarray],
    estimate: KernelEstimate,
    agreement_stability: tuple[float, dict[str, float]],
    clock: _Clock,
    *,
    cut: set[str] | None = None,
    stage: tuple[str, bool] = ("none", True),
    local: _LocalPlan | None = None,
    force_local: bool = False,
) -> DeblurResult:
    """Score each candidate (a kernel and a prior weight) on the estimation window, keep the most
    trusted, apply it; then the final stage (``stage``: the Generator's name and whether the
    Corrector runs) proposes a restoration of the deconvolution."""
    base_lam = default_lam(sigma) if lam is None else lam
    candidates = {name: (k, base_lam) for name, k in kernels.items()}
    candidates.update({f"{name} conservative": (k, min(CONSERVATIVE_LAM * base_lam, LAM_MAX)) for name, k in kernels.items()})
    agreement, stabilities = agreement_stability
    consensus = _consensus(kernels, fallback=agreement)
    scored = {}
    for name, (k, lam_c) in candidates.items():
        base = name.removesuffix(" conservative")
        scored[name] = score_kernel(y, k, lam=lam_c, sigma=sigma, agreement=agreement, stability=stabilities[base], consensus=consensus[base])
    cut = cut or set()
    whole = [n for n in scored if n.removesuffix(" conservative") not in cut] or list(scored)
    best = max(whole, key=lambda n: scored[n][0])
    clock.lap("checks")
    conf, ev = scored[best]
    kernel, lam_best = candidates[best]
    withheld = ""
    final: dict[str, Any] = {"proposed": False}
    grid = None
    if local is not None:
        windows = local.windows
        noise = [estimate_noise(win) for win in windows]
        frame_evidence = (agreement, stabilities[best.removesuffix(" conservative")], consensus[best.removesuffix(" conservative")])

        def score_window(i: int, k: np.ndarray, frame: bool) -> float:
            a, st, co = frame_evidence if frame else (local.agreement[i], local.stability[i], local.agreement[i])
            return score_kernel(windows[i], k, lam=base_lam, sigma=noise[i], agreement=a, stability=st, consensus=co)[0]

        grid = choose_kernels(
            local.kernels,
            kernel,
            grid=local.grid,
            regions=local.regions,
            edges=local.edges,
            agreement=local.agreement,
            score=score_window,
            floor=lowest_answered(sigma),
        )
        clock.lap("local kernels")
    # Fewer than two windows with kernels of their own: the frame's kernel everywhere, the uniform
    # path; so too when they differ too little from it (unless asked for the local path).
    varies = grid is not None and sum(grid.trusted) >= MIN_TRUSTED_WINDOWS and (force_local or grid.variation > LOCAL_VARIATION)
    chosen = grid if varies else None
    local_conf = None if chosen is None else chosen.confidence()
    if cut and not force:
        decision, withheld = "unchanged", "cut"
        warnings.append("a kernel found is cut by the largest window tried; the photo is returned unchanged (use --force to deblur anyway)")
    elif kernel.max() >= NEAR_DELTA and not force:
        decision, withheld = "unchanged", "no blur"
        warnings.append(f"no camera shake found (the kernel keeps {kernel.max():.0%} of its mass in one pixel); the photo is returned unchanged")
    elif sigma > MAX_TRUSTED_NOISE and not force:
        decision, withheld = "unchanged", "noise"
        warnings.append(
            f"the photo is too noisy to trust a kernel (noise {sigma:.3f} > {MAX_TRUSTED_NOISE}); it is returned unchanged (use --force to deblur anyway)"
        )
    else:
        if local_conf is not None and conf < lowest_answered(sigma) <= local_conf:
            # The frame's kernel was not trusted, but the local kernels are: the blur varies.
            conf, best = local_conf, "local"
            if conf < TRUST_THRESHOLD:
                best, lam_best = "local conservative", min(CONSERVATIVE_LAM * base_lam, LAM_MAX)
            else:
                lam_best = base_lam
        decision, warning = _decision(conf, best, sigma, force=force)
        # A tentative local answer already has the conservative weight (above).
        if decision == "tentative" and not best.endswith("conservative"):
            best = f"{best} conservative"
            ev = scored[best][1]
            kernel, lam_best = candidates[best]
        if warning:
            warnings.append(warning)
        if decision == "unchanged":
            withheld = "confidence"
    if decision == "unchanged":
        sharp = arr.copy()
    elif chosen is not None:
        sharp = deconvolve_local(arr, chosen.kernels, chosen.grid, lam=lam_best, channel_axis=None if arr.ndim == 2 else -1)
        clock.lap("deconvolution")
    else:
        sharp = deconvolve(arr, kernel, lam=lam_best, channel_axis=None if arr.ndim == 2 else -1).image
        clock.lap("deconvolution")
        sharp, final = _final_stage(arr, sharp, kernel, lam_best, sigma, *stage)
        clock.lap("final stage")
    sharp = from_planes(to_planes(sharp), channel_axis)
    clock.lap("deconvolution")
    report = DeblurReport(
        kernel_size=int(kernel.shape[0]),
        noise_sigma=float(sigma),
        confidence=float(conf),
        decision=decision,
        seconds=sum(clock.seconds.values()),
        withheld=withheld,
        warnings=warnings,
        candidate=best,
        evidence=ev.as_dict(),
        candidates={n: {"confidence": float(c), "lam": float(candidates[n][1]), **e.as_dict()} for n, (c, e) in scored.items()},
        timings=dict(clock.seconds),
        final_stage=final,
        blur="local" if chosen is not None and decision != "unchanged" else "uniform",
        blur_variation=None if grid is None else grid.variation,
        local={} if grid is None else {**grid.report(), "confidence": grid.confidence(), "kernels_px": int(grid.kernels[0].shape[0])},
    )
    return DeblurResult(
        image=sharp,
        kernel=kernel,
        estimate=estimate,
        report=report,
        candidates={n: k for n, (k, _) in candidates.items()},
        local_kernels=[] if chosen is None else chosen.kernels,
    )
