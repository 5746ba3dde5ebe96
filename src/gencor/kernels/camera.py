"""Blur that changes across the frame, made by a shaking camera: a homography per instant.

A hand-held camera turns while the shutter is open. Turning about the lens's vertical or
horizontal axis (yaw, pitch) shifts the whole image nearly alike; turning about the optical axis
(roll) moves each point along a circle around the centre, so the blur grows with the distance from
the centre and its direction turns across the frame (Whyte, Sivic, Zisserman and Ponce, IJCV 2012).
The pose at each instant is ``H_t = K R_t K^-1`` for intrinsics ``K`` (focal length ``f`` pixels,
centre of the frame); the photo is the mean of the scene seen at each pose. Each of the three
angles follows the damped random oscillation of :mod:`gencor.kernels.trajectory`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from gencor.kernels.trajectory import random_path, rasterise

#: Instants along the exposure: enough that a 30 px path is sampled every pixel or so.
STEPS = 48


@dataclass(frozen=True)
class CameraShake:
    """Camera poses during the exposure, evenly spaced in time: ``angles`` ``(T, 3)`` in radians
    (yaw, pitch, roll) and the focal length in pixels."""

    angles: np.ndarray
    focal: float

    def homographies(self, shape: tuple[int, int]) -> np.ndarray:
        """``(T, 3, 3)`` maps from scene points to image points, for a frame of ``shape`` (the
        principal point at its centre; points are ``(x, y, 1)``)."""
        h, w = shape
        k = np.array([[self.focal, 0.0, (w - 1) / 2], [0.0, self.focal, (h - 1) / 2], [0.0, 0.0, 1.0]])
        return np.array([k @ _rotation(*a) @ np.linalg.inv(k) for a in self.angles])

    def blur(self, scene: np.ndarray, margin: int) -> np.ndarray:
        """The photo of ``scene`` (``(H, W)`` or ``(H, W, C)``) cut by ``margin`` on each side, so
        the border of the photo holds scene content, as a real photo's does."""
        h, w = scene.shape[0] - 2 * margin, scene.shape[1] - 2 * margin
        ys, xs = np.mgrid[0:h, 0:w].astype(float)
        points = np.stack([xs.ravel(), ys.ravel(), np.ones(h * w)])
        planes = scene[..., None] if scene.ndim == 2 else scene
        out = np.zeros((h, w, planes.shape[-1]))
        share = 1.0 / len(self.angles)
        for hom in self.homographies((h, w)):
            src = np.linalg.inv(hom) @ points
            coords = [src[1] / src[2] + margin, src[0] / src[2] + margin]
            for c in range(planes.shape[-1]):
                out[..., c] += share * ndimage.map_coordinates(planes[..., c], coords, order=1, mode="reflect").reshape(h, w)
        return out[..., 0] if scene.ndim == 2 else out

    def offsets(self, point: tuple[float, float], shape: tuple[int, int]) -> np.ndarray:
        """``(T, 2)`` (row, column) offsets of the kernel taps at ``point = (row, col)``: the photo at
        ``p`` sees the scene at ``H_t^-1 p = p - offset_t``."""
        row, col = point
        q = np.linalg.inv(self.homographies(shape)) @ np.array([col, row, 1.0])
        return np.column_stack([row - q[:, 1] / q[:, 2], col - q[:, 0] / q[:, 2]])

    def kernel_at(self, point: tuple[float, float], shape: tuple[int, int], size: int) -> np.ndarray:
        """The ``size x size`` blur kernel (convolution convention) at ``point = (row, col)`` of a
        frame of ``shape``: where each pose takes the point, rasterised with bilinear weights."""
        offsets = self.offsets(point, shape) + (size - 1) / 2
        return rasterise(offsets[:, 0], offsets[:, 1], size, drop_outside=True)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return r_roll @ r_pitch @ r_yaw


def _resample(path: np.ndarray, steps: int) -> np.ndarray:
    """``path`` (complex) at ``steps`` evenly spaced instants."""
    t = np.linspace(0, len(path) - 1, steps)
    idx = np.arange(len(path))
    return np.interp(t, idx, path.real) + 1j * np.interp(t, idx, path.imag)


def random_camera_shake(shape: tuple[int, int], rng: np.random.Generator, *, shift: float, turn: float, steps: int = STEPS) -> CameraShake:
    """A camera path for a frame of ``shape``: yaw and pitch move the centre by up to ``shift``
    pixels, roll moves the corners by up to ``turn`` pixels more (the rotation's arc there)."""
    h, w = shape
    focal = float(max(h, w) * rng.uniform(0.9, 1.4))
    radius = 0.5 * float(np.hypot(h, w))
    tilt = _resample(random_path(rng), steps) * shift / focal
    roll = _resample(random_path(rng), steps).real
    roll = roll / max(float(np.ptp(roll)), 1e-12) * turn / radius
    return CameraShake(angles=np.column_stack([tilt.real, tilt.imag, roll]), focal=focal)
