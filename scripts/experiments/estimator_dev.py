"""Compare kernel estimators on a development set of training photos (BSDS500 train, never
evaluation images): camera shake up to 75 px, noise, 8 bits, some clipped lights.

Each estimator runs at the size the automatic sizing would aim for (the true extent plus the
margin), so this measures the estimator alone: kernel similarity, and the error ratio and gain
of a deconvolution with its kernel against the one with the true kernel.

    python scripts/experiments/estimator_dev.py base l0 --n 16 --sigma 0.01 --jobs 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from gencor.bench.synthetic import Case, make_case
from gencor.kernels.estimate import EstimatorConfig, estimate_kernel
from gencor.kernels.l0 import L0Config, estimate_kernel_l0
from gencor.kernels.noiseaware import NoiseAwareConfig, estimate_kernel_noise_aware
from gencor.kernels.size import SIZE_MARGIN, centred_extent, crop_kernel, odd, size_for_extent, touches_border
from gencor.metrics import image_scores, kernel_similarity
from gencor.noise import estimate_noise
from gencor.tasks.deblur.plan import SIZING_LADDER
from gencor.tasks.deconv import deconvolve, default_lam

DATA = Path("../shared/data/train/BSDS500/train")


def _peer(binary: str, y: np.ndarray, n: int, sigma: float | None) -> np.ndarray:
    """The high-noise C++ peer (built outside the project, path in $HN_ESTIMATE), given ``sigma``."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "y.tif", Path(tmp) / "k.tif"
        tifffile.imwrite(src, y.astype(np.float32))
        opts = [] if sigma is None else ["--lambda-min", str(0.5 * sigma), "--gamma", str(200 * sigma)]
        subprocess.run([binary, str(n), str(src), str(out), *opts], check=True, capture_output=True)
        return np.asarray(tifffile.imread(out), dtype=float)


def variants(name: str) -> Callable[[np.ndarray, int, float], np.ndarray]:
    if name.startswith("base"):
        settings = dict(part.split("=") for part in name.split(":")[1:])
        fixed_size = int(settings.pop("size", 0))  # a fixed window instead of the true extent
        cfg = EstimatorConfig(**{k: type(getattr(EstimatorConfig(), k))(float(v)) for k, v in settings.items()})
        return lambda y, n, s: estimate_kernel(y, fixed_size or n, config=cfg).kernel
    if name in ("hn", "hn-auto"):
        binary = os.environ["HN_ESTIMATE"]
        return lambda y, n, s: _peer(binary, y, n, None if name == "hn-auto" else s)
    if name.startswith("na"):
        opts: dict[str, Any] = {}
        use_sigma, scale, fixed_size, crop = True, 0.0, 0, 0.0
        for part in name.split(":")[1:]:
            key, val = part.split("=")
            if key == "oversize":  # the window this many times the given size (odd, within the photo)
                scale = float(val)
                continue
            if key == "sigma":
                use_sigma = val == "true"
                continue
            if key == "size":  # a fixed window (the pipeline runs it at the ladder's largest, 83)
                fixed_size = int(val)
                continue
            if key == "crop":  # then cropped to its centred extent at this fraction of the peak
                crop = float(val)
                continue
            if key == "grow":  # the sizing ladder's windows, grown while the kernel touches the border
                fixed_size = -1
                continue
            opts[key] = type(getattr(NoiseAwareConfig(), key))(float(val))
        na = NoiseAwareConfig(**opts)

        def run(y: np.ndarray, n: int, s: float) -> np.ndarray:
            if scale:
                n = min(odd(n * scale), min(y.shape) // 2 // 2 * 2 - 1)
            if fixed_size < 0:
                for trial in SIZING_LADDER:
                    k = estimate_kernel_noise_aware(y, trial, sigma=s if use_sigma else None, config=na).kernel
                    if not touches_border(k):
                        break
            else:
                k = estimate_kernel_noise_aware(y, fixed_size or n, sigma=s if use_sigma else None, config=na).kernel
            return crop_kernel(k, size_for_extent(centred_extent(k, threshold=crop), lo=3, hi=k.shape[0])) if crop else k

        return run
    if name.startswith("l0"):
        kw: dict[str, Any] = {}
        fixed = 0
        for part in name.split(":")[1:]:
            key, val = part.split("=")
            if key == "size":
                fixed = int(val)
                continue
            kw[key] = type(getattr(L0Config(), key))(float(val))
        cfg = L0Config(**kw)
        return lambda y, n, s: estimate_kernel_l0(y, fixed or n, config=cfg).kernel
    raise ValueError(name)


def cases(data: Path, n: int, sigma: float, max_kernel: int, seed: int, stride: int) -> list[Case]:
    files = sorted(data.glob("*.jpg"))[::stride][:n]
    return [Case(f.stem, str(f), seed * 1000 + i, sigma, max_kernel, 320, "centre", i % 3 == 0) for i, f in enumerate(files)]


def one(job: tuple[Case, str, int]) -> dict[str, Any]:
    case, name, margin = job
    sharp, blurred, k = make_case(case)
    ys, xs = np.nonzero(k)
    extent = int(max(np.ptp(ys), np.ptp(xs)) + 1)
    size = odd(extent + 2 * margin)
    t = time.perf_counter()
    est = variants(name)(blurred, size, case.sigma)
    sec = time.perf_counter() - t
    lam = default_lam(estimate_noise(blurred))
    out = image_scores(deconvolve(blurred, est, lam=lam, method="hyper-laplacian").image, sharp)
    ref = image_scores(deconvolve(blurred, k, lam=lam, method="hyper-laplacian").image, sharp)
    before = image_scores(blurred, sharp)
    return dict(
        name=case.name,
        saturated=case.saturate,
        extent=extent,
        sim=kernel_similarity(est, k),
        er=out["ssd"] / ref["ssd"],
        gain=out["psnr"] - before["psnr"],
        ref_gain=ref["psnr"] - before["psnr"],
        sec=sec,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--sigma", type=float, default=0.01)
    ap.add_argument("--max-kernel", type=int, default=75)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--margin", type=int, default=SIZE_MARGIN, help=f"pixels added on each side of the true extent (default {SIZE_MARGIN})")
    ap.add_argument("--data", type=Path, default=DATA, help=f"training photos (default {DATA})")
    ap.add_argument("--stride", type=int, default=7, help="every STRIDE-th photo of --data (default 7)")
    a = ap.parse_args()
    cs = cases(a.data, a.n, a.sigma, a.max_kernel, a.seed, a.stride)
    with Pool(a.jobs) as pool:
        for v in a.variants:
            rows = pool.map(one, [(c, v, a.margin) for c in cs])
            er = np.array([r["er"] for r in rows])
            if a.verbose:
                for r in rows:
                    print(
                        f"  {r['name']:>8} {'sat' if r['saturated'] else '   '} ext {r['extent']:3d} sim {r['sim']:.3f} er {r['er']:6.2f} "
                        f"gain {r['gain']:+6.2f} (true {r['ref_gain']:+.2f}) {r['sec']:.1f}s"
                    )
            print(
                f"{v:40s} sim {np.mean([r['sim'] for r in rows]):.3f} ER<=3 {np.mean(er <= 3):.2f} medER {np.median(er):.2f} "
                f"gain {np.mean([r['gain'] for r in rows]):+.2f} (true {np.mean([r['ref_gain'] for r in rows]):+.2f}) "
                f"worse {int(np.sum(np.array([r['gain'] for r in rows]) < -0.1))} {np.mean([r['sec'] for r in rows]):.1f}s",
                flush=True,
            )


if __name__ == "__main__":
    main()
