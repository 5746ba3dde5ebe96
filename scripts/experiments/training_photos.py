"""What the scripts that measure on training photos share: their command line, which photos they
take, and the blur they apply (one kernel, or a camera that also rolls) (BSDS500 train only, never evaluation data)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from gencor.kernels.camera import CameraShake, random_camera_shake
from gencor.kernels.trajectory import random_motion_kernel

#: Scene pixels cut from each side of a photo, so its border holds scene content.
MARGIN = 30
#: Every this many photos of the sorted folder is taken.
STRIDE = 7


def arguments(description: str) -> argparse.Namespace:
    """``folder``, ``--cases`` and ``--jobs``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("folder")
    ap.add_argument("--cases", type=int, default=12)
    ap.add_argument("--jobs", type=int, default=2)
    return ap.parse_args()


def photos(folder: str, cases: int, *, first: int = 0) -> list[Path]:
    """``cases`` JPEG photos of ``folder``, every ``STRIDE``-th from the ``first``."""
    return sorted(Path(folder).glob("*.jpg"))[first::STRIDE][:cases]


def shaken_with_roll(scene: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, CameraShake, float]:
    """The photo of the gray ``scene`` (cut by ``MARGIN``) through a shaking camera that also rolls:
    yaw and pitch move the centre 6-16 px, roll the corners 8-20 px more; noise 0.005-0.01, 8 bits.
    Returns the photo, the camera and the noise level."""
    shape = (scene.shape[0] - 2 * MARGIN, scene.shape[1] - 2 * MARGIN)
    cam = random_camera_shake(shape, rng, shift=rng.uniform(6, 16), turn=rng.uniform(8, 20))
    sigma = float(rng.uniform(0.005, 0.01))
    blurred = np.round(np.clip(cam.blur(scene, MARGIN) + sigma * rng.standard_normal(shape), 0, 1) * 255) / 255
    return blurred, cam, sigma


def shaken_uniformly(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The photo of the gray ``scene`` (cut by ``MARGIN``) through one camera-shake kernel of
    9-55 px; noise 0.005-0.01, 8 bits."""
    h, w = scene.shape[0] - 2 * MARGIN, scene.shape[1] - 2 * MARGIN
    k = random_motion_kernel(2 * MARGIN - 1, rng, extent=rng.uniform(9, 2 * MARGIN - 5))
    blurred = fftconvolve(scene, k, mode="valid")[1:-1, 1:-1][:h, :w]
    return np.round(np.clip(blurred + rng.uniform(0.005, 0.01) * rng.standard_normal(blurred.shape), 0, 1) * 255) / 255
