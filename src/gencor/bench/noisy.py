"""``gencor bench noisy``: our own harder set, to guard against tuning to Levin's low noise.

Sharp test photos (Set12 and Kodak24 in gray, never used for training) are cut to at most 256x256 and
blurred with camera-shake kernels from our trajectory generator (up to 51 px) using only real scene
content at the borders, then get Gaussian noise and 8-bit quantisation.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.signal import fftconvolve

from gencor.bench.common import Row, mean_row, measured, run_pool, write_tables
from gencor.kernels.trajectory import random_motion_kernel
from gencor.metrics import image_scores, kernel_similarity
from gencor.plots import cdf_plot
from gencor.tasks.deblur import deblur
from gencor.noise import estimate_noise
from gencor.tasks.deconv import deconvolve, default_lam

SIDE = 256
MAX_KERNEL = 51
COLUMNS = ["image", "kernel_extent", "psnr_blurred", "psnr", "gain_db", "ssim", "error_ratio", "kernel_similarity", "seconds", "peak_mib"]


def make_case(path: Path, rng: np.random.Generator, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sharp, blurred, kernel)`` for one photo: a valid-mode blur of a larger crop, noise, 8 bits."""
    with Image.open(path) as im:
        photo = np.asarray(im.convert("L"), dtype=float) / 255.0
    k = random_motion_kernel(MAX_KERNEL, rng, extent=rng.uniform(9, MAX_KERNEL - 2))
    side = min(SIDE, min(photo.shape) - MAX_KERNEL + 1)  # Set12 has 256x256 photos
    big = side + MAX_KERNEL - 1
    top = (photo.shape[0] - big) // 2
    left = (photo.shape[1] - big) // 2
    scene = photo[top : top + big, left : left + big]
    r = MAX_KERNEL // 2
    sharp = scene[r : r + side, r : r + side]
    blurred = fftconvolve(scene, k, mode="valid") + sigma * rng.standard_normal((side, side))
    return sharp, np.round(np.clip(blurred, 0, 1) * 255) / 255, k


def _one(job: tuple[Path, int, int, float]) -> Row:
    path, kernel_size, seed, sigma = job
    rng = np.random.default_rng(seed)
    sharp, blurred, k = make_case(path, rng, sigma)
    result, seconds, peak = measured(lambda: deblur(blurred, kernel_size=kernel_size))
    est = image_scores(result.image, sharp)
    ref = image_scores(deconvolve(blurred, k, lam=default_lam(estimate_noise(blurred))), sharp)
    before = image_scores(blurred, sharp)
    ys, xs = np.nonzero(k)
    return {
        "image": f"{path.parent.name}/{path.stem}",
        "kernel_extent": int(max(np.ptp(ys), np.ptp(xs)) + 1),
        "psnr_blurred": before["psnr"],
        "psnr": est["psnr"],
        "gain_db": est["psnr"] - before["psnr"],
        "ssim": est["ssim"],
        "error_ratio": est["ssd"] / ref["ssd"],
        "kernel_similarity": kernel_similarity(result.kernel, k),
        "seconds": seconds,
        "peak_mib": peak,
    }


def run_noisy(data: Path, *, out_dir: Path, kernel_size: int, jobs: int, limit: int | None, seed: int, sigma: float, quiet: bool) -> list[Row]:
    """Run the noisy benchmark; print the table and write ``noisy.md``, ``noisy.csv`` and a CDF plot."""
    files = sorted((data / "Set12").glob("*.png")) + sorted((data / "Kodak24").glob("*.png"))
    if not files:
        raise ValueError(f"no Set12/ or Kodak24/ PNG files in {data}; point --data at the test folder")
    files = files[:limit] if limit else files
    jobs_list = [(f, kernel_size, seed * 1000 + i, sigma) for i, f in enumerate(files)]
    rows = run_pool(_one, jobs_list, jobs=jobs, quiet=quiet, desc="noisy")
    gains = np.array([r["gain_db"] for r in rows])
    er = np.array([r["error_ratio"] for r in rows])
    header = (
        f"# Noisy camera-shake set\n\n`gencor bench noisy --kernel-size {kernel_size} --seed {seed} --sigma {sigma}` "
        f"on {platform.machine()}, {len(rows)} images of at most {SIDE}x{SIDE}, kernels up to {MAX_KERNEL} px, noise {sigma}, 8 bit.\n\n"
        f"mean gain {gains.mean():.2f} dB | images made worse: {int(np.sum(gains < 0))} | ER<=3: {np.mean(er <= 3):.3f} | median ER {np.median(er):.2f}"
    )
    md = write_tables(out_dir, "noisy", rows + [mean_row(rows, COLUMNS, "image")], COLUMNS, header)
    cdf_plot({"gencor": er}, out_dir / "noisy_er_cdf.png", title=f"noisy set, sigma={sigma}")
    print(md)
    return rows
