"""Benchmarks on photos blurred by our own camera-shake kernels, with noise and 8-bit quantisation.

- ``gencor bench noisy``: Set12 and Kodak24 (gray) with kernels up to 51 px and sigma = 0.01, a
  harder test than Levin's low noise, to guard against tuning to one data set.
- ``gencor bench validation``: scikit-image's sample photos (never evaluation data) with kernels
  up to 27 px and sigma = 0.005; the set the estimator's parameters are selected on.

The blur is a valid-mode convolution of a larger crop, so the frame border holds real scene
content, as in a photo.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.signal import fftconvolve

from gencor.bench.common import Row, mean_row, measured, run_pool, write_tables
from gencor.bench.partial import limited
from gencor.generators import DEFAULT_DECONVOLUTION, DEFAULT_GENERATOR
from gencor.kernels.trajectory import random_motion_kernel
from gencor.metrics import image_scores, kernel_similarity
from gencor.noise import estimate_noise
from gencor.plots import cdf_plot
from gencor.tasks.deblur import deblur, final_stage_outcome
from gencor.tasks.deconv import deconvolve, default_lam

COLUMNS = [
    "image",
    "kernel_extent",
    "kernel_size",
    "saturated",
    "decision",
    "candidate",
    "confidence",
    "psnr_blurred",
    "psnr",
    "gain_db",
    "ssim",
    "error_ratio",
    "kernel_similarity",
    "seconds",
    "peak_mib",
    "final_stage",
]
#: The noisy set: kernels up to this size, crops up to this side, and every third photo with
#: clipped lights.
NOISY_MAX_KERNEL = 75
NOISY_SIDE = 320
SATURATED_EVERY = 3
#: scikit-image's sample photos used for validation (public domain or CC0, shipped in its wheel).
VALIDATION_PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "coins", "moon", "immunohistochemistry", "brick", "retina")


#: The formats of the sharp photos that cases and training samples are made from: what gencor reads.
PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def photo_files(folders: list[Path] | tuple[Path, ...], *, what: str = "the photo folders") -> list[Path]:
    """The photos of ``folders`` in every format gencor reads, sorted by folder then name; a
    one-line error when a folder is missing or none holds a photo."""
    for folder in folders:
        if not folder.is_dir():
            raise ValueError(f"{what}: {folder} is not a folder")
    files = [f for folder in folders for f in sorted(folder.iterdir()) if f.suffix.lower() in PHOTO_SUFFIXES and f.is_file()]
    if not files:
        raise ValueError(f"{what}: no photos ({', '.join(PHOTO_SUFFIXES)}) in {', '.join(map(str, folders))}")
    return files


@dataclass(frozen=True)
class Case:
    """One synthetic case: where the photo comes from and how it is degraded."""

    name: str
    source: str  # a file path, or "skimage:<name>"
    seed: int
    sigma: float
    max_kernel: int
    side: int
    crop: str  # "centre" or "random"
    saturate: bool = False


def load_gray(source: str) -> np.ndarray:
    if source.startswith("skimage:"):
        from skimage import color, data

        img = getattr(data, source.split(":", 1)[1])()
        img = img.astype(float) / 255.0
        return color.rgb2gray(img[..., :3]) if img.ndim == 3 else img
    with Image.open(source) as im:
        return np.asarray(im.convert("L"), dtype=float) / 255.0


def make_case(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sharp, blurred, kernel)``: a valid-mode blur of a larger crop, noise, 8 bits."""
    rng = np.random.default_rng(case.seed)
    photo = load_gray(case.source)
    k = random_motion_kernel(case.max_kernel, rng, extent=rng.uniform(9, case.max_kernel - 2))
    side = min(case.side, min(photo.shape) - case.max_kernel + 1)
    big = side + case.max_kernel - 1
    if case.crop == "random":
        top, left = (int(rng.integers(0, n - big + 1)) for n in photo.shape)
    else:
        top, left = ((n - big) // 2 for n in photo.shape)
    scene = photo[top : top + big, left : left + big]
    if case.saturate:
        scene = with_lights(scene, rng)
    r = case.max_kernel // 2
    sharp = scene[r : r + side, r : r + side]
    blurred = fftconvolve(scene, k, mode="valid") + case.sigma * rng.standard_normal((side, side))
    return np.clip(sharp, 0, 1), np.round(np.clip(blurred, 0, 1) * 255) / 255, k


#: Saturated cases: the brightest share of the scene is pushed this far above white, and this many
#: point lights are added, before the blur; the sensor then clips at 1.
HIGHLIGHT_SHARE = 0.03
HIGHLIGHT_GAIN = 2.5
POINT_LIGHTS = 6


def with_lights(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``scene`` with over-exposed highlights and small point lights (values above 1)."""
    out = scene.copy()
    bright = out >= np.quantile(out, 1 - HIGHLIGHT_SHARE)
    out[bright] *= HIGHLIGHT_GAIN
    h, w = out.shape
    for _ in range(POINT_LIGHTS):
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
        out[max(cy - 1, 0) : cy + 2, max(cx - 1, 0) : cx + 2] = rng.uniform(3.0, 8.0)
    return out


def _one(job: tuple[Case, int | str, str]) -> Row:
    case, kernel_size, deconvolution = job
    return synthetic_row(case, kernel_size, deconvolution=deconvolution)


def synthetic_row(
    case: Case,
    kernel_size: int | str,
    *,
    generator: str = DEFAULT_GENERATOR,
    corrector: bool = True,
    final_stage: bool = False,
    deconvolution: str = DEFAULT_DECONVOLUTION,
) -> Row:
    """Deblur one case (default options unless told) and score it against the sharp photo and the
    deconvolution with the true kernel (the hyper-Laplacian MAP solve, whatever ``deconvolution``)."""
    sharp, blurred, k = make_case(case)
    result, seconds, peak = measured(
        lambda: deblur(blurred, kernel_size=kernel_size, generator=generator, corrector=corrector, final_stage=final_stage, deconvolution=deconvolution)
    )
    est = image_scores(result.image, sharp)
    ref = image_scores(deconvolve(blurred, k, lam=default_lam(estimate_noise(blurred)), method="hyper-laplacian").image, sharp)
    before = image_scores(blurred, sharp)
    ys, xs = np.nonzero(k)
    return {
        "image": case.name,
        "kernel_extent": int(max(np.ptp(ys), np.ptp(xs)) + 1),
        "kernel_size": result.report.kernel_size,
        "saturated": case.saturate,
        "decision": result.report.decision,
        "candidate": result.report.candidate,
        "confidence": result.report.confidence,
        "psnr_blurred": before["psnr"],
        "psnr": est["psnr"],
        "gain_db": est["psnr"] - before["psnr"],
        "ssim": est["ssim"],
        "error_ratio": est["ssd"] / ref["ssd"],
        "kernel_similarity": kernel_similarity(result.kernel, k),
        "seconds": seconds,
        "peak_mib": peak,
        "final_stage": final_stage_outcome(result.report.final_stage),
    }


def noisy_cases(data: Path, *, seed: int, sigma: float) -> list[Case]:
    files = sorted((data / "Set12").glob("*.png")) + sorted((data / "Kodak24").glob("*.png"))
    if not files:
        raise ValueError(f"no Set12/ or Kodak24/ PNG files in {data}; point --data at the test folder")
    return [
        Case(f"{f.parent.name}/{f.stem}", str(f), seed * 1000 + i, sigma, NOISY_MAX_KERNEL, NOISY_SIDE, "centre", i % SATURATED_EVERY == 0)
        for i, f in enumerate(files)
    ]


def validation_cases(*, seed: int, sigma: float) -> list[Case]:
    return [
        Case(f"{name}#{j}", f"skimage:{name}", seed * 1000 + 2 * i + j, sigma, 27, 255, "random") for i, name in enumerate(VALIDATION_PHOTOS) for j in range(2)
    ]


def run_synthetic(
    cases: list[Case],
    *,
    title: str,
    stem: str,
    command: str,
    out_dir: Path,
    kernel_size: int | str,
    jobs: int,
    limit: int | None,
    quiet: bool,
    deconvolution: str = DEFAULT_DECONVOLUTION,
) -> list[Row]:
    """Run the cases; print the table and write ``stem.md``, ``stem.csv`` and an ER CDF plot
    (``stem_firstN`` with a ``limit``)."""
    cases = cases[:limit] if limit else cases
    stem = limited(stem, limit)
    rows = run_pool(_one, [(c, kernel_size, deconvolution) for c in cases], jobs=jobs, quiet=quiet, desc=stem)
    gains = np.array([r["gain_db"] for r in rows])
    er = np.array([r["error_ratio"] for r in rows])
    c0 = cases[0]
    header = (
        f"# {title}\n\n`{command}` on {platform.machine()}, {len(rows)} images of at most {c0.side}x{c0.side}, "
        f"kernels up to {c0.max_kernel} px, noise {c0.sigma}, 8 bit, "
        f"{'default options' if deconvolution == DEFAULT_DECONVOLUTION else 'default options but --deconvolution ' + deconvolution}.\n\n"
        f"mean gain {gains.mean():.2f} dB | made worse by > 0.1 dB: {int(np.sum(gains < -0.1))} | worst {gains.min():.2f} dB | "
        f"returned unchanged: {sum(r['decision'] == 'unchanged' for r in rows)} | "
        f"saturated photos: {sum(bool(r['saturated']) for r in rows)} | mean {np.mean([r['seconds'] for r in rows]):.1f} s per image | "
        f"ER<=2: {np.mean(er <= 2):.3f} | ER<=3: {np.mean(er <= 3):.3f} | median ER {np.median(er):.2f} | "
        f"mean sqrt(ER) {np.mean(np.sqrt(er)):.3f} | mean PSNR {np.mean([r['psnr'] for r in rows]):.2f} dB"
    )
    md = write_tables(out_dir, stem, [*rows, mean_row(rows, COLUMNS, "image")], COLUMNS, header)
    cdf_plot({"gencor": er}, out_dir / f"{stem}_er_cdf.png", title=title)
    print(md)
    return rows
