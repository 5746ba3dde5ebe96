"""Issue #32, item 4: the final deconvolution of the 12-megapixel bench photo with fewer splitting
steps or conjugate-gradient iterations, timed, with its PSNR against the sharp mosaic.

The photo, its sharp mosaic and its true kernel are rebuilt as ``gencor bench speed`` makes them;
every variant deconvolves with the true kernel and the default prior weight, so only the solver
changes. Nothing is written in the repository.

    python scripts/experiments/deconv_steps_12mp.py --variants 8:3 8:2 6:3 6:2 5:3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data
from skimage.color import gray2rgb
from skimage.transform import resize

import gencor.tasks.deconv as dc
from gencor.bench import speed
from gencor.kernels.trajectory import random_motion_kernel


def sharp_and_kernel() -> tuple[np.ndarray, np.ndarray]:
    """The mosaic and the kernel of :func:`gencor.bench.speed.make_large_photo` (same seed)."""
    rng = np.random.default_rng(speed.LARGE_SEED)
    kernel = random_motion_kernel(speed.LARGE_EXTENT + 6 | 1, rng, extent=speed.LARGE_EXTENT)
    th, tw = speed.LARGE_SHAPE[0] // speed.MOSAIC, speed.LARGE_SHAPE[1] // speed.MOSAIC
    tiles = []
    for name in speed.MOSAIC_PHOTOS:
        img = getattr(data, name)()
        rgb = gray2rgb(img) if img.ndim == 2 else img[..., :3]
        tiles.append(resize(rgb / 255.0, (th, tw, 3), order=3, anti_aliasing=True))
    rows = [np.concatenate([tiles[(r * speed.MOSAIC + c) % len(tiles)] for c in range(speed.MOSAIC)], axis=1) for r in range(speed.MOSAIC)]
    return np.clip(np.concatenate(rows, axis=0), 0.0, 1.0), kernel


def mosaic_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sharp mosaic, its kernel and the blurred JPEG as ``gencor bench speed`` writes it."""
    sharp, kernel = sharp_and_kernel()
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "mosaic.jpg"
        speed.make_large_photo(photo)
        blurred = np.asarray(Image.open(photo), dtype=float) / 255
    return sharp, kernel, blurred


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", nargs="+", default=["8:3", "8:2", "6:3", "6:2", "5:3"], help="BETA_STEPS:CG_ITERATIONS")
    a = ap.parse_args()
    sharp, kernel, blurred = mosaic_case()
    defaults = dict(dc.deconvolve_plane.__kwdefaults__ or {})
    for variant in a.variants:
        steps, cg = (int(v) for v in variant.split(":"))
        dc.deconvolve_plane.__kwdefaults__["beta_steps"] = steps  # type: ignore[index]
        dc.CG_ITERATIONS = cg
        start = time.perf_counter()
        out = dc.deconvolve(blurred, kernel, channel_axis=-1).image
        seconds = time.perf_counter() - start
        psnr = 10 * np.log10(1 / np.mean((out - sharp) ** 2))
        print(f"beta steps {steps}, CG iterations {cg}: {seconds:.1f} s, PSNR {psnr:.3f} dB", flush=True)
    dc.deconvolve_plane.__kwdefaults__.update(defaults)  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
