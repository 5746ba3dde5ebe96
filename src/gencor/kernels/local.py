"""Kernels that change across the frame (issue #21): one per window of a grid, each checked
against its neighbours, borrowed from them where it cannot be trusted.

A camera that turns about its optical axis blurs each point along its own arc, so the kernel of
one corner is not the kernel of the other (:mod:`gencor.kernels.camera`). The grid's kernels feed
the filter-flow model (:class:`gencor.operators.FilterFlow`), whose windows are the hats of the
same grid. A small window constrains its kernel far less than the frame does, so a window keeps
its own kernel only when the confidence model prefers it to the frame's kernel there; the others
borrow from their trusted neighbours (kernels change smoothly across the frame under camera
shake) or keep the frame's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy import ndimage

from gencor.assess import kernel_similarity
from gencor.kernels.size import crop_kernel
from gencor.noise import estimate_noise
from gencor.threads import map_single_threaded

#: Target side of a grid cell in pixels; the grid has at most ``MAX_GRID`` cells a side and at
#: least 3 along the shorter side when the photo is large (cells grow with the photo).
LOCAL_CELL = 256
MAX_GRID = 4
GRID_SHORT_SIDE = 3
#: Each window is centred on its cell and this many times its side (neighbours overlap), but at
#: least ``MIN_WINDOW`` pixels and ``MIN_KERNELS_PER_WINDOW`` kernel sizes, and at most
#: ``MAX_WINDOW`` pixels. On scikit-image's photos shaken with roll (noise 0.005, 39 px kernels),
#: 180 px windows gave kernels less like the true local ones than the frame's kernel was, 256 px
#: windows more alike (similarity 0.59-0.88 against 0.53-0.85).
WINDOW_SCALE = 1.25
MIN_WINDOW = 256
MIN_KERNELS_PER_WINDOW = 4
MAX_WINDOW = 400
#: A window with less than this share of the median window's edge energy is not trusted.
EDGE_SHARE = 0.4
#: A window is flat, and never trusted, where less than this share of its pixels lie on edges,
#: whatever the other windows hold: a flat window's kernel is meaningless, yet it can outscore the
#: frame's there (issue #29: a grey frame with one textured corner had its three flat windows
#: trusted, and the textured one borrowed their kernel, undoing the deblurring). Measured on
#: BSDS500 train photos shaken with 9-55 px kernels (40) or with roll (12), noise 0.005-0.01: on
#: their 2-window grids every window 0.14 or more; on the 12 rolled ones upscaled twice (2 x 4 grids)
#: the windows under 0.05 were sky or calm water (0-0.031); flat windows at noise 0.002-0.05:
#: under 0.0005; a 130 px textured corner in a 256 px window: 0.14.
MIN_EDGE_PIXELS = 0.05
#: A pixel lies on an edge where its gradient, after a Gaussian of ``EDGE_SMOOTHING`` px (which
#: lowers the noise's gradients 4.5 times and a blurred edge's hardly), exceeds ``EDGE_NOISE``
#: times the standard deviation that the window's noise gives a gradient component: noise alone
#: passes with probability exp(-EDGE_NOISE^2 / 2), about 1 % even where the noise is
#: underestimated by half.
EDGE_SMOOTHING = 1.0
EDGE_NOISE = 6.0
#: Nor is a gradient under this (per pixel) an edge, however clean the photo: smooth shading (a
#: sky darkening by 0.5 across a 256 px window: 0.002) is not, a blurred edge of contrast 0.2
#: spread over 39 px (0.005) is.
MIN_EDGE_GRADIENT = 0.004

#: Rows and columns of a rectangle of the frame.
Region = tuple[slice, slice]
#: What an estimator returns for one window (a kernel, or a run that holds one).
Estimate = TypeVar("Estimate")


def local_grid(shape: tuple[int, int], kernel_size: int) -> tuple[int, int]:
    """Rows and columns of the grid for a frame of ``shape`` and kernels of ``kernel_size``."""
    cell = max(LOCAL_CELL, min(shape) / GRID_SHORT_SIDE, MIN_KERNELS_PER_WINDOW * kernel_size / WINDOW_SCALE)
    rows, cols = (int(np.clip(np.floor(n / cell + 0.5), 1, MAX_GRID)) for n in shape)
    return rows, cols


def grid_centres(shape: tuple[int, int], grid: tuple[int, int]) -> list[tuple[float, float]]:
    """Cell centres, row-major, where :func:`gencor.operators.grid_windows` puts its hats' peaks."""
    (h, w), (rows, cols) = shape, grid
    return [((i + 0.5) * h / rows, (j + 0.5) * w / cols) for i in range(rows) for j in range(cols)]


