"""Non-blind deconvolution with a hyper-Laplacian gradient prior, free of border ringing.

``min_x 1/2 ||k * x - y||^2 + lam sum_d |d_d x|^p`` by half-quadratic splitting (Krishnan and
Fergus, NIPS 2009): an exact FFT solve for ``x`` alternates with the elementwise ``l_p`` prox on the
gradients while the splitting weight grows. The observation is first extended smoothly and
periodically so the FFT sees no frame border.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import fft, ndimage

from gencor.generators import DECONVOLUTION_METHODS as METHODS
from gencor.layout import from_planes, luminance, to_planes
from gencor.noise import NOISY_PHOTO, estimate_noise
from gencor.operators.boundary import extend_periodic
from gencor.operators.cg import half_spectrum_dot, pcg
from gencor.operators.convolution import psf2otf
from gencor.operators.gradient import Gradient
from gencor.prox.lp import prox_lp
from gencor.threads import fft_workers, map_single_threaded
from gencor.validate import as_image, as_kernel, check_choice, check_real

#: ``lam = NOISE_GAIN * sigma^2``, floored, follows from MAP with a fixed hyper-Laplacian scale.
NOISE_GAIN = 20.0
LAM_FLOOR = 3e-4
#: The range of ``lam`` that gives a meaningful result on an image in [0, 1]: at 1 the output is
#: already flat (its spread falls 500-fold on a random image), below 1e-9 the prior does nothing
#: more than at 1e-9, and far outside, single precision overflows to NaN.
LAM_MIN, LAM_MAX = 1e-9, 1.0


#: Precision of the solve: single precision halves the time of the FFTs, and its rounding (about
#: 1e-7 of the signal) is far below one 8-bit level.
SOLVE_DTYPE = np.float32


def check_lam(lam: object) -> float:
    """The prior weight as a ``float``: a ``TypeError`` for anything not a real number (a bool is
    not), a ``ValueError`` outside ``[LAM_MIN, LAM_MAX]``."""
    if isinstance(lam, (bool, np.bool_)) or not isinstance(lam, numbers.Real):
        raise TypeError(f"lam must be a number, got {type(lam).__name__}")
    if not LAM_MIN <= float(lam) <= LAM_MAX:
        raise ValueError(f"lam must be a number from {LAM_MIN:g} to {LAM_MAX:g} (larger flattens the image, smaller adds nothing), got {lam!r}")
    return float(lam)


def check_p(p: object) -> float:
    """The exponent of the gradient prior, in [0, 1]."""
    x = check_real(p, "p")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p!r}")
    return x


def default_lam(sigma: float) -> float:
    """Prior weight for an observation with Gaussian noise of standard deviation ``sigma``."""
    return min(max(NOISE_GAIN * sigma**2, LAM_FLOOR), LAM_MAX)


#: Clipped lights change the solution only near them: the weighted solve runs on tiles around
#: them (the clipped pixels dilated by ``LIGHT_REACH`` kernel sizes, gathered on a grid of
#: ``TILE_BLOCK`` px), each with ``LIGHT_REACH`` kernel sizes (at least one block) of context, and is blended into the
#: plain solve over one kernel size. When the tiles would cover more than ``TILE_SHARE`` of the
#: frame, the whole frame is solved weighted. A light 6x above white, 9 px blur: 2 kernel sizes
#: left part of its rings to the plain solve (RMS 0.0516 near it against 0.0465 for the whole
#: frame weighted); from 3 on the tiled result is the whole-frame one (tests/test_speed_paths.py).
LIGHT_REACH = 4
TILE_BLOCK = 64
TILE_SHARE = 0.5

#: Rows and columns of a rectangle of the frame.
Region = tuple[slice, slice]
#: The splitting's ladder: ``beta`` from ``lam`` up, times ``BETA_RATE``, ``BETA_STEPS`` times.
BETA_STEPS = 8
BETA_RATE = 2.0 * np.sqrt(2.0)


def deconvolve_plane(
    y: np.ndarray,
    kernel: np.ndarray,
    *,
    lam: float,
    p: float = 0.8,
    beta_steps: int = BETA_STEPS,
    beta_rate: float = BETA_RATE,
    clipped: np.ndarray | None = None,
    away: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Deconvolve ``(..., H, W)`` planes with one kernel; see the module docstring.

    ``clipped`` marks saturated pixels (same shape as ``y``). The sensor only says that the blurred
    value there was at least ``y``, so those pixels get zero weight in the data term (Cho, Wang and
    Lee, ICCV 2011); without this, a blurred light's flat top is explained by dark rings around
    the light. The weighted solve is no longer diagonal in Fourier space: each step then runs a
    few conjugate-gradient iterations preconditioned by the unweighted FFT solve, on tiles around
    the lights (see :data:`LIGHT_REACH`).

    ``away`` replaces the unweighted solve of the whole frame (the lights' tiles are still this
    weighted MAP solve): how the denoiser's propagation leaves the lights to it.
    """
    solve = partial(hqs, size=max(kernel.shape), x_step=_uniform_step(kernel), lam=lam, p=p, beta_steps=beta_steps, beta_rate=beta_rate)
    whole = away or partial(solve, clipped=None)
    if clipped is None or not clipped.any():
        return whole(y)
    tiles = _light_tiles(np.any(clipped.reshape(-1, *clipped.shape[-2:]), axis=0), max(kernel.shape))
    h, w = y.shape[-2:]
    if sum((t.stop - t.start) * (u.stop - u.start) for t, u in tiles) > TILE_SHARE * h * w:
        return solve(y, clipped=clipped)
    x = np.asarray(whole(y), dtype=np.float64)  # the propagation returns single precision
    ramp = max(kernel.shape)
    context = max(LIGHT_REACH * ramp, TILE_BLOCK)
    for tile in tiles:
        outer = _grow(tile, context, (h, w))
        solved = solve(y[(..., *outer)], clipped=clipped[(..., *outer)])
        x[(..., *tile)] += _feather(tile, (h, w), ramp) * (solved[(..., *_within(tile, outer))] - x[(..., *tile)])
    return x


