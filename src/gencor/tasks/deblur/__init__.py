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

The code follows the steps, one module each: :mod:`~gencor.tasks.deblur.plan` (1),
:mod:`~gencor.tasks.deblur.families` (2-5, every family behind one interface),
:mod:`~gencor.tasks.deblur.score` (6), :mod:`~gencor.tasks.deblur.decision` (7) and
:mod:`~gencor.tasks.deblur.output` (the deconvolution of every channel and the report).
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from gencor.generators import DEFAULT_DECONVOLUTION, DEFAULT_GENERATOR
from gencor.kernels.estimate import EstimatorConfig
from gencor.tasks.deblur.decision import LOCAL_VARIATION, MAX_TRUSTED_NOISE, MIN_TRUSTED_WINDOWS, NEAR_DELTA, decide
from gencor.tasks.deblur.families import DARK_WINDOW, FAMILIES, PAIR_WINDOW, REGISTRY, Family, find_candidates
from gencor.tasks.deblur.output import final_stage_outcome, finish
from gencor.tasks.deblur.plan import (
    AUTO,
    BLUR_MODES,
    ESTIMATION_WINDOW,
    MAX_AUTO_SIZE,
    MIN_AUTO_SIZE,
    SIZING_LADDER,
    SIZING_SCALE,
    Clock,
    Options,
    Progress,
    best_window,
    make_plan,
    pair_windows,
)
from gencor.tasks.deblur.plan import largest_size as _largest_size
from gencor.tasks.deblur.report import DeblurReport, DeblurResult
from gencor.tasks.deblur.score import CONSERVATIVE_LAM, score_candidates, score_kernel
from gencor.threads import fft_workers

__all__ = [
    "AUTO",
    "BLUR_MODES",
    "CONSERVATIVE_LAM",
    "DARK_WINDOW",
    "ESTIMATION_WINDOW",
    "FAMILIES",
    "LOCAL_VARIATION",
    "MAX_AUTO_SIZE",
    "MAX_TRUSTED_NOISE",
    "MIN_AUTO_SIZE",
    "MIN_TRUSTED_WINDOWS",
    "NEAR_DELTA",
    "PAIR_WINDOW",
    "REGISTRY",
    "SIZING_LADDER",
    "SIZING_SCALE",
    "DeblurReport",
    "DeblurResult",
    "Family",
    "Progress",
    "_largest_size",
    "best_window",
    "deblur",
    "final_stage_outcome",
    "pair_windows",
    "score_kernel",
]


def deblur(
    image: np.ndarray,
    *,
    kernel_size: int | str = AUTO,
    channel_axis: int | None = None,
    generator: str = DEFAULT_GENERATOR,
    corrector: bool = True,
    final_stage: bool = False,
    blur: str = "uniform",
    lam: float | None = None,
    force: bool = False,
    deconvolution: str = DEFAULT_DECONVOLUTION,
    config: EstimatorConfig | None = None,
    progress: Progress | None = None,
    trace: bool = False,
) -> DeblurResult:
    """Blind deblurring of a photo blurred by camera shake.

    Parameters
    ----------
    image
        Float image in [0, 1]: ``(H, W)``, or color with ``channel_axis``.
    kernel_size
        ``"auto"`` (default) measures the blur and picks an odd size that holds it, for blurs up to 75 px. An odd
        integer fixes the size; it must exceed the longest blur streak.
    channel_axis
        Axis of the color channels, or ``None`` for gray.
    generator
        ``"none"`` (default: the Corrector alone, its proximal-gradient step), ``"cnn"`` (the shipped network: the full GCM) or
        ``"shrink"`` (the analytic shrinkage of half-quadratic splitting).
    corrector
        Keep the monotone Corrector; ``False`` is the Generator-only variant (no guarantee).
    final_stage
        Also run the final stage with its own network (whatever ``generator`` says): a restoration of the deconvolution, kept by the Corrector
        only if ``Psi_D`` (with the learned blur score) does not increase. Off by default: the shipped networks change no
        measured number (``docs/bench/ablation*.md``) and cost about 7 % more time. The local path has no final stage.
    blur
        ``"uniform"`` (default) keeps one kernel for the frame. ``"local"`` also estimates a kernel on each window of
        a grid (:func:`gencor.kernels.local.local_grid`); a window keeps its own kernel only where the confidence
        model prefers it to the frame's there, the others borrow from their trusted neighbours, and with two trusted
        windows or more one filter-flow deconvolution (:func:`gencor.tasks.deconv_local.deconvolve_local`) restores
        the photo. ``"auto"`` does the same but keeps the uniform result unless ``report.blur_variation`` exceeds
        ``LOCAL_VARIATION``. Both cost one kernel estimation per window; photos too small for a grid of two windows
        are always uniform (issue #21: not the default yet, see ``docs/bench/nonuniform.md``).
    lam
        Prior weight of the final deconvolution (default: from the measured noise).
    force
        Deblur with the best candidate even when the confidence is below the trust threshold (between the graded
        and the trust threshold the photo gets a "tentative" answer with a warning without it; both thresholds
        are higher on noisy photos, :func:`gencor.assess.trusted_from`).
    deconvolution
        How the photo is restored with the kernel (:func:`gencor.deconvolve`'s ``method``): "hyper-laplacian", the
        MAP solve; "denoiser", the GCM propagation with gencor's denoiser as the Generator; "plug-and-play", the
        same without the Corrector. The local path always uses the MAP solve.
    config
        Settings of the kernel estimator (:class:`~gencor.EstimatorConfig`); the shipped defaults when ``None``.
    progress
        Optional callback ``(done, total, phase)``.
    trace
        Record ``Psi`` at every stage of the kernel step (``estimate``, for
        :func:`gencor.plots.convergence_plot`). Off by default: without a Generator nothing else needs it, and
        its evaluation took a third of the estimation's time.

    Returns
    -------
    DeblurResult
        ``image`` (the input unchanged when no kernel was trusted), ``kernel``, ``estimate`` (the per-scale kernels,
        and with ``trace`` the ``Psi`` history of every run) and ``report`` (kernel size, noise, confidence, decision, seconds, warnings).

    Raises
    ------
    ValueError
        If the image is not in [0, 1], is too small, or ``kernel_size`` is not ``"auto"`` or an odd integer that fits it.
    TypeError
        If the image is not a numeric NumPy array, or a keyword has the wrong type (``force="no"``, ``lam=True``).

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
    options = Options(
        kernel_size,
        channel_axis,
        generator,
        corrector,
        final_stage,
        blur,
        lam,
        force,
        deconvolution,
        EstimatorConfig() if config is None else config,
        progress,
        trace,
    )
    with fft.set_workers(fft_workers()):
        return _pipeline(image, options)


def _pipeline(image: np.ndarray, options: Options) -> DeblurResult:
    """Plan, find the candidates, score them, decide, finish."""
    plan = make_plan(image, options, Clock())
    found = find_candidates(plan)
    scores = score_candidates(plan, found)
    choice = decide(plan, found, scores)
    return finish(plan, found, scores, choice)