def grid_regions(shape: tuple[int, int], grid: tuple[int, int], kernel_size: int) -> list[Region]:
    """The estimation window of each cell: centred on it, moved inside the frame."""
    h, w = shape
    sides = [
        int(min(n, max(min(WINDOW_SCALE * n / g, MAX_WINDOW), MIN_WINDOW, MIN_KERNELS_PER_WINDOW * kernel_size))) for n, g in zip(shape, grid, strict=True)
    ]
    out = []
    for cy, cx in grid_centres(shape, grid):
        top = int(np.clip(round(cy - sides[0] / 2), 0, h - sides[0]))
        left = int(np.clip(round(cx - sides[1] / 2), 0, w - sides[1]))
        out.append((slice(top, top + sides[0]), slice(left, left + sides[1])))
    return out


def neighbours(grid: tuple[int, int], index: int) -> list[int]:
    """The (up to 8) cells around cell ``index`` of a row-major grid."""
    rows, cols = grid
    r, c = divmod(index, cols)
    return [i * cols + j for i in range(max(r - 1, 0), min(r + 2, rows)) for j in range(max(c - 1, 0), min(c + 2, cols)) if (i, j) != (r, c)]


@dataclass
class LocalKernels:
    """The kernels of a grid of windows (row-major), which ones were trusted, and how much the blur
    varies across the frame."""

    grid: tuple[int, int]
    regions: list[Region]
    #: As used: a trusted window's own kernel; the others borrow the mean of their trusted
    #: neighbours' or, with none, the frame's kernel.
    kernels: list[np.ndarray]
    trusted: list[bool]
    #: Each window's best similarity to a neighbour's kernel.
    agreement: list[float]
    #: The confidence of each window's own kernel and of the frame's kernel on that window.
    own: list[float]
    frame: list[float]
    #: ``blur_variation``: mean dissimilarity (1 - similarity) of the kernels as used to the frame's
    #: kernel; 0 when no window is trusted with its own kernel, or all agree with the frame's.
    variation: float

    def confidence(self) -> float:
        """Median over the windows of the confidence of the kernel each one uses."""
        return float(np.median([o if t else f for o, f, t in zip(self.own, self.frame, self.trusted, strict=True)]))

    def report(self) -> dict[str, object]:
        """What the report says of the grid (no arrays)."""
        return {
            "grid": list(self.grid),
            "trusted": [bool(t) for t in self.trusted],
            "agreement": [round(float(a), 3) for a in self.agreement],
            "own_confidence": [round(float(c), 3) for c in self.own],
            "frame_confidence": [round(float(c), 3) for c in self.frame],
        }


