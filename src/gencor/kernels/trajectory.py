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
    xs, ys = pos.real + centre, pos.imag + centre
    k = np.zeros((size, size))
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            np.add.at(k, (np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)), wy * wx)
    return k / k.sum()
