"""Issue #32, item 4: the MAP deconvolution in luma and chroma against the three RGB planes, on
BSDS500 training photos with their true kernels (synthetic camera shake, Gaussian noise, 8 bit,
optionally brightened so that lights clip). Prints PSNR per photo and the mean difference.

Luma ``Y = RGB @ LUMA``, chroma ``(B - Y)/2 + 1/2`` and ``(R - Y)/2 + 1/2``. Luma takes the union
of the channels' clipped pixels; chroma either none (``ycc``) or the same union (``ycc_masked``).
Each plane takes the default weight of its own measured noise. Nothing is written.

    python scripts/experiments/chroma_route_train.py --photos 12 --sigma 0.01 --gain 1.0
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

import gencor.tasks.deconv as dc
from gencor.kernels.trajectory import random_motion_kernel
from gencor.layout import LUMA
from gencor.noise import estimate_noise


def to_ycc(rgb: np.ndarray) -> np.ndarray:
    y = rgb @ LUMA
    return np.stack([y, (rgb[..., 2] - y) / 2 + 0.5, (rgb[..., 0] - y) / 2 + 0.5])


def from_ycc(planes: np.ndarray) -> np.ndarray:
    y, cb, cr = planes
    b, r = y + 2 * (cb - 0.5), y + 2 * (cr - 0.5)
    return np.stack([r, (y - LUMA[0] * r - LUMA[2] * b) / LUMA[1], b], axis=-1)


def rgb_route(blurred: np.ndarray, k: np.ndarray, lam: float) -> np.ndarray:
    planes = np.moveaxis(blurred, -1, 0)
    return np.moveaxis(np.stack([dc.deconvolve_plane(p, k, lam=lam, clipped=dc.clipped_pixels(p)) for p in planes]), 0, -1)


def ycc_route(blurred: np.ndarray, k: np.ndarray, *, chroma_masked: bool) -> np.ndarray:
    union = np.any(dc.clipped_pixels(blurred), axis=-1)
    out = [
        dc.deconvolve_plane(p, k, lam=dc.default_lam(estimate_noise(p)), clipped=union if i == 0 or chroma_masked else None)
        for i, p in enumerate(to_ycc(blurred))
    ]
    return from_ycc(np.stack(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data/train/BSDS500/train"))
    ap.add_argument("--photos", type=int, default=12)
    ap.add_argument("--sigma", type=float, default=0.01)
    ap.add_argument("--gain", type=float, default=1.0, help="brightness gain before the blur (over 1: lights clip)")
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    routes: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
        "rgb": rgb_route,
        "ycc": lambda b, k, lam: ycc_route(b, k, chroma_masked=False),
        "ycc_masked": lambda b, k, lam: ycc_route(b, k, chroma_masked=True),
    }
    psnr: dict[str, list[float]] = {r: [] for r in routes}
    seconds = dict.fromkeys(routes, 0.0)
    for f in sorted(a.data.glob("*.jpg"))[: a.photos]:
        x = np.clip(np.asarray(Image.open(f).convert("RGB"), dtype=float) / 255 * a.gain, 0, 1)
        extent = int(rng.integers(11, 31))
        k = random_motion_kernel(extent + 6 | 1, rng, extent=extent)
        b = np.stack([ndimage.convolve(x[..., c], k, mode="reflect") for c in range(3)], axis=-1)
        b = np.round(np.clip(b + a.sigma * rng.normal(size=b.shape), 0, 1) * 255) / 255
        lam = dc.default_lam(estimate_noise(b @ LUMA))
        m = k.shape[0]
        line = []
        for name, route in routes.items():
            start = time.perf_counter()
            out = np.clip(route(b, k, lam), 0, 1)
            seconds[name] += time.perf_counter() - start
            psnr[name].append(float(10 * np.log10(1 / np.mean((out - x)[m:-m, m:-m] ** 2))))
            line.append(f"{name} {psnr[name][-1]:.2f}")
        print(f.name, f"extent {extent}", f"clipped {np.mean(dc.clipped_pixels(b).any(-1)):.3f}", " | ".join(line), flush=True)
    for name in routes:
        d = np.array(psnr[name]) - np.array(psnr["rgb"])
        print(f"{name:10s} mean {np.mean(psnr[name]):.3f} dB, against rgb {d.mean():+.3f} (min {d.min():+.3f}, max {d.max():+.3f}), {seconds[name]:.1f} s")


if __name__ == "__main__":
    main()