def _noise_gradient_gain() -> float:
    """Standard deviation of a gradient component of unit white noise smoothed as :func:`edge_energy` does."""
    impulse = np.zeros((8 * int(np.ceil(EDGE_SMOOTHING)) + 1,) * 2)
    impulse[impulse.shape[0] // 2, impulse.shape[1] // 2] = 1.0
    return float(np.linalg.norm(np.gradient(ndimage.gaussian_filter(impulse, EDGE_SMOOTHING), axis=1)))


def edge_energy(gray: np.ndarray, regions: list[Region]) -> np.ndarray:
    """Mean gradient magnitude of each window, or 0 for a flat one: where fewer than
    ``MIN_EDGE_PIXELS`` of its pixels have gradients well above what its own noise could give
    (``EDGE_NOISE``) and above ``MIN_EDGE_GRADIENT``. The test is absolute, so that it holds
    however many windows are flat."""
    energy = np.hypot(*np.gradient(gray))
    gain = _noise_gradient_gain()
    out = []
    for region in regions:
        window = gray[region]
        edges = np.hypot(*np.gradient(ndimage.gaussian_filter(window, EDGE_SMOOTHING)))
        threshold = max(EDGE_NOISE * gain * estimate_noise(window), MIN_EDGE_GRADIENT)
        flat = float(np.mean(edges > threshold)) < MIN_EDGE_PIXELS
        out.append(0.0 if flat else float(energy[region].mean()))
    return np.array(out)


def grid_kernels(gray: np.ndarray, regions: list[Region], estimate: Callable[[np.ndarray, Region], Estimate], *, workers: int = 1) -> list[Estimate]:
    """``estimate(window image, region)`` on each window, in the order of ``regions``, ``workers``
    windows at a time.

    Threads, each with single-threaded FFTs: the estimator spends much of its time in NumPy array
    operations that use one core, so windows side by side use the cores better than one window
    with multi-threaded FFTs (4 windows of 375 px, 39 px kernels, 2 cores: 8.5 s against 17.5 s,
    the same kernels). ``estimate`` must be safe to call from several threads.
    """
    if workers <= 1 or len(regions) <= 1:
        return [estimate(gray[r], r) for r in regions]
    return list(map_single_threaded(lambda region: estimate(gray[region], region), regions, workers=workers))


def neighbour_agreement(kernels: list[np.ndarray], grid: tuple[int, int]) -> list[float]:
    """Each kernel's best similarity to a neighbour's: a lone kernel unlike all around it is low."""
    return [max(kernel_similarity(kernels[i], kernels[j]) for j in neighbours(grid, i)) for i in range(len(kernels))]


def dissimilarity(a: np.ndarray, b: np.ndarray) -> float:
    """``1 - kernel_similarity(a, b)``, exactly 0 for equal kernels (the correlation's round-off
    would leave about 1e-16) and never below 0."""
    return 0.0 if np.array_equal(a, b) else max(1.0 - kernel_similarity(a, b), 0.0)


#: Scores a kernel on a window: ``(window index, kernel, is the frame's) -> confidence``.
Scorer = Callable[[int, np.ndarray, bool], float]


def choose_kernels(
    kernels: list[np.ndarray],
    frame: np.ndarray,
    *,
    grid: tuple[int, int],
    regions: list[Region],
    edges: np.ndarray,
    agreement: list[float],
    score: Scorer,
    floor: float,
) -> LocalKernels:
    """Which kernel each window uses. A window is trusted with its own kernel only when it has
    edges (``edges``, from :func:`edge_energy`: not 0, and at least ``EDGE_SHARE`` of the median
    window's), its kernel scores at least ``floor`` on it and beats the frame's kernel there (a
    Corrector for each window: a local kernel is taken only where the evidence prefers it). The
    others borrow from the trusted ones (see :class:`LocalKernels`), so a flat window never lends
    its kernel. All kernels are centred and cut to one size; ``agreement``
    (:func:`neighbour_agreement`) is reported with them."""
    size = max(k.shape[0] for k in [*kernels, frame])
    kernels = [crop_kernel(k, size) for k in kernels]
    frame = crop_kernel(frame, size)
    n = len(kernels)
    textured = (edges > 0) & (edges >= EDGE_SHARE * float(np.median(edges)))
    own = [score(i, kernels[i], False) for i in range(n)]
    base = [score(i, frame, True) for i in range(n)]
    trusted = [bool(textured[i] and own[i] >= floor and own[i] > base[i]) for i in range(n)]
    used = []
    for i in range(n):
        near = [kernels[j] for j in neighbours(grid, i) if trusted[j]]
        used.append(kernels[i] if trusted[i] else crop_kernel(np.mean(near, axis=0), size) if near else frame)
    variation = float(np.mean([dissimilarity(k, frame) for k in used]))
    return LocalKernels(grid, regions, used, trusted, agreement, own, base, variation)
