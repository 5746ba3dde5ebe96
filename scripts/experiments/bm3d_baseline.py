"""The classical reference of issue #31: BM3D (PyPI ``bm3d``; not free for commercial use, so it is
never a dependency of gencor) on BSD68 grey with white Gaussian noise, PSNR and seconds per image on
this machine. The learned denoiser must match its PSNR at sigma 15 and 25 (of 255) and run at least
10x faster.

    python scripts/experiments/bm3d_baseline.py ../shared/data/test/BSD68 --sigmas 15 25 --limit 68
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image


def main() -> None:
    import bm3d  # an optional tool of this script only

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="grey PNG test images (BSD68)")
    ap.add_argument("--sigmas", type=float, nargs="+", default=[15.0, 25.0], help="noise levels, of 255")
    ap.add_argument("--limit", type=int, default=68, help="the first N images")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    files = sorted(args.folder.glob("*.png"))[: args.limit]
    for sigma in args.sigmas:
        rng = np.random.default_rng(args.seed)
        psnrs, seconds = [], []
        for f in files:
            clean = np.asarray(Image.open(f).convert("L"), dtype=np.float64) / 255
            noisy = clean + sigma / 255 * rng.standard_normal(clean.shape)
            start = time.perf_counter()
            out = bm3d.bm3d(noisy, sigma_psd=sigma / 255)
            seconds.append(time.perf_counter() - start)
            psnrs.append(10 * np.log10(1.0 / np.mean((np.clip(out, 0, 1) - clean) ** 2)))
            mp = clean.size / 1e6
        per_image = float(np.mean(seconds))
        print(f"sigma {sigma:g}: {len(files)} images, PSNR {np.mean(psnrs):.2f} dB, {per_image:.2f} s per image ({per_image / mp:.1f} s per MP)", flush=True)


if __name__ == "__main__":
    main()
