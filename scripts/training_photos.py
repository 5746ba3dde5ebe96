"""What the scripts that measure on training photos share: their command line, which photos they
take, and the camera shake with roll they apply (BSDS500 train only, never evaluation data)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from gencor.kernels.camera import CameraShake, random_camera_shake

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
