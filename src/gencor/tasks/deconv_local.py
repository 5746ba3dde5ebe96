"""Non-blind deconvolution of blur that changes across the frame, with the filter-flow model.

``min_x 1/2 ||W^1/2 (A x - y)||^2 + lam sum_d |d_d x|^p`` with ``A x = sum_i k_i * (w_i . x)``
(:class:`gencor.operators.FilterFlow`) by half-quadratic splitting, as the uniform solve of
:mod:`gencor.tasks.deconv`; the ``x`` step is no longer diagonal in Fourier space, so it runs a few
conjugate-gradient iterations preconditioned by the uniform solve with the frame's average kernel.
One solve over the whole frame, so no seams: separate deconvolutions stitched together leave them
where neighbouring kernels differ. ``W`` is zero on clipped lights, as in the uniform solve.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from gencor.layout import from_planes, luminance, to_planes
from gencor.noise import estimate_noise
from gencor.operators.cg import pcg
from gencor.operators.filterflow import FilterFlow, extend_hats, grid_hats
from gencor.tasks.deconv import (
    BETA_RATE,
    BETA_STEPS,
    FRAME_TILE,
    SOLVE_DTYPE,
    Region,
    StepFactory,
    XStep,
    by_tiles,
    check_lam,
    check_p,
    clipped_pixels,
    default_lam,
    hqs,
)
from gencor.threads import fft_workers
from gencor.validate import as_image, as_kernel, check_integer

#: Conjugate-gradient iterations per splitting step, warm-started from the previous step. On a
#: 2x2 grid of equal kernels (where the uniform solve is exact) 4 iterations came within
#: 0.05 dB of it (tests/test_local.py).
FLOW_CG = 4


def _check_kernels(kernels: object, grid: object) -> list[np.ndarray]:
    """The kernels, checked, if ``grid`` is a pair of positive integers with one kernel per cell."""
    if not isinstance(grid, tuple | list | np.ndarray) or len(grid) != 2:
        raise TypeError(f"grid must be a pair (rows, cols), got {type(grid).__name__}")
    rows, cols = (check_integer(n, "grid") for n in grid)
    if rows < 1 or cols < 1:
        raise ValueError(f"grid must have positive rows and cols, got {tuple(grid)}")
    if not isinstance(kernels, list | tuple):
        raise TypeError(f"kernels must be a list of arrays, got {type(kernels).__name__}")
    ks = [as_kernel(k) for k in kernels]
    if rows * cols != len(ks):
        raise ValueError(f"need rows * cols kernels: grid {tuple(grid)}, {len(ks)} kernels")
    return ks


def deconvolve_local(
    image: np.ndarray,
    kernels: list[np.ndarray],
    grid: tuple[int, int],
    *,
    lam: float | None = None,
    p: float = 0.8,
    channel_axis: int | None = None,
) -> np.ndarray:
    """Deconvolve a photo whose blur is ``kernels[i]`` around the centre of cell ``i`` of a
    ``rows x cols`` grid (row-major) and blends smoothly between cells.

    Parameters
    ----------
    image
        Float image in [0, 1], ``(H, W)`` or with a channel axis.
    kernels
        One kernel per cell (convolution convention; each is rescaled to sum to 1).
    grid
        ``(rows, cols)``; ``(1, 1)`` is the uniform blur.
    lam, p
        Prior weight (by default from the measured noise) and exponent.
    channel_axis
        Axis of the color channels, or ``None`` for gray.

    Returns
    -------
    numpy.ndarray
        The sharp image in [0, 1], in the input's layout.

    Raises
    ------
    ValueError
        If the image is not in [0, 1], the number of kernels is not ``rows * cols``, or a kernel
        is invalid or too large for the image.

    Examples
    --------
    >>> import numpy as np
    >>> from gencor.tasks.deconv_local import deconvolve_local
    >>> sharp = np.kron(np.random.default_rng(0).uniform(size=(8, 8)), np.ones((8, 8)))
    >>> kernels = [np.full((1, 5), 0.2), np.full((5, 1), 0.2)]
    >>> deconvolve_local(sharp, kernels, (1, 2), lam=1e-3).shape
    (64, 64)
    """
    arr = as_image(image, channel_axis=channel_axis)
    ks = _check_kernels(kernels, grid)
    size = max(max(k.shape) for k in ks)
    if size > min(arr.shape[:2]) // 2:
        raise ValueError(f"a kernel of {size} px is too large for a {arr.shape[0]}x{arr.shape[1]} image")
    p = check_p(p)
    lam = default_lam(estimate_noise(luminance(arr))) if lam is None else check_lam(lam)
    planes = to_planes(arr)
    with fft.set_workers(fft_workers()):
        sharp = _by_tiles(planes.reshape(-1, *planes.shape[-2:]), ks, grid, lam=lam, p=p)
        np.clip(sharp, 0.0, 1.0, out=sharp)
    return from_planes(sharp.reshape(planes.shape), channel_axis).astype(np.float64, copy=False)


def _by_tiles(planes: np.ndarray, kernels: list[np.ndarray], grid: tuple[int, int], *, lam: float, p: float) -> np.ndarray:
    """The solve on the whole frame, or tile by tile for large photos
    (:func:`gencor.tasks.deconv.by_tiles`); a tile's operator keeps only the windows that reach it."""
    h, w = planes.shape[-2:]
    if max(h, w) <= FRAME_TILE:
        return _solve(planes, kernels, (grid_hats(h, grid[0]), grid_hats(w, grid[1])), lam=lam, p=p)

    def solve(tile: np.ndarray, crop: Region) -> np.ndarray:
        return _solve(tile[None], kernels, (grid_hats(h, grid[0], crop[0]), grid_hats(w, grid[1], crop[1])), lam=lam, p=p)[0]

    return by_tiles(planes, max(max(k.shape) for k in kernels), solve)


