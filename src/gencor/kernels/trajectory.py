"""Synthetic camera-shake kernels from random trajectories, for training and for noisy test sets.

The trajectory is a random walk with inertia, a pull back towards the start and rare sudden jerks,
after Boracchi and Foi ("Modeling the performance of image restoration from motion blur", IEEE TIP
2012). It is rasterised with bilinear weights, so kernels are thin curves of varying density.
"""

from __future__ import annotations

import numpy as np


def random_motion_kernel(
    size: int,
    rng: np.random.Generator,
    *,
    extent: float | None = None,
    steps: int = 1000,
    anxiety: float = 0.1,
    jerk_probability: float = 0.01,
) -> np.ndarray:
    """A ``size x size`` kernel that sums to 1, centred by its centre of mass.

    ``extent`` is the largest side of the trajectory's bounding box in pixels (default: uniform
    between ``size / 4`` and ``size - 2``).
    """
    if size < 3 or size % 2 == 0:
        raise ValueError(f"kernel size must be odd and >= 3, got {size}")
    extent = float(extent if extent is not None else rng.uniform(size / 4, size - 2))
    velocity = np.exp(2j * np.pi * rng.uniform())
    pos = np.zeros(steps, dtype=complex)
    for i in range(1, steps):
        jerk = rng.uniform() < jerk_probability
        kick = (rng.normal() + 1j * rng.normal()) * anxiety * (8.0 if jerk else 1.0)
        velocity = velocity + kick - 0.002 * pos[i - 1] / max(extent, 1.0)
        velocity /= abs(velocity)
        pos[i] = pos[i - 1] + velocity
    pos -= pos.mean()
    span = max(np.ptp(pos.real), np.ptp(pos.imag), 1e-9)
    pos *= min(extent, size - 2) / span
    centre = (size - 1) / 2
    xs, ys = pos.real + centre, pos.imag + centre
    k = np.zeros((size, size))
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            np.add.at(k, (np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)), wy * wx)
    return k / k.sum()
