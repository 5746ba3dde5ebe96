"""Blur that changes across the frame: the efficient filter flow of Hirsch, Sra, Schölkopf and
Harmeling (ICCV 2010/2011), ``y = sum_i k_i * (w_i . x)``, on a periodic domain.

Each window ``w_i`` is the product of a row hat and a column hat on a grid over the frame, and the
windows sum to one, so a single window is the uniform blur and neighbouring kernels blend without
seams (issue #21). A window is zero outside its support, so each part is convolved on a crop of
that support only (grown by the kernel): about three frames' worth of pixels for a 4 x 3 grid
instead of twelve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft

from gencor.operators.base import LinearOperator
from gencor.operators.convolution import psf2otf


def grid_hats(n: int, g: int, span: slice | None = None) -> np.ndarray:
    """``(g, N)`` piecewise-linear hats along an axis of ``n`` pixels, one per cell of ``g``, peaking
    at the cell centres, flat beyond the outer centres, summing to one; evaluated on ``span``."""
    if g < 1 or g > n:
        raise ValueError(f"a grid of {g} windows does not fit {n} pixels")
    pos = np.arange(*(span or slice(0, n)).indices(n)) + 0.5
    if g == 1:
        return np.ones((1, len(pos)))
    centres = (np.arange(g) + 0.5) * n / g
    return np.array([np.interp(pos, centres, np.eye(g)[i]) for i in range(g)])


def extend_hats(hats: np.ndarray, n: int) -> np.ndarray:
    """``hats (g, N)`` grown to ``n >= N`` pixels for a periodic domain: across the added band each
    hat goes linearly from its last value back to its first, so they still sum to one."""
    band = n - hats.shape[1]
    s = (np.arange(1, band + 1) / (band + 1))[None, :]
    return np.concatenate([hats, (1 - s) * hats[:, -1:] + s * hats[:, :1]], axis=1)


def grid_windows(shape: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """``(rows * cols, H, W)`` windows of the grid (row-major): products of :func:`grid_hats`."""
    rows, cols = (grid_hats(n, g) for n, g in zip(shape, grid, strict=True))
    return np.einsum("ih,jw->ijhw", rows, cols).reshape(-1, *shape)


#: A run of a cyclic interval: (slice in the crop, slice in the domain).
Piece = tuple[slice, slice]


def _pieces(start: int, length: int, n: int) -> list[Piece]:
    """The cyclic interval ``start .. start + length`` of an axis of ``n`` as at most two runs."""
    start %= n
    first = min(length, n - start)
    runs = [(slice(0, first), slice(start, start + first))]
    if length > first:
        runs.append((slice(first, length), slice(0, length - first)))
    return runs


@dataclass(frozen=True)
class _Axis:
    """Where one part of the flow acts along one axis: the support of its hat (``inner``), the
    support grown by the kernel (``outer``, where its blur lands), as runs of the cyclic domain, and
    the FFT length; a hat that covers the axis (or nearly) is convolved periodically over all of it,
    also when the kernel is one pixel thick along it (the support has no start to find then)."""

    inner: list[Piece]
    outer: list[Piece]
    n_inner: int
    n_outer: int
    length: int
    periodic: bool

    @classmethod
    def of(cls, hat: np.ndarray, k: int) -> _Axis:
        n = len(hat)
        on = hat > 0
        count = int(on.sum())
        if count + k - 1 > n or count == n:
            every = [(slice(0, n), slice(0, n))]
            return cls(every, every, n, n, n, True)
        start = int(np.nonzero(on & ~np.roll(on, 1))[0][0])  # the support is one (cyclic) interval
        grown = count + k - 1
        return cls(_pieces(start, count, n), _pieces(start - k // 2, grown, n), count, grown, fft.next_fast_len(grown, real=True), False)


def _gather(x: np.ndarray, rows: list[Piece], cols: list[Piece], shape: tuple[int, int]) -> np.ndarray:
    out = np.empty((*x.shape[:-2], *shape), dtype=x.dtype)
    for rc, rd in rows:
        for cc, cd in cols:
            out[..., rc, cc] = x[..., rd, cd]
    return out


def _scatter(out: np.ndarray, values: np.ndarray, rows: list[Piece], cols: list[Piece]) -> None:
    for rc, rd in rows:
        for cc, cd in cols:
            out[..., rd, cd] += values[..., rc, cc]


class FilterFlow(LinearOperator):
    """``x -> sum_ij k_ij * ((r_i c_j^T) . x)`` for row hats ``rows (gr, H)``, column hats
    ``cols (gc, W)`` and one kernel per window (row-major), acting on the last two axes.

    ``dtype`` is the precision of the work (``float32`` halves the time of the FFTs).

    Examples
    --------
    >>> import numpy as np
    >>> from gencor.operators.filterflow import FilterFlow, grid_hats
    >>> flow = FilterFlow([np.full((1, 5), 0.2), np.full((5, 1), 0.2)], grid_hats(16, 1), grid_hats(24, 2))
    >>> y = flow.forward(np.ones((16, 24)))  # kernels that sum to one keep the total
    >>> y.shape, bool(np.isclose(y.sum(), 16 * 24))
    ((16, 24), True)
    """

    def __init__(self, kernels: list[np.ndarray], rows: np.ndarray, cols: np.ndarray, *, dtype: type = np.float64) -> None:
        rows, cols = np.atleast_2d(rows), np.atleast_2d(cols)
        if len(kernels) != rows.shape[0] * cols.shape[0]:
            raise ValueError(f"need one kernel per window: {len(kernels)} kernels for {rows.shape[0]} x {cols.shape[0]} windows")
        self.in_shape = self.out_shape = (int(rows.shape[1]), int(cols.shape[1]))
        self.kernels = [np.asarray(k, dtype=float) for k in kernels]
        self.shares = [float(r.mean() * c.mean()) for r in rows for c in cols]
        self.parts: list[tuple[_Axis, _Axis, np.ndarray, np.ndarray]] = []
        complex_type = np.result_type(dtype, np.complex64)
        for index, k in enumerate(self.kernels):
            r, c = rows[index // cols.shape[0]], cols[index % cols.shape[0]]
            if not (r.any() and c.any()):
                continue
            ay, ax = _Axis.of(r, k.shape[0]), _Axis.of(c, k.shape[1])
            padded = np.zeros((ay.length, ax.length))
            padded[: k.shape[0], : k.shape[1]] = k
            padded = np.roll(padded, (-(k.shape[0] // 2) if ay.periodic else 0, -(k.shape[1] // 2) if ax.periodic else 0), axis=(0, 1))
            inner_r = np.concatenate([r[d] for _, d in ay.inner])
            inner_c = np.concatenate([c[d] for _, d in ax.inner])
            weight: np.ndarray = np.outer(inner_r, inner_c).astype(dtype)
            self.parts.append((ay, ax, weight, fft.rfft2(padded).astype(complex_type)))

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros(x.shape, dtype=np.result_type(x.dtype, self.parts[0][2].dtype))
        for ay, ax, weight, otf in self.parts:
            crop = _gather(x, ay.inner, ax.inner, (ay.n_inner, ax.n_inner)) * weight
            blurred = fft.irfft2(fft.rfft2(crop, s=(ay.length, ax.length)) * otf, s=(ay.length, ax.length))
            _scatter(out, blurred, ay.outer, ax.outer)
        return out

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        out = np.zeros(y.shape, dtype=np.result_type(y.dtype, self.parts[0][2].dtype))
        for ay, ax, weight, otf in self.parts:
            seen = _gather(y, ay.outer, ax.outer, (ay.n_outer, ax.n_outer))
            back = fft.irfft2(fft.rfft2(seen, s=(ay.length, ax.length)) * np.conj(otf), s=(ay.length, ax.length))
            _scatter(out, weight * back[..., : ay.n_inner, : ax.n_inner], ay.inner, ax.inner)
        return out

    def mean_otf(self) -> np.ndarray:
        """The transfer function (``rfft2`` on the whole domain) of the windows' average blur, each
        kernel weighted by its window's share of the frame: the uniform blur closest to this one,
        a preconditioner."""
        total = sum(self.shares)
        return sum(s / total * psf2otf(k, self.in_shape) for s, k in zip(self.shares, self.kernels, strict=True))  # type: ignore[return-value]

    @property
    def lipschitz(self) -> float:
        """A bound on ``||A||^2``: ``||A x|| <= max_i ||K_i|| sum_i ||w_i x||`` and, as the windows are
        non-negative and sum to one, ``(sum_i ||w_i x||)^2 <= n ||x||^2``."""
        return len(self.parts) * max(float(np.max(np.abs(otf)) ** 2) for *_, otf in self.parts)
