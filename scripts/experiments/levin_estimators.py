"""Kernel estimators alone on Levin et al. 2009 (an evaluation set: measured here, never tuned on).

Each variant of ``estimator_dev.py`` runs at the true extent plus ``--margin`` pixels on each side;
the error ratio uses the same deconvolution for its kernel and the true one.

    python scripts/experiments/levin_estimators.py na l0 --margin 4
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
from scipy.io import loadmat

sys.path.insert(0, str(Path(__file__).parent))
from estimator_dev import variants
from gencor.kernels.size import odd
from gencor.metrics import image_scores, kernel_similarity
from gencor.noise import estimate_noise
from gencor.tasks.deconv import deconvolve, default_lam


def one(job: tuple[Path, str, int]) -> dict[str, Any]:
    path, name, margin = job
    data = loadmat(path)
    x, y, k = data["x"], data["y"], data["f"][::-1, ::-1]
    ys, xs = np.nonzero(k > 0.05 * k.max())
    size = odd(max(np.ptp(ys), np.ptp(xs)) + 1 + 2 * margin)
    sigma = estimate_noise(y)
    t = time.perf_counter()
    est = variants(name)(y, size, sigma)
    sec = time.perf_counter() - t
    lam = default_lam(sigma)
    out = image_scores(deconvolve(y, est, lam=lam, method="hyper-laplacian").image, x)
    ref = image_scores(deconvolve(y, k, lam=lam, method="hyper-laplacian").image, x)
    return dict(name=path.stem, size=size, sim=kernel_similarity(est, k), er=out["ssd"] / ref["ssd"], sec=sec)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/levin09"))
    ap.add_argument("--margin", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    files = sorted(a.data.glob("*.mat"))
    with Pool(a.jobs) as pool:
        for v in a.variants:
            rows = pool.map(one, [(f, v, a.margin) for f in files])
            er = np.array([r["er"] for r in rows])
            if a.verbose:
                for r in rows:
                    print(f"  {r['name']} size {r['size']} sim {r['sim']:.3f} er {r['er']:.2f} {r['sec']:.1f}s")
            print(
                f"{v:40s} sim {np.mean([r['sim'] for r in rows]):.3f} ER<=2 {np.mean(er <= 2):.2f} ER<=3 {np.mean(er <= 3):.2f} "
                f"medER {np.median(er):.2f} maxER {er.max():.2f} {np.mean([r['sec'] for r in rows]):.1f}s",
                flush=True,
            )


if __name__ == "__main__":
    main()