def _solve(y: np.ndarray, kernels: list[np.ndarray], hats: tuple[np.ndarray, np.ndarray], *, lam: float, p: float) -> np.ndarray:
    """Half-quadratic splitting (:func:`gencor.tasks.deconv.hqs`) on planes ``y (C, H, W)`` with the
    filter flow of the row and column ``hats`` (grown with the frame's periodic extension)."""
    size = max(max(k.shape) for k in kernels)
    return hqs(y, size, _flow_step(kernels, hats), lam=lam, p=p, beta_steps=BETA_STEPS, beta_rate=BETA_RATE, clipped=clipped_pixels(y))


def _flow_step(kernels: list[np.ndarray], hats: tuple[np.ndarray, np.ndarray]) -> StepFactory:
    """The ``x`` step of the filter flow: a few PCG iterations from the previous ``x``,
    preconditioned by the uniform solve with the windows' mean kernel."""

    def factory(y_ext: np.ndarray, weight: np.ndarray | None, den_grad: np.ndarray) -> XStep:
        shape = y_ext.shape[-2:]
        op = FilterFlow(kernels, extend_hats(hats[0], shape[0]), extend_hats(hats[1], shape[1]), dtype=SOLVE_DTYPE)
        den_data = (np.abs(op.mean_otf()) ** 2).astype(SOLVE_DTYPE)
        rhs_data = op.adjoint(y_ext if weight is None else weight * y_ext)

        def step(x: np.ndarray, g_hat: np.ndarray, beta: float) -> np.ndarray:
            reg = beta * den_grad

            def apply(v: np.ndarray) -> np.ndarray:
                blurred = op.forward(v)
                return op.adjoint(blurred if weight is None else weight * blurred) + fft.irfft2(reg * fft.rfft2(v), s=shape)

            def m_inv(v: np.ndarray) -> np.ndarray:
                return fft.irfft2(fft.rfft2(v) / (den_data + reg), s=shape)

            return pcg(apply, m_inv, rhs_data + beta * fft.irfft2(g_hat, s=shape), x, FLOW_CG)

        return step

    return factory
