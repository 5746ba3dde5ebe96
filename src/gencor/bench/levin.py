"""``gencor bench levin``: the 32 images of Levin et al. (CVPR 2009) with their protocol.

Levin's ``y`` is ``correlate2d(x, f)`` placed at a kernel-dependent offset, so the true kernel in
our convolution convention is ``f[::-1, ::-1]`` and every comparison is made up to a shift.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
from scipy.io import loadmat

from gencor.bench.common import Row, mean_row, measured, run_pool, write_tables
from gencor.bench.partial import limited
from gencor.generators import DEFAULT_GENERATOR
from gencor.metrics import image_scores, kernel_similarity
from gencor.noise import estimate_noise
from gencor.plots import cdf_plot
from gencor.tasks.deblur import deblur, final_stage_outcome
from gencor.tasks.deconv import deconvolve, default_lam

COLUMNS = [
    "image",
    "kernel_size",
    "decision",
    "candidate",
    "confidence",
    "psnr",
    "ssim",
    "error_ratio",
    "kernel_similarity",
    "seconds",
    "peak_mib",
    "psnr_true_kernel",
    "ssim_true_kernel",
    "final_stage",
]


def levin_case(path: Path, kernel_size: int | str, *, generator: str = DEFAULT_GENERATOR, corrector: bool = True, final_stage: bool = False) -> Row:
    """Deblur one Levin image and score it against the truth and the true-kernel deconvolution."""
    data = loadmat(path)
    x, y, f = data["x"], data["y"], data["f"]
    k_true = f[::-1, ::-1]
    # torch and the weights load once per process, outside the timing.
    if generator == "cnn":
        from gencor.models.generator import shipped_generator

        shipped_generator()
    if final_stage:
        from gencor.models.restorer import shipped_stage

        shipped_stage()
    result, seconds, peak = measured(lambda: deblur(y, kernel_size=kernel_size, generator=generator, corrector=corrector, final_stage=final_stage))
    lam = default_lam(estimate_noise(y))
    est = image_scores(result.image, x)
    ref = image_scores(deconvolve(y, k_true, lam=lam, method="hyper-laplacian").image, x)
    return {
        "image": path.stem,
        "kernel_size": result.report.kernel_size,
        "decision": result.report.decision,
        "candidate": result.report.candidate,
        "confidence": result.report.confidence,
        "psnr": est["psnr"],
        "ssim": est["ssim"],
        "error_ratio": est["ssd"] / ref["ssd"],
        "kernel_similarity": kernel_similarity(result.kernel, k_true),
        "seconds": seconds,
        "peak_mib": peak,
        "psnr_true_kernel": ref["psnr"],
        "ssim_true_kernel": ref["ssim"],
        "final_stage": final_stage_outcome(result.report.final_stage),
    }


def _one(job: tuple[Path, int | str]) -> Row:
    return levin_case(*job)


def summary(rows: list[Row]) -> dict[str, float]:
    er = np.array([r["error_ratio"] for r in rows])
    return {
        "images": len(rows),
        "unchanged": sum(r["decision"] == "unchanged" for r in rows),
        "er<=2": float(np.mean(er <= 2)),
        "er<=3": float(np.mean(er <= 3)),
        "median_er": float(np.median(er)),
        "mean_er": float(np.mean(er)),
        "mean_sqrt_er": float(np.mean(np.sqrt(er))),
        "mean_psnr": float(np.mean([r["psnr"] for r in rows])),
        "mean_ssim": float(np.mean([r["ssim"] for r in rows])),
        "mean_psnr_true_kernel": float(np.mean([r["psnr_true_kernel"] for r in rows])),
        "mean_seconds": float(np.mean([r["seconds"] for r in rows])),
    }


def run_levin(data: Path, *, out_dir: Path, kernel_size: int | str, jobs: int, limit: int | None, quiet: bool) -> dict[str, float]:
    """Run the benchmark, print the table and write ``levin_SIZE.md``, ``.csv`` and ``_er_cdf.png``
    (``levin_SIZE_firstN`` with a ``limit``)."""
    files = sorted(data.glob("*.mat"))
    if not files:
        raise ValueError(f"no .mat files in {data}; point --data at the levin09 folder")
    files = files[:limit] if limit else files
    rows = run_pool(_one, [(f, kernel_size) for f in files], jobs=jobs, quiet=quiet, desc="levin")
    s = summary(rows)
    header = (
        f"# Levin et al. 2009 benchmark\n\n`gencor bench levin --kernel-size {kernel_size} --jobs {jobs}` "
        f"on {platform.machine()} ({platform.processor() or 'cpu'}), {len(rows)} images. "
        "PSNR/SSIM after the best shift (±10 px, quarter-pixel refinement) with a 15 px border crop. "
        "Error ratio = SSD with the estimated kernel / SSD with the true kernel, same deconvolution. "
        "Seconds = kernel estimation + final deconvolution of one image in one worker (the network is "
        "loaded once per worker before timing).\n\n" + " | ".join(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}" for k, v in s.items())
    )
    true_row = {
        "image": "true kernel (mean)",
        "psnr": s["mean_psnr_true_kernel"],
        "ssim": float(np.mean([r["ssim_true_kernel"] for r in rows])),
        "error_ratio": 1.0,
        "kernel_similarity": 1.0,
    }
    table = [*rows, mean_row(rows, COLUMNS, "image"), true_row]
    stem = limited(f"levin_{kernel_size}", limit)
    md = write_tables(out_dir, stem, table, COLUMNS, header)
    cdf_plot({"gencor": np.array([r["error_ratio"] for r in rows])}, out_dir / f"{stem}_er_cdf.png", title=f"Levin et al. 2009, kernel size {kernel_size}")
    print(md)
    return s
