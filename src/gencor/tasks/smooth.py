"""Edge-preserving smoothing: ``min_x ||x - y||^2 + lam C(x)``, ``C`` = pixels with a non-zero gradient.

This is Xu, Lu, Xu and Jia's L0 gradient smoothing (SIGGRAPH Asia 2011) run as the GCM propagation:
the variable is the gradient field ``u``, the data term is the split term
``f_beta(u) = min_x 1/2||x - y||^2 + beta/2 ||grad x - u||^2`` (the blur is the identity), the
prior is ``lam/2`` times the isotropic L0 count, and ``beta`` rises along a ladder. Xu et al.'s
solver is one half-quadratic step per ``beta``; here each stage proposes that step (the
shrinkage Generator) and the Corrector adds a proximal-gradient step, so ``Psi_beta`` never
increases within a ``beta`` and ends lower than Xu et al.'s at the same ``lam``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import fft

from gencor.layout import from_planes, to_planes
from gencor.operators.convolution import Convolution
from gencor.operators.gradient import Gradient
from gencor.propagation.fidelity import SplitFidelity
from gencor.propagation.gcm import LpPrior, ShrinkageGenerator, propagate
from gencor.validate import as_image, check_callback, check_integer, check_real

#: Smallest ``lam`` of :func:`smooth`: 1e-5 already keeps every 8-bit edge.
SMOOTH_LAM_MIN = 1e-5
#: The continuation ladder of Xu et al.: ``beta`` from ``2 lam`` up to this, times this rate.
BETA_MAX = 1e5
BETA_RATE = 2.0
#: Most Generator-Corrector stages: one is the default, and more changed nothing we measured.
MAX_STAGES = 100
#: Most FFT threads ``workers`` may ask for.
MAX_WORKERS = 256
#: Most steps of the ladder (the default one has 22 at the smallest ``lam``).
MAX_LADDER = 1000


@dataclass
class SmoothResult:
    """The smoothed image (input layout) and ``Psi_beta`` at every stage of every run."""

    image: np.ndarray
    psi: list[np.ndarray]


def l0_objective(x: np.ndarray, y: np.ndarray, lam: float, *, channel_axis: int | None = None, tol: float = 1 / 512) -> float:
    """``||x - y||^2 + lam C(x)``; a pixel counts when its gradient (over channels) exceeds ``tol``.

    Forward differences without wrap-around. ``tol`` (half an 8-bit step) keeps numerically
    flat regions from counting, so the same measure applies to any solver's output.
    """
    a, b = np.asarray(x, float), np.asarray(y, float)
    if channel_axis is not None:
        a, b = np.moveaxis(a, channel_axis, -1), np.moveaxis(b, channel_axis, -1)
    else:
        a, b = a[..., None], b[..., None]
    dx = np.zeros_like(a)
    dy = np.zeros_like(a)
    dx[:, :-1] = a[:, 1:] - a[:, :-1]
    dy[:-1] = a[1:] - a[:-1]
    count = np.count_nonzero(np.sqrt(np.sum(dx**2 + dy**2, axis=-1)) > tol)
    return float(np.sum((a - b) ** 2) + lam * count)


def ladder_length(start: float, stop: float, rate: float) -> int:
    """Steps of the ladder ``start, start * rate, ...`` below ``stop``."""
    steps, beta = 0, start
    while beta < stop:
        steps, beta = steps + 1, beta * rate
    return steps


def _check_options(lam: float, beta_rate: float, beta_max: float, stages: int, workers: int, progress: object) -> None:
    """A ``TypeError`` or ``ValueError`` for a wrong option of :func:`smooth`."""
    lam, beta_rate, beta_max = check_real(lam, "lam"), check_real(beta_rate, "beta_rate"), check_real(beta_max, "beta_max")
    stages, workers = check_integer(stages, "stages"), check_integer(workers, "workers")
    check_callback(progress, "progress")
    if not (workers == -1 or 1 <= workers <= MAX_WORKERS):
        raise ValueError(f"workers must be -1 (every core) or a count from 1 to {MAX_WORKERS}, got {workers}")
    if not (np.isfinite(beta_max) and beta_max > 0):
        raise ValueError(f"beta_max must be a positive number, got {beta_max}")
    if not (np.isfinite(lam) and SMOOTH_LAM_MIN <= lam < beta_max / 2):
        # The ladder starts at 2 lam and ends below beta_max: beyond it there is no step to run; below
        # the floor it only grows longer (1e-320 took 60 times as long) and smooths nothing more.
        raise ValueError(f"lam must be from {SMOOTH_LAM_MIN:g} to below {beta_max / 2:g}, got {lam}")
    if not (np.isfinite(beta_rate) and beta_rate > 1):
        raise ValueError(f"beta_rate must exceed 1, got {beta_rate}")
    if np.log(beta_max / (2 * lam)) / np.log(beta_rate) > MAX_LADDER:
        # A rate just above 1 (or a huge beta_max) would run for hours without smoothing any more.
        raise ValueError(f"beta_rate {beta_rate:g} and beta_max {beta_max:g} make a ladder of more than {MAX_LADDER} steps")
    if not 1 <= stages <= MAX_STAGES:
        raise ValueError(f"stages must be from 1 to {MAX_STAGES}, got {stages}")


def _padded(y: np.ndarray) -> np.ndarray:
    """The planes ``y`` mirror-padded to sizes the FFT is fast on (a side of 514 = 2 x 257 costs
    twice as much as 512)."""
    h, w = y.shape[-2:]
    pad = ((0, 0),) * (y.ndim - 2) + ((0, fft.next_fast_len(h, real=True) - h), (0, fft.next_fast_len(w, real=True) - w))
    return np.pad(y, pad, mode="symmetric")


def smooth(
    image: np.ndarray,
    *,
    lam: float = 0.02,
    channel_axis: int | None = None,
    beta_rate: float = BETA_RATE,
    beta_max: float = BETA_MAX,
    stages: int = 1,
    workers: int = -1,
    progress: Callable[[int, int, str], None] | None = None,
) -> SmoothResult:
    """L0 gradient smoothing of a float image in [0, 1].

    Parameters
    ----------
    image
        ``(H, W)``, or color with ``channel_axis``.
    lam
        Weight of the count of non-zero gradients, in Xu et al.'s scaling (0.01 to 0.05 keeps
        main structures and flattens texture; larger is flatter).
    channel_axis
        Axis of the color channels, or ``None`` for gray. Channels share their edges.
    beta_rate, beta_max
        The continuation ladder: ``beta`` from ``2 lam`` to ``beta_max``, times ``beta_rate`` (Xu et al.'s).
    stages
        Generator-Corrector stages per ``beta``.
    workers
        Threads of the FFTs (SciPy's convention: -1 is every core).
    progress
        Optional callback ``(done, total, phase)``, called after every ``beta`` of the ladder; an
        exception it raises stops the smoothing there (how a server cancels a job).

    Returns
    -------
    SmoothResult
        ``image``: the smoothed image in the input's layout; ``psi``: ``Psi_beta`` at every stage
        of every ``beta`` (each run never increases).

    Raises
    ------
    ValueError
        If the image is not in [0, 1] or ``lam`` is not positive.
    TypeError
        If the image is not a numeric NumPy array, or a keyword has the wrong type (``stages=1.5``, ``lam=True``).

    Examples
    --------
    >>> import numpy as np
    >>> from gencor import smooth
    >>> steps = np.kron(np.arange(4.0) / 3, np.ones((32, 8)))  # four flat bands
    >>> noisy = np.clip(steps + np.random.default_rng(0).normal(0, 0.05, steps.shape), 0, 1)
    >>> flat = smooth(noisy, lam=0.02).image
    >>> bool(np.abs(flat - steps).mean() < np.abs(noisy - steps).mean())
    True
    """
    arr = as_image(image, channel_axis=channel_axis)
    _check_options(lam, beta_rate, beta_max, stages, workers, progress)
    h, w = arr.shape[:2]
    y = _padded(to_planes(arr).astype(np.float32))
    shape = y.shape[-2:]
    prior = LpPrior(lam / 2, 0.0, group_axis=(0, 1) if y.ndim == 3 else 0)
    data = SplitFidelity(Convolution(np.ones((1, 1)), shape), y, 1.0)
    beta = 2 * lam  # Xu et al.'s start (our objective is theirs halved, so beta is theirs)
    u = Gradient(shape).forward(y)
    psi = []
    total = ladder_length(2 * lam, beta_max, beta_rate)
    with fft.set_workers(workers):
        while beta < beta_max:
            gammas = (beta,) * stages
            run = propagate(data.with_beta(beta), prior, u, gammas=gammas, generator=ShrinkageGenerator(prior, gammas))
            u = run.u
            psi.append(run.psi)
            beta *= beta_rate
            if progress is not None:
                progress(min(len(psi), total), total, "smoothing")
        x = np.clip(data.with_beta(beta / beta_rate).latent(u), 0.0, 1.0).astype(float)[..., :h, :w]
    x = from_planes(x, channel_axis)
    return SmoothResult(image=x, psi=psi)
