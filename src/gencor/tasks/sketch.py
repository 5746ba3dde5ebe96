"""Pencil drawings after Lu, Xu and Jia, "Combining Sketch and Tone for Pencil Drawing Production"
(NPAR 2012), drawn on the GCM-smoothed photo as in Liu et al.'s Fig. 9.

* Strokes: the gradient magnitude is split among eight directions by the line filter that
  responds most, and each part is drawn back with its own line segment, which turns continuous
  contours into short, crossing pencil strokes.
* Tone: the luminance histogram is matched to Lu et al.'s three-layer model of pencil drawings
  (a Laplacian bright layer, a uniform middle layer, a Gaussian dark layer).
* Texture: a procedural hatching pattern ``H`` is darkened to the tone ``J`` by a smooth exponent
  map ``b``: ``H^b ~ J`` with ``min ||b ln H - ln J||^2 + lam_t ||grad b||^2``.

Smoothing first removes texture and noise, so the strokes follow structure rather than clutter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse.linalg import LinearOperator as SparseOperator
from scipy.sparse.linalg import cg
from skimage.color import rgb2ycbcr, ycbcr2rgb

from gencor.tasks.smooth import BETA_MAX, BETA_RATE, SMOOTH_LAM_MIN, ladder_length, smooth
from gencor.validate import as_image, check_callback, check_flag, check_integer, check_real

#: Lu et al.'s tone model on [0, 1]: bright layer scale, middle layer range, dark layer mean and
#: spread, and the weights of the three layers (bright, middle, dark).
SIGMA_B, U_A, U_B, MU_D, SIGMA_D = 9 / 255, 105 / 255, 225 / 255, 90 / 255, 11 / 255
WEIGHTS = (52.0, 37.0, 11.0)
#: Pencil texture: stroke length (px), and the mix of the slanted strokes and the cross-hatching.
STROKE_LENGTH = 21
STREAK, CROSS = 0.8, 0.3
#: Pencil texture: the paper's mean tone, the texture's contrast, and the range of its values.
PAPER_TONE, TEXTURE_CONTRAST = 0.62, 0.12
TEXTURE_RANGE = (0.2, 0.98)
#: Conjugate-gradient iterations of the tone's exponent (:func:`render_texture`).
TEXTURE_ITERATIONS = 60
#: Line length of the strokes: a 30th of the shorter side, at least 5 px.
STROKE_FRACTION, MIN_STROKE = 30, 5


def line_kernels(length: int, directions: int = 8) -> np.ndarray:
    """``directions`` line segments of ``length`` pixels through the centre, 1 px wide."""
    r = length // 2
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    out = np.zeros((directions, 2 * r + 1, 2 * r + 1))
    for i in range(directions):
        theta = np.pi * i / directions
        dist = np.abs(-np.sin(theta) * xx + np.cos(theta) * yy)
        along = np.abs(np.cos(theta) * xx + np.sin(theta) * yy)
        out[i] = np.clip(1.0 - dist, 0.0, 1.0) * (along <= r)
    return out


def strokes(gray: np.ndarray, *, length: int | None = None, directions: int = 8) -> np.ndarray:
    """The stroke layer ``S`` in [0, 1] (1 = paper): dark where the image has edges."""
    gx = np.zeros_like(gray)
    gy = np.zeros_like(gray)
    gx[:, :-1] = np.diff(gray, axis=1)
    gy[:-1] = np.diff(gray, axis=0)
    mag = np.hypot(gx, gy)
    length = length or max(MIN_STROKE, min(gray.shape) // STROKE_FRACTION | 1)
    lines = line_kernels(length, directions)
    response = np.stack([ndimage.convolve(mag, k, mode="nearest") for k in lines])
    best = np.argmax(response, axis=0)
    drawn = sum(ndimage.convolve(np.where(best == i, mag, 0.0), k, mode="nearest") for i, k in enumerate(lines))
    drawn = drawn / max(float(drawn.max()), 1e-12)
    return 1.0 - drawn


def tone_histogram(bins: int = 256) -> np.ndarray:
    """Lu et al.'s three-layer target distribution of pencil-drawing tones on ``bins`` levels."""
    v = np.linspace(0.0, 1.0, bins)
    bright = np.exp(-(1.0 - v) / SIGMA_B) / SIGMA_B
    middle = ((v >= U_A) & (v <= U_B)) / (U_B - U_A)
    dark = np.exp(-((v - MU_D) ** 2) / (2 * SIGMA_D**2)) / np.sqrt(2 * np.pi * SIGMA_D**2)
    w = np.asarray(WEIGHTS) / np.sum(WEIGHTS)
    p = w[0] * bright + w[1] * middle + w[2] * dark
    return p / p.sum()