def _grow(region: Region, margin: int, frame: tuple[int, int]) -> Region:
    """``region`` grown by ``margin`` on every side, within the frame."""
    return tuple(slice(max(sl.start - margin, 0), min(sl.stop + margin, n)) for sl, n in zip(region, frame, strict=True))  # type: ignore[return-value]


def _within(region: Region, outer: Region) -> Region:
    """``region`` in the coordinates of the crop ``outer`` that contains it."""
    return tuple(slice(sl.start - o.start, sl.stop - o.start) for sl, o in zip(region, outer, strict=True))  # type: ignore[return-value]


def _light_tiles(clipped: np.ndarray, size: int) -> list[Region]:
    """Bounding boxes (on a grid of :data:`TILE_BLOCK` px) of the regions within
    :data:`LIGHT_REACH` kernel sizes of a clipped pixel."""
    h, w = clipped.shape
    zone = ndimage.maximum_filter(clipped.view(np.uint8), size=2 * LIGHT_REACH * size + 1, mode="constant") > 0
    nb_h, nb_w = -(-h // TILE_BLOCK), -(-w // TILE_BLOCK)
    padded = np.zeros((nb_h * TILE_BLOCK, nb_w * TILE_BLOCK), dtype=bool)
    padded[:h, :w] = zone
    blocks = padded.reshape(nb_h, TILE_BLOCK, nb_w, TILE_BLOCK).any(axis=(1, 3))
    labels, _ = ndimage.label(blocks)
    return [
        (slice(r.start * TILE_BLOCK, min(r.stop * TILE_BLOCK, h)), slice(c.start * TILE_BLOCK, min(c.stop * TILE_BLOCK, w)))
        for r, c in ndimage.find_objects(labels)
    ]


def _feather(tile: Region, frame: tuple[int, int], ramp: int) -> np.ndarray:
    """Weight 1 inside ``tile``, falling linearly to 0 over ``ramp`` px towards each edge that is
    not the frame's own edge."""
    weights = []
    for sl, n in zip(tile, frame, strict=True):
        pos = np.arange(sl.start, sl.stop, dtype=float)
        w = np.ones_like(pos)
        if sl.start > 0:
            w = np.minimum(w, (pos - sl.start + 1) / (ramp + 1))
        if sl.stop < n:
            w = np.minimum(w, (sl.stop - pos) / (ramp + 1))
        weights.append(w)
    return np.outer(weights[0], weights[1])


#: The ``x`` step of half-quadratic splitting for one blur model ``A``, built once per solve by a
#: :data:`StepFactory`: ``step(x, g_hat, beta)`` solves ``(A^T W A + beta D^T D) x = A^T W y +
#: beta D^T z`` from ``x``, where ``g_hat`` is the spectrum of ``D^T z``.
XStep = Callable[[np.ndarray, np.ndarray, float], np.ndarray]
#: ``factory(y_ext, weight, den_grad) -> step``: the observation extended periodically, the weight
#: ``W`` (``None`` for all ones) and ``|D|^2`` on the extended grid.
StepFactory = Callable[[np.ndarray, np.ndarray | None, np.ndarray], XStep]


def hqs(
    y: np.ndarray,
    size: int,
    x_step: StepFactory,
    *,
    lam: float,
    p: float,
    beta_steps: int,
    beta_rate: float,
    clipped: np.ndarray | None,
) -> np.ndarray:
    """Half-quadratic splitting on the whole of ``y`` (weighted by ``~clipped`` when given), for a
    blur of at most ``size`` px whose ``x`` step ``x_step`` builds: the splitting, the periodic
    extension and the weights are the same for every blur model; only that step differs."""
    h, w = y.shape[-2:]
    y_ext = extend_periodic(y, size).astype(SOLVE_DTYPE)
    shape = y_ext.shape[-2:]
    grad = Gradient(shape)
    den_grad = np.sum(np.abs(grad.otf().astype(np.result_type(SOLVE_DTYPE, np.complex64))) ** 2, axis=0)
    weight = None
    if clipped is not None and clipped.any():
        weight = np.ones(y_ext.shape, dtype=SOLVE_DTYPE)
        weight[..., :h, :w] = ~clipped
    step = x_step(y_ext, weight, den_grad)
    x = y_ext
    beta = lam
    for _ in range(beta_steps):
        z = prox_lp(grad.forward(x), lam / beta, p)
        # D^T z in space, then one transform: a third fewer FFTs than transforming both maps.
        x = step(x, fft.rfft2(grad.adjoint(z)), beta)
        beta *= beta_rate
    return x[..., :h, :w].astype(np.float64)


def _uniform_step(kernel: np.ndarray) -> StepFactory:
    """The ``x`` step of one kernel: one FFT solve, or with weights a few PCG iterations
    preconditioned by it."""

    def factory(y_ext: np.ndarray, weight: np.ndarray | None, den_grad: np.ndarray) -> XStep:
        shape = y_ext.shape[-2:]
        otf = psf2otf(kernel, shape).astype(np.result_type(SOLVE_DTYPE, np.complex64))
        den_data = np.abs(otf) ** 2
        num_data = np.conj(otf) * fft.rfft2(y_ext if weight is None else weight * y_ext)

        # The weighted solve's last answer and its half spectrum: the next step starts from it.
        last: dict[str, np.ndarray] = {}

        def step(x: np.ndarray, g_hat: np.ndarray, beta: float) -> np.ndarray:
            num = np.multiply(g_hat, beta, out=g_hat)  # the splitting hands over a fresh array
            num += num_data
            den = den_data + beta * den_grad
            if weight is None:
                num /= den
                return fft.irfft2(num, s=shape)
            x_hat = last["x_hat"] if last.get("x") is x else fft.rfft2(x)
            last["x"], last["x_hat"] = _weighted_solve(x_hat, num, otf, beta * den_grad, weight, den, shape)
            return last["x"]

        return step

    return factory


#: Conjugate-gradient iterations per splitting step of the weighted (clipped-light) solve. On the
#: camera photo with 30 lights 5x above white, 15 px blur: RMS error 0.0452 without weights, 0.0347
#: with 3 iterations, 0.0325 with 8 at 2.1x the time; a majorise-minimise substitute for the
#: clipped values (one plain FFT solve per step) reached only 0.0386 with 3 passes.
CG_ITERATIONS = 3


def _weighted_solve(
    x_hat: np.ndarray, num: np.ndarray, otf: np.ndarray, reg: np.ndarray, weight: np.ndarray, precond: np.ndarray, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """``(K^T W K + beta D^T D) x = K^T W y + beta D^T z`` (right side ``num`` in Fourier space) by
    preconditioned CG from the half spectrum ``x_hat``, all planes at once (the system is block
    diagonal, so one CG over the stack solves each plane). CG runs on the half spectra: the
    preconditioner and the regulariser are then products, and only the weights need the image,
    two transforms per iteration instead of six. Returns the answer and its half spectrum."""

    def apply(v_hat: np.ndarray) -> np.ndarray:
        kv = fft.irfft2(otf * v_hat, s=shape)
        return np.conj(otf) * fft.rfft2(weight * kv) + reg * v_hat

    def m_inv(r_hat: np.ndarray) -> np.ndarray:
        return r_hat / precond

    x_hat = pcg(apply, m_inv, num, x_hat, CG_ITERATIONS, dot=half_spectrum_dot(shape[-1]))
    return fft.irfft2(x_hat, s=shape), x_hat


#: Pixels at or above this value (on [0, 1]) are taken as clipped by the sensor.
CLIP_LEVEL = 0.98


def clipped_pixels(y: np.ndarray) -> np.ndarray:
    """Saturated pixels of ``y``: at or above :data:`CLIP_LEVEL`."""
    return y >= CLIP_LEVEL


@dataclass
class DeconvolveResult:
    """The sharp image (input layout), the kernel as used (sums to 1), the prior weight, the noise
    level measured on the input (what the default weight follows) and the method that ran."""

    image: np.ndarray
    kernel: np.ndarray
    lam: float
    noise_sigma: float
    method: str = "hyper-laplacian"


#: ``method="auto"`` runs the denoiser's plug-and-play splitting on noisy photos (measured noise
#: over :data:`gencor.noise.NOISY_PHOTO`, as for the noise-aware estimator), else the MAP solve.
#: With the true kernel the splitting gained over the MAP solve on training photos (+1.36 dB at
#: noise 0.01, +1.53 at 0.02, where the Corrector-checked propagation gained +1.20 and +1.06) and
#: on the noisy bench, but lost on Levin's nearly clean images (measured noise 0.001-0.002):
#: docs/bench/denoise_deconv.md.
DENOISER_FROM = NOISY_PHOTO


def deconvolve(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    lam: float | None = None,
    p: float = 0.8,
    channel_axis: int | None = None,
    method: str = "auto",
) -> DeconvolveResult:
    """Non-blind deconvolution of a photo with a known kernel (convolution convention).

    Parameters
    ----------
    image
        Float image in [0, 1], ``(H, W)`` or with a channel axis.
    kernel
        Blur kernel, non-negative; it is rescaled to sum to 1.
    lam
        Prior weight, from ``LAM_MIN`` (1e-9) to ``LAM_MAX`` (1); by default it follows the noise
        level measured on the image.
    p
        Exponent of the hyper-Laplacian gradient prior.
    channel_axis
        Axis of the color channels, or ``None`` for a gray image.
    method
        "auto" (default): "plug-and-play" on a noisy photo (measured noise over
        :data:`DENOISER_FROM`), else "hyper-laplacian". "hyper-laplacian": the MAP solve above.
        "denoiser": the GCM propagation with gencor's denoiser as the Generator
        (:mod:`gencor.tasks.deconv_gcm`; loads PyTorch), at the noise level whose default weight
        is ``lam``, ``Psi`` checked at every stage. "plug-and-play": the same without the
        Corrector (no guarantee on ``Psi``). Near clipped lights both leave the answer to the MAP
        solve.

    Returns
    -------
    DeconvolveResult
        ``image``: the sharp image, clipped to [0, 1], in the input's layout; ``kernel`` as used
        (normalised to sum 1), the prior weight ``lam``, the measured ``noise_sigma`` and the
        ``method`` that ran.

    Raises
    ------
    ValueError
        If the image is not in [0, 1], the kernel is not a non-negative 2-D array, or it is larger
        than half the image.
    TypeError
        If the image or the kernel is not a numeric NumPy array, or ``lam`` or ``p`` is not a number.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.ndimage import convolve
    >>> from gencor import deconvolve
    >>> sharp = np.kron(np.random.default_rng(0).uniform(size=(8, 8)), np.ones((8, 8)))
    >>> kernel = np.full((1, 5), 0.2)
    >>> result = deconvolve(convolve(sharp, kernel, mode="wrap"), kernel, lam=1e-3)
    >>> result.image.shape, result.lam
    ((64, 64), 0.001)
    """
    arr = as_image(image, channel_axis=channel_axis)
    k = as_kernel(kernel)
    if max(k.shape) > min(arr.shape[:2]) // 2:
        raise ValueError(f"kernel {k.shape} is too large for a {arr.shape[0]}x{arr.shape[1]} image")
    p = check_p(p)
    method = check_choice(method, "method", METHODS)
    gray = luminance(arr)
    sigma = estimate_noise(gray)
    lam = default_lam(sigma) if lam is None else check_lam(lam)
    if method == "auto":
        method = "plug-and-play" if sigma > DENOISER_FROM else "hyper-laplacian"
    planes = to_planes(arr)
    with fft.set_workers(fft_workers()):
        sharp = _by_tiles(planes.reshape(-1, *planes.shape[-2:]), k, lam=lam, p=p, method=method)
        np.clip(sharp, 0.0, 1.0, out=sharp)
    return DeconvolveResult(from_planes(sharp.reshape(planes.shape), channel_axis).astype(np.float64, copy=False), k, float(lam), sigma, method)


#: Large photos are deconvolved on square tiles of this side (plus context), one channel at a
#: time, so memory stays bounded whatever the photo's size; smaller ones in one piece, all
#: channels through the same FFTs.
FRAME_TILE = 2048
#: Context around each tile and width of the blend between neighbours, in kernel sizes.
TILE_CONTEXT = 3


def _solver(kernel: np.ndarray, *, lam: float, p: float, method: str) -> Callable[[np.ndarray], np.ndarray]:
    """The deconvolution of ``(C, H, W)`` planes by ``method`` (see :func:`deconvolve`)."""
    if method == "hyper-laplacian":
        return lambda planes: deconvolve_plane(planes, kernel, lam=lam, p=p, clipped=clipped_pixels(planes))
    from gencor.models.denoiser import shipped_denoiser
    from gencor.tasks.deconv_gcm import deconvolve_gcm

    denoiser = shipped_denoiser()
    # The noise level whose default weight is ``lam``: a stronger weight denoises more.
    sigma = float(np.sqrt(lam / NOISE_GAIN))

    def propagation(planes: np.ndarray) -> np.ndarray:
        return deconvolve_gcm(planes, kernel, denoiser, sigma=sigma, corrector=method == "denoiser")[0]

    # Near clipped lights the weighted MAP solve answers (the propagation's data term has no weights).
    return lambda planes: deconvolve_plane(planes, kernel, lam=lam, p=p, clipped=clipped_pixels(planes), away=propagation)


def _by_tiles(planes: np.ndarray, kernel: np.ndarray, *, lam: float, p: float, method: str = "hyper-laplacian") -> np.ndarray:
    """The deconvolution of a ``(C, H, W)`` stack, whole or tile by tile (see :data:`FRAME_TILE`)."""
    h, w = planes.shape[-2:]
    solve = _solver(kernel, lam=lam, p=p, method=method)
    if max(h, w) <= FRAME_TILE:
        return solve(planes)
    # The denoiser sees a color photo's channels together.
    return by_tiles(planes, max(kernel.shape), lambda tile, crop: solve(tile), stacked=method != "hyper-laplacian")


def by_tiles(planes: np.ndarray, ramp: int, solve: Callable[[np.ndarray, Region], np.ndarray], *, stacked: bool = False) -> np.ndarray:
    """``solve(tile, crop)`` on square tiles of :data:`FRAME_TILE` px of each plane of a
    ``(C, H, W)`` stack (plus :data:`TILE_CONTEXT` ramps of context; ``crop`` is where the tile lies
    in the frame), blended with linear ramps of ``2 * ramp`` px between neighbours: memory stays
    bounded whatever the photo's size. ``stacked``: ``solve`` gets the tile of every plane at once."""
    h, w = planes.shape[-2:]
    context = TILE_CONTEXT * ramp
    out = np.zeros(planes.shape, dtype=SOLVE_DTYPE)  # the photo's size: single precision halves it
    total = np.zeros((h, w), dtype=SOLVE_DTYPE)
    tiles = []
    for r0 in range(0, h, FRAME_TILE):
        for c0 in range(0, w, FRAME_TILE):
            blend = _grow((slice(r0, min(r0 + FRAME_TILE, h)), slice(c0, min(c0 + FRAME_TILE, w))), ramp, (h, w))
            crop = _grow(blend, context, (h, w))
            tiles.append((blend, crop))
            total[blend] += _feather(blend, (h, w), 2 * ramp)
    if stacked:
        for blend, crop in tiles:
            out[(slice(None), *blend)] += _feather(blend, (h, w), 2 * ramp) * solve(planes[(slice(None), *crop)], crop)[(slice(None), *_within(blend, crop))]
    else:
        # The tiles of each plane are independent: one per core at a time (the splitting's
        # element-wise work, most of its time, then uses every core too).
        jobs = [(c, blend, crop) for blend, crop in tiles for c in range(len(planes))]

        def one(job: tuple[int, Region, Region]) -> np.ndarray:
            c, blend, crop = job
            return solve(planes[c][crop], crop)[_within(blend, crop)]

        for (c, blend, _), solved in zip(jobs, map_single_threaded(one, jobs, workers=fft_workers()), strict=True):
            out[c][blend] += _feather(blend, (h, w), 2 * ramp) * solved
    out /= total
    return out
