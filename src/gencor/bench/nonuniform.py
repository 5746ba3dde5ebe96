"""``gencor bench nonuniform``: blur that changes across the frame, made by a shaking camera that
also turns about its optical axis (:mod:`gencor.kernels.camera`), on Kodak24 and the 512 px photos
of Set12 (gray), noise 0.005-0.01, 8 bits (issue #21).

Each photo is deblurred twice: ``blur="uniform"`` (one kernel) and ``blur="local"`` (the grid of
kernels and the filter-flow deconvolution). ``auto`` is what the default does: the local result
when the measured ``blur_variation`` exceeds the threshold, else the uniform one. For reference,
the filter-flow deconvolution with the true kernels at the grid's cell centres. Kernel sheets put
the true, the local and the uniform kernels of each cell side by side.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from gencor.bench.common import Row, mean_row, measured, run_pool, write_tables
from gencor.io import atomic_write
from gencor.kernels.camera import random_camera_shake
from gencor.kernels.local import grid_centres
from gencor.kernels.size import crop_kernel
from gencor.metrics import image_scores, kernel_similarity
from gencor.tasks.deblur import LOCAL_VARIATION, deblur
from gencor.tasks.deconv import default_lam
from gencor.tasks.deconv_local import deconvolve_local

#: Scene pixels around the photo, so its border holds scene content (more than any shake here).
MARGIN = 40
#: Camera shake of the cases: yaw and pitch move the centre this far (pixels), roll moves the
#: corners this much further, noise.
SHIFT = (6.0, 16.0)
TURN = (8.0, 20.0)
SIGMA = (0.005, 0.01)
#: Side of each kernel in the sheets.
SHEET_KERNEL = 41
COLUMNS = [
    "image",
    "sigma",
    "grid",
    "blur_variation",
    "auto",
    "decision_uniform",
    "decision_local",
    "psnr_blurred",
    "psnr_uniform",
    "psnr_local",
    "psnr_auto",
    "psnr_true_local",
    "gain_local_db",
    "local_minus_uniform_db",
    "kernel_similarity_uniform",
    "kernel_similarity_local",
    "seconds_uniform",
    "seconds_local",
]


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    seed: int


def cases(data: Path) -> list[Case]:
    files = sorted((data / "Kodak24").glob("*.png")) + [f for f in sorted((data / "Set12").glob("*.png")) if min(Image.open(f).size) >= 512]
    if not files:
        raise ValueError(f"no Kodak24/ or Set12/ PNG files in {data}; point --data at the test folder")
    return [Case(f"{f.parent.name}/{f.stem}", str(f), 21_000 + i) for i, f in enumerate(files)]


def make_case(case: Case) -> tuple[np.ndarray, np.ndarray, object, float]:
    """``(sharp, blurred, camera, sigma)``: the photo cut by ``MARGIN``, its shaken and noisy
    version (8 bits), the camera path and the noise level."""
    rng = np.random.default_rng(case.seed)
    with Image.open(case.source) as im:
        scene = np.asarray(im.convert("L"), dtype=float) / 255.0
    shape = (scene.shape[0] - 2 * MARGIN, scene.shape[1] - 2 * MARGIN)
    cam = random_camera_shake(shape, rng, shift=rng.uniform(*SHIFT), turn=rng.uniform(*TURN))
    sigma = float(rng.uniform(*SIGMA))
    blurred = cam.blur(scene, MARGIN) + sigma * rng.standard_normal(shape)
    return scene[MARGIN:-MARGIN, MARGIN:-MARGIN], np.round(np.clip(blurred, 0, 1) * 255) / 255, cam, sigma


def _row(job: tuple[Case, Path]) -> Row:
    case, sheets = job
    sharp, blurred, cam, sigma = make_case(case)
    uniform, t_uniform, _ = measured(lambda: deblur(blurred, blur="uniform"))
    local, t_local, _ = measured(lambda: deblur(blurred, blur="local"))
    rep = local.report
    grid = tuple(rep.local["grid"]) if rep.local else (1, 1)
    centres = grid_centres(blurred.shape, grid)
    side = local.local_kernels[0].shape[0] if local.local_kernels else uniform.kernel.shape[0]
    truth = [cam.kernel_at(c, blurred.shape, side) for c in centres]  # type: ignore[attr-defined]
    true_local = deconvolve_local(blurred, truth, grid, lam=default_lam(sigma))
    variation = rep.blur_variation
    auto = variation is not None and variation > LOCAL_VARIATION
    scores = {name: image_scores(img, sharp)["psnr"] for name, img in (("blurred", blurred), ("uniform", uniform.image), ("local", local.image))}
    used = local.local_kernels or [local.kernel] * len(truth)
    if sheets.name:
        _sheet(sheets / f"{case.name.replace('/', '_')}_kernels.png", truth, used, uniform.kernel, grid)
    return {
        "image": case.name,
        "sigma": sigma,
        "grid": f"{grid[0]}x{grid[1]}",
        "blur_variation": variation,
        "auto": "local" if auto else "uniform",
        "decision_uniform": uniform.report.decision,
        "decision_local": rep.decision,
        "psnr_blurred": scores["blurred"],
        "psnr_uniform": scores["uniform"],
        "psnr_local": scores["local"],
        "psnr_auto": scores["local"] if auto else scores["uniform"],
        "psnr_true_local": image_scores(true_local, sharp)["psnr"],
        "gain_local_db": scores["local"] - scores["blurred"],
        "local_minus_uniform_db": scores["local"] - scores["uniform"],
        "kernel_similarity_uniform": float(np.mean([kernel_similarity(uniform.kernel, t) for t in truth])),
        "kernel_similarity_local": float(np.mean([kernel_similarity(k, t) for k, t in zip(used, truth, strict=True)])),
        "seconds_uniform": t_uniform,
        "seconds_local": t_local,
    }


def _sheet(path: Path, truth: list[np.ndarray], local: list[np.ndarray], uniform: np.ndarray, grid: tuple[int, int]) -> None:
    """Three grids side by side: the true kernels, the local ones, the uniform one in every cell."""

    def tiles(kernels: list[np.ndarray]) -> np.ndarray:
        cells = [crop_kernel(k, SHEET_KERNEL) / max(float(k.max()), 1e-12) for k in kernels]
        rows = [np.hstack([np.pad(cells[r * grid[1] + c], 1, constant_values=0.35) for c in range(grid[1])]) for r in range(grid[0])]
        return np.vstack(rows)

    gap = np.ones((grid[0] * (SHEET_KERNEL + 2), 6))
    img = np.hstack([tiles(truth), gap, tiles(local), gap, tiles([uniform] * len(truth))])
    pixels = Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)).resize((img.shape[1] * 3, img.shape[0] * 3), Image.Resampling.NEAREST)
    atomic_write(path, lambda tmp: pixels.save(tmp, format="PNG"))


def run_nonuniform(data: Path, *, out_dir: Path, jobs: int, limit: int | None, quiet: bool) -> list[Row]:
    """Run the bench; print the table and write ``nonuniform.md``, ``nonuniform.csv`` and the kernel
    sheets in ``nonuniform/``."""
    todo = cases(data)[:limit] if limit else cases(data)
    sheets = out_dir / "nonuniform"
    sheets.mkdir(parents=True, exist_ok=True)
    rows = run_pool(_row, [(c, sheets) for c in todo], jobs=jobs, quiet=quiet, desc="nonuniform")
    diff = np.array([r["local_minus_uniform_db"] for r in rows])
    gain = np.array([r["gain_local_db"] for r in rows])
    auto_diff = np.array([r["psnr_auto"] - r["psnr_uniform"] for r in rows])
    ratio = np.array([r["seconds_local"] / r["seconds_uniform"] for r in rows])
    header = (
        f"# Blur that changes across the frame\n\n`gencor bench nonuniform --jobs {jobs}` on {platform.machine()}, {len(rows)} gray photos "
        f"(Kodak24, Set12 512 px) shaken by a camera path with roll (centre moved {SHIFT[0]:g}-{SHIFT[1]:g} px, corners "
        f"{TURN[0]:g}-{TURN[1]:g} px more), noise {SIGMA[0]}-{SIGMA[1]}, 8 bit, default options but `blur`.\n\n"
        f"local - uniform: mean {diff.mean():+.2f} dB, median {np.median(diff):+.2f} dB, better on {int(np.sum(diff > 0))} of {len(rows)} | "
        f"local - input: mean {gain.mean():+.2f} dB, worst {gain.min():+.2f} dB, {int(np.sum(gain < -0.1))} worse by > 0.1 dB | "
        f"auto took the local path on {sum(r['auto'] == 'local' for r in rows)}, auto - uniform mean {auto_diff.mean():+.2f} dB | "
        f"true local kernels - input: mean {np.mean([r['psnr_true_local'] - r['psnr_blurred'] for r in rows]):+.2f} dB | "
        f"time local / uniform: median {np.median(ratio):.2f}x, max {ratio.max():.2f}x\n\n"
        "Kernel sheets `nonuniform/NAME_kernels.png`: true kernels at the cell centres | local kernels as used | the uniform kernel."
    )
    md = write_tables(out_dir, "nonuniform", [*rows, mean_row(rows, COLUMNS, "image")], COLUMNS, header)
    if not quiet:
        print(md)
    return rows