def tone_map(gray: np.ndarray) -> np.ndarray:
    """Histogram matching of ``gray`` to :func:`tone_histogram`, then a light blur (pencil tone is
    smooth)."""
    target = np.cumsum(tone_histogram())
    ranks = np.argsort(np.argsort(gray, axis=None), axis=None).reshape(gray.shape)
    quantile = (ranks + 0.5) / gray.size
    tone = np.interp(quantile, target, np.linspace(0.0, 1.0, target.size))
    return ndimage.uniform_filter(tone, size=3, mode="nearest")


def pencil_texture(shape: tuple[int, int], rng: np.random.Generator, *, angle: float = 40.0) -> np.ndarray:
    """A procedural hatching texture in (0, 1]: noise drawn out along slanted pencil strokes."""
    h, w = shape
    noise = rng.standard_normal((h, w))
    lines = line_kernels(STROKE_LENGTH, 180)
    streak = ndimage.convolve(noise, lines[int(round(angle)) % 180], mode="wrap")
    cross = ndimage.convolve(noise, lines[int(round(angle + 90)) % 180], mode="wrap")
    hatch = STREAK * streak + CROSS * cross
    hatch = (hatch - hatch.mean()) / max(float(hatch.std()), 1e-12)
    return np.clip(PAPER_TONE + TEXTURE_CONTRAST * hatch, *TEXTURE_RANGE)


def render_texture(tone: np.ndarray, texture: np.ndarray, *, lam: float = 0.2, step: Callable[[], None] | None = None) -> np.ndarray:
    """``texture ** b`` with the smooth exponent ``b`` that best reproduces ``tone`` (a CG solve;
    ``step`` is called after each of its iterations)."""
    ln_h = np.log(texture)
    ln_j = np.log(np.clip(tone, 1e-3, 1.0))
    shape = tone.shape

    def apply(b_flat: np.ndarray) -> np.ndarray:
        b = b_flat.reshape(shape)
        lap = ndimage.laplace(b, mode="nearest")
        return (ln_h**2 * b - lam * lap).ravel()

    op = SparseOperator((tone.size, tone.size), matvec=apply, dtype=float)
    b, _ = cg(op, (ln_h * ln_j).ravel(), x0=(ln_j / ln_h).ravel(), maxiter=TEXTURE_ITERATIONS, callback=None if step is None else lambda _: step())
    return texture ** np.clip(b.reshape(shape), 0.0, None)


@dataclass
class SketchResult:
    """The drawing (gray, or the input layout for colored pencil) and its two layers: the pencil
    strokes along the edges (1 = paper) and the textured tone, both ``(H, W)`` in [0, 1]."""

    image: np.ndarray
    strokes: np.ndarray
    tone: np.ndarray


def _check_options(arr: np.ndarray, color: bool, smoothing: float | None, seed: int, progress: object) -> np.ndarray | None:
    """The color channels of ``arr`` (``None`` for gray); a ``TypeError`` or ``ValueError`` for a
    wrong option of :func:`sketch`."""
    if check_flag(color, "color") and arr.ndim != 3:
        raise ValueError("color sketches need a color image (pass channel_axis)")
    if smoothing is not None and not SMOOTH_LAM_MIN <= check_real(smoothing, "smoothing") < BETA_MAX / 2:
        raise ValueError(f"smoothing must be None or from {SMOOTH_LAM_MIN:g} to below {BETA_MAX / 2:g}, got {smoothing}")
    if check_integer(seed, "seed") < 0:
        raise ValueError(f"seed must not be negative, got {seed}")
    check_callback(progress, "progress")
    rgb = arr[..., :3] if arr.ndim == 3 else None
    if rgb is not None and rgb.shape[-1] < 3:
        raise ValueError(f"color images need 3 channels, got {rgb.shape[-1]}")
    return rgb


