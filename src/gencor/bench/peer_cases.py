"""The inputs of ``gencor bench peers``: the noisy set at two noise levels, Levin's images and
rolled training photos, each with its sharp image, true kernel and noise level."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy.io import loadmat

from gencor.bench.synthetic import Case, make_case, noisy_cases

#: The sets, and the noise level each program is given on Levin's (its own noise is small).
SETS = ("noisy0.01", "noisy0.02", "levin", "rolled")
LEVIN_SIGMA = 0.01
#: Rolled training photos, made as scripts/experiments/local_start.py makes them: BSDS500 train,
#: every ``ROLLED_STRIDE``-th from the ``ROLLED_FIRST``, seeds from ``ROLLED_SEED``; the true kernel
#: is the one at the frame's centre, rasterised on ``ROLLED_WINDOW`` px.
ROLLED_MARGIN = 30
ROLLED_STRIDE = 7
ROLLED_FIRST = 3
ROLLED_SEED = 2100
ROLLED_WINDOW = 31


@dataclass(frozen=True)
class PeerCase:
    """One input: the sharp and blurred gray images in [0, 1], the true kernel and noise level."""

    set: str
    name: str
    sharp: np.ndarray
    blurred: np.ndarray
    kernel: np.ndarray
    sigma: float

    @property
    def photo(self) -> str:
        return f"{self.set}/{self.name}"


@dataclass(frozen=True)
class CaseRef:
    """What a worker needs to make a case: its set, name and where it comes from."""

    set: str
    name: str
    source: Any

    @property
    def photo(self) -> str:
        return f"{self.set}/{self.name}"


def odd_extent(kernel: np.ndarray) -> tuple[int, int]:
    """The extent of a kernel's support (largest side of its nonzero taps) and that made odd."""
    ys, xs = np.nonzero(kernel > 0)
    extent = int(max(np.ptp(ys), np.ptp(xs)) + 1)
    return extent, extent + 1 - extent % 2


def case_refs(sets: Sequence[str], data: Path, *, rolled: int) -> list[CaseRef]:
    """The cases of ``sets``, in order; a one-line error when a set's data is missing."""
    refs: list[CaseRef] = []
    for name in sets:
        if name.startswith("noisy"):
            sigma = float(name[len("noisy") :])
            refs += [CaseRef(name, c.name, c) for c in noisy_cases(data / "test", seed=0, sigma=sigma)]
        elif name == "levin":
            files = sorted((data / "levin09").glob("*.mat"))
            if not files:
                raise ValueError(f"no .mat files in {data / 'levin09'}; point --data at the shared data folder")
            refs += [CaseRef(name, f.stem, f) for f in files]
        else:
            files = sorted((data / "train" / "BSDS500" / "train").glob("*.jpg"))[ROLLED_FIRST::ROLLED_STRIDE][:rolled]
            if not files:
                raise ValueError(f"no JPEG photos in {data / 'train' / 'BSDS500' / 'train'}; point --data at the shared data folder")
            refs += [CaseRef(name, f.stem, (f, ROLLED_SEED + i)) for i, f in enumerate(files)]
    return refs


def _rolled(path: Path, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """A training photo through a camera that also rolls (as scripts/experiments/training_photos.py
    makes it): sharp, blurred, the kernel at the frame's centre, the noise level."""
    from gencor.kernels.camera import random_camera_shake

    rng = np.random.default_rng(seed)
    with Image.open(path) as im:
        scene = np.asarray(im.convert("L"), dtype=float) / 255.0
    m = ROLLED_MARGIN
    shape = (scene.shape[0] - 2 * m, scene.shape[1] - 2 * m)
    cam = random_camera_shake(shape, rng, shift=rng.uniform(6, 16), turn=rng.uniform(8, 20))
    sigma = float(rng.uniform(0.005, 0.01))
    blurred = np.round(np.clip(cam.blur(scene, m) + sigma * rng.standard_normal(shape), 0, 1) * 255) / 255
    centre = cam.kernel_at(((shape[0] - 1) / 2, (shape[1] - 1) / 2), shape, ROLLED_WINDOW)
    return scene[m:-m, m:-m], blurred, centre, sigma


def load_case(ref: CaseRef) -> PeerCase:
    """The images, kernel and noise level of ``ref``."""
    if isinstance(ref.source, Case):
        sharp, blurred, k = make_case(ref.source)
        return PeerCase(ref.set, ref.name, sharp, blurred, k, ref.source.sigma)
    if ref.set == "levin":
        mat = loadmat(ref.source)
        return PeerCase(ref.set, ref.name, mat["x"], mat["y"], mat["f"][::-1, ::-1], LEVIN_SIGMA)
    sharp, blurred, k, sigma = _rolled(*ref.source)
    return PeerCase(ref.set, ref.name, sharp, blurred, k, sigma)
