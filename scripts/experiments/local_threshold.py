"""Measure ``blur_variation`` on uniform and on camera-rotation blur, to set ``LOCAL_VARIATION``.

Training photos only (BSDS500 train, never evaluation data): each gets a uniform camera-shake
kernel and, with another seed, a shaking camera with roll (:mod:`gencor.kernels.camera`); noise
0.005-0.01, 8 bits. Prints one row per case and the two distributions.

    PYTHONPATH=src python scripts/experiments/local_threshold.py ../shared/data/train/BSDS500/train --cases 12
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

import gencor.tasks.deblur as pipeline
import gencor.tasks.deblur.decision as decision
from training_photos import arguments, photos, shaken_uniformly, shaken_with_roll


def one(job: tuple[str, int, str]) -> tuple[str, str, float | None, int]:
    path, seed, kind = job
    decision.LOCAL_VARIATION = np.inf  # measure only: never take the local path
    rng = np.random.default_rng(seed)
    scene = np.asarray(Image.open(path).convert("L"), dtype=float) / 255.0
    noisy = shaken_uniformly(scene, rng) if kind == "uniform" else shaken_with_roll(scene, rng)[0]
    report = pipeline.deblur(noisy, blur="auto", generator="none").report
    return Path(path).stem, kind, report.blur_variation, sum(report.local.get("trusted", []))


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    files = photos(args.folder, args.cases)
    jobs = [(str(f), i, kind) for i, f in enumerate(files) for kind in ("uniform", "rotation")]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(one, jobs))
    for row in rows:
        print(*row, sep="\t")
    for kind in ("uniform", "rotation"):
        v = np.array([r[2] for r in rows if r[1] == kind and r[2] is not None])
        print(kind, "n", len(v), f"min {v.min():.3f} median {np.median(v):.3f} max {v.max():.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