def _in_color(base: np.ndarray, drawing: np.ndarray, channel_axis: int | None) -> np.ndarray:
    """The drawing as the luminance of the color photo ``base`` (its chroma kept), in the input layout."""
    ycc = rgb2ycbcr(base)
    ycc[..., 0] = 16 + 219 * drawing
    out = np.clip(ycbcr2rgb(ycc), 0.0, 1.0)
    return np.moveaxis(out, -1, channel_axis) if channel_axis is not None else out


def sketch(
    image: np.ndarray,
    *,
    channel_axis: int | None = None,
    color: bool = False,
    smoothing: float | None = 0.01,
    seed: int = 0,
    progress: Callable[[int, int, str], None] | None = None,
) -> SketchResult:
    """A pencil drawing of a float image in [0, 1].

    Parameters
    ----------
    image
        ``(H, W)``, or color with ``channel_axis``.
    channel_axis
        Axis of the color channels, or ``None`` for gray.
    color
        Colored pencil (the drawing replaces the luminance, chroma is kept); needs a color image.
    smoothing
        ``lam`` of the L0 smoothing (:func:`gencor.tasks.smooth.smooth`) applied first; ``None``
        draws on the raw photo.
    seed
        Seed of the procedural paper and pencil texture.
    progress
        Optional callback ``(done, total, phase)`` after each step (a ``beta`` of the smoothing,
        the strokes, an iteration of the tone's solve); an exception it raises stops the drawing.

    Returns
    -------
    SketchResult
        ``image``: the drawing, ``(H, W)`` gray, or color in the input layout with
        ``color=True``; ``strokes`` and ``tone``, the two layers it is the product of.

    Raises
    ------
    ValueError
        If the image is not in [0, 1], ``color`` is asked of a gray image, or ``smoothing`` is not
        positive.
    TypeError
        If the image is not a numeric NumPy array, or a keyword has the wrong type (``color="no"``, ``seed=1.5``).

    Examples
    --------
    >>> import numpy as np
    >>> from gencor import sketch
    >>> photo = np.kron(np.random.default_rng(0).uniform(size=(8, 8)), np.ones((8, 8)))
    >>> drawing = sketch(photo).image
    >>> drawing.shape, bool(0 <= drawing.min() and drawing.max() <= 1)
    ((64, 64), True)
    """
    arr = as_image(image, channel_axis=channel_axis)
    rgb = _check_options(arr, color, smoothing, seed, progress)
    base = rgb if rgb is not None else arr
    n_smooth = ladder_length(2 * smoothing, BETA_MAX, BETA_RATE) if smoothing is not None else 0
    total, done = n_smooth + 1 + TEXTURE_ITERATIONS, 0

    def tick(phase: str, steps: int = 1) -> None:
        nonlocal done
        done = min(done + steps, total)
        if progress is not None:
            progress(done, total, phase)

    if smoothing is not None:
        channels = -1 if base.ndim == 3 else None
        base = smooth(base, lam=smoothing, channel_axis=channels, progress=None if progress is None else lambda d, _, ph: progress(d, total, ph)).image
        done = n_smooth
    gray = rgb2ycbcr(base)[..., 0] / 255.0 * (255 / 219) - 16 / 219 if base.ndim == 3 else base
    gray = np.clip(gray, 0.0, 1.0)
    texture = pencil_texture(gray.shape, np.random.default_rng(seed))
    lines = strokes(gray)
    tick("drawing the strokes")
    tone = render_texture(tone_map(gray), texture, step=lambda: tick("shading"))
    tick("shading", total)  # the solve may converge before its last iteration
    drawing = np.clip(lines * tone, 0.0, 1.0)
    return SketchResult(_in_color(base, drawing, channel_axis) if color else drawing, lines, tone)
