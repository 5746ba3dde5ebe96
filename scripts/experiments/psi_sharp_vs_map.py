"""Would the Corrector accept a perfect Generator in the final deconvolution?

Compares the objective Psi (data term plus the hyper-Laplacian prior, with the weight gencor uses)
of the sharp photo with that of the HQS deconvolution with the true kernel, on every 40th
Train400 photo (training data, never evaluation data), at three noise levels. Both are measured
on the interior, away from the frame border.

Run: python scripts/experiments/psi_sharp_vs_map.py (about 20 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy.signal import fftconvolve

from gencor.kernels.trajectory import random_motion_kernel
from gencor.noise import estimate_noise
from gencor.tasks.deconv import deconvolve_plane, default_lam

TRAIN = Path("../shared/data/train/Train400")
EVERY = 40
SIGMAS = (0.005, 0.01, 0.02)
EXTENTS = (11.0, 25.0)
P = 0.8
SEED = 5


def psi_terms(u: np.ndarray, y: np.ndarray, k: np.ndarray, lam: float, margin: int) -> tuple[float, float]:
    """Data term and prior term of Psi on the interior."""
    inner = (slice(margin, -margin), slice(margin, -margin))
    residual = fftconvolve(u, k, mode="same")[inner] - y[inner]
    gx, gy = np.diff(u, axis=1)[inner], np.diff(u, axis=0)[inner]
    return 0.5 * float(np.sum(residual**2)), lam * float(np.sum(np.abs(gx) ** P) + np.sum(np.abs(gy) ** P))


def main() -> None:
    rng = np.random.default_rng(SEED)
    files = sorted(TRAIN.glob("*.png"))[::EVERY]
    for sigma in SIGMAS:
        rows = []
        for f in files:
            with Image.open(f) as im:
                x = np.asarray(im.convert("L"), dtype=float) / 255
            extent = float(rng.uniform(*EXTENTS))
            k = random_motion_kernel(int(extent) + 6 | 1, rng, extent=extent)
            y = np.round(np.clip(fftconvolve(x, k, mode="same") + sigma * rng.standard_normal(x.shape), 0, 1) * 255) / 255
            lam = default_lam(estimate_noise(y))
            restored = np.clip(deconvolve_plane(y, k, lam=lam), 0, 1)
            m = k.shape[0]
            sharp_terms, map_terms = psi_terms(x, y, k, lam, m), psi_terms(restored, y, k, lam, m)
            psnr = 10 * np.log10(1 / np.mean((restored - x)[m:-m, m:-m] ** 2))
            rows.append((sum(sharp_terms), sum(map_terms), *sharp_terms, *map_terms, psnr))
        r = np.array(rows)
        print(
            f"sigma {sigma}: Psi(sharp) < Psi(HQS) on {int(np.sum(r[:, 0] < r[:, 1]))}/{len(files)}; "
            f"median Psi(sharp)/Psi(HQS) {np.median(r[:, 0] / r[:, 1]):.3f} "
            f"(data term {np.median(r[:, 2] / r[:, 4]):.2f}x, prior term {np.median(r[:, 3] / r[:, 5]):.2f}x); "
            f"HQS PSNR {r[:, 6].mean():.2f} dB"
        )


if __name__ == "__main__":
    main()
