"""Synthetic camera-shake kernels from random trajectories, for training and for noisy test sets.

The image-plane position follows a damped random oscillation: a spring pulls the camera back to
where it was aimed, damping slows it, Brownian kicks and rare jerks shake it (in the spirit of
Boracchi and Foi, "Modeling the performance of image restoration from motion blur", IEEE TIP
2012). Speed varies along the path, so the kernel is a thin curve that is brightest where the
camera slowed down, as in real shake. The path is rasterised with bilinear weights.
"""

from __future__ import annotations

import numpy as np


def random_path(
    rng: np.random.Generator,
    *,
    steps: int = 500,
    anxiety: float = 6.0,
    spring: float = 8.0,
    damping: float = 1.0,
    jerk_probability: float = 0.002,
) -> np.ndarray:
    """``steps`` complex positions of the damped random oscillation, centred, largest span 1."""
    dt = 1.0 / steps
    velocity = complex(np.exp(2j * np.pi * rng.uniform()))
    x = 0j
    pos = np.empty(steps, dtype=complex)
    for i in range(steps):
        kick = (rng.normal() + 1j * rng.normal()) * anxiety * np.sqrt(dt)
        if rng.uniform() < jerk_probability:
            kick *= 10.0
        velocity += (-spring * x - damping * velocity) * dt + kick
        x += velocity * dt
        pos[i] = x
    pos -= pos.mean()
    return pos / max(np.ptp(pos.real), np.ptp(pos.imag), 1e-12)


def random_motion_kernel(
    size: int,
    rng: np.random.Generator,
    *,
    extent: float | None = None,
    steps: int = 500,
    anxiety: float = 6.0,
    spring: float = 8.0,
    damping: float = 1.0,
    jerk_probability: float = 0.002,
) -> np.ndarray:
    """A ``size x size`` kernel that sums to 1.

    ``extent`` is the largest side of the trajectory's bounding box in pixels (default: uniform
    between ``size / 4`` and ``size - 2``).
    """
    if size < 3 or size % 2 == 0:
        raise ValueError(f"kernel size must be odd and >= 3, got {size}")
    extent = float(extent if extent is not None else rng.uniform(size / 4, size - 2))
    pos = random_path(rng, steps=steps, anxiety=anxiety, spring=spring, damping=damping, jerk_probability=jerk_probability)
    pos *= min(extent, size - 2)
    centre = (size - 1) / 2
    return rasterise(pos.imag + centre, pos.real + centre, size)


def rasterise(ys: np.ndarray, xs: np.ndarray, size: int, *, drop_outside: bool = False) -> np.ndarray:
    """The ``size x size`` kernel (sums to 1) of points at rows ``ys`` and columns ``xs``, each
    spread over its four nearest taps with bilinear weights. Taps beyond the border are moved onto
    it, or dropped with ``drop_outside``."""
    k = np.zeros((size, size))
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = ys - y0, xs - x0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yy, xx, w = y0 + dy, x0 + dx, wy * wx
            if drop_outside:
                inside = (yy >= 0) & (yy < size) & (xx >= 0) & (xx < size)
                yy, xx, w = yy[inside], xx[inside], w[inside]
            np.add.at(k, (np.clip(yy, 0, size - 1), np.clip(xx, 0, size - 1)), w)
    return k / max(k.sum(), 1e-12)
