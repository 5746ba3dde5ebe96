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

import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from gencor.bench.common import Row, mean_row, measured, run_pool, write_tables
from gencor.bench.partial import existing_rows, limited, merged
from gencor.io import atomic_write, read_image
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
    # What blur="auto" returns: the local result when the local path ran and the kernels vary enough.
    auto = rep.blur == "local" and variation is not None and variation > LOCAL_VARIATION
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


def _kernel_grid(kernels: list[np.ndarray], grid: tuple[int, int], side: int) -> np.ndarray:
    """The kernels of a row-major grid as one image: each cut to ``side``, scaled to its peak,
    framed in gray."""
    cells = [crop_kernel(k, side) / max(float(k.max()), 1e-12) for k in kernels]
    return np.vstack([np.hstack([np.pad(cells[r * grid[1] + c], 1, constant_values=0.35) for c in range(grid[1])]) for r in range(grid[0])])


def _sheet(path: Path, truth: list[np.ndarray], local: list[np.ndarray], uniform: np.ndarray, grid: tuple[int, int]) -> None:
    """Three grids side by side: the true kernels, the local ones, the uniform one in every cell."""

    grids = [_kernel_grid(kernels, grid, SHEET_KERNEL) for kernels in (truth, local, [uniform] * len(truth))]
    gap = np.ones((grids[0].shape[0], 6))
    img = np.hstack([grids[0], gap, grids[1], gap, grids[2]])
    pixels = Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)).resize((img.shape[1] * 3, img.shape[0] * 3), Image.Resampling.NEAREST)
    atomic_write(path, lambda tmp: pixels.save(tmp, format="PNG"))


def run_nonuniform(data: Path, *, out_dir: Path, jobs: int, limit: int | None, quiet: bool) -> list[Row]:
    """Run the bench; print the table and write ``nonuniform.md``, ``nonuniform.csv`` and the kernel
    sheets in ``nonuniform/`` (``nonuniform_firstN`` with a ``limit``)."""
    todo = cases(data)[:limit] if limit else cases(data)
    stem = limited("nonuniform", limit)
    sheets = out_dir / stem
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
        f"Kernel sheets `{stem}/NAME_kernels.png`: true kernels at the cell centres | local kernels as used | the uniform kernel."
    )
    md = write_tables(out_dir, stem, [*rows, mean_row(rows, COLUMNS, "image")], COLUMNS, header)
    if not quiet:
        print(md)
    return rows


#: Real photos: side of the downscaled full frames and of the 1:1 corner crops on a sheet.
REAL_VIEW = 560
REAL_CROP = 300
REAL_COLUMNS = ["photo", "uniform_decision", "decision", "blur", "blur_variation", "trusted_windows", "grid", "local_confidence", "confidence", "seconds"]


def _real_sheet(photo: np.ndarray, out: np.ndarray, kernels: list[np.ndarray], grid: tuple[int, int], caption: str) -> Image.Image:
    """Input and output side by side (whole frame, downscaled), 1:1 crops of two opposite corners
    (where a rolled camera's blur differs most), and the kernel grid as used."""
    to_img = lambda a: Image.fromarray(np.uint8(np.round(255 * np.clip(a, 0, 1)))).convert("RGB")  # noqa: E731
    h, w = photo.shape[:2]
    scale = REAL_VIEW / max(h, w)
    size = (max(int(w * scale), 1), max(int(h * scale), 1))
    frames = [to_img(photo).resize(size, Image.Resampling.LANCZOS), to_img(out).resize(size, Image.Resampling.LANCZOS)]
    c = min(REAL_CROP, h // 2, w // 2)
    corners = [(slice(0, c), slice(0, c)), (slice(h - c, h), slice(w - c, w))]
    crops = [to_img(img[r, s]) for r, s in corners for img in (photo, out)]
    tiles = _kernel_grid(kernels, grid, max(k.shape[0] for k in kernels))
    kimg = to_img(tiles).resize((tiles.shape[1] * 2, tiles.shape[0] * 2), Image.Resampling.NEAREST)
    width = max(2 * size[0] + 10, 4 * (c + 10) + kimg.width)
    sheet = Image.new("RGB", (width, 24 + size[1] + 30 + c + 10), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), caption, fill="black")
    for i, f in enumerate(frames):
        sheet.paste(f, (i * (size[0] + 10), 24))
    y = 24 + size[1] + 24
    for i, (crop, label) in enumerate(zip(crops, ["top-left in", "top-left out", "bottom-right in", "bottom-right out"], strict=True)):
        sheet.paste(crop, (i * (c + 10), y))
        draw.text((i * (c + 10) + 4, y - 14), label, fill="black")
    sheet.paste(kimg, (4 * (c + 10), y))
    return sheet


def _real_one(job: tuple[Path, Path, Path | None]) -> Row:
    path, out_dir, reports = job
    photo = read_image(path)
    start = time.perf_counter()
    result = deblur(photo.pixels, channel_axis=-1 if photo.is_color else None, blur="local")
    seconds = time.perf_counter() - start
    rep = result.report
    before = reports / f"{path.stem}.json" if reports else None
    uniform = json.loads(before.read_text())["decision"] if before and before.exists() else ""
    grid = tuple(rep.local["grid"]) if rep.local else (1, 1)
    if rep.blur == "local":
        caption = f"{path.stem}: local path, {grid[0]}x{grid[1]} windows, {sum(rep.local['trusted'])} with their own kernel, {rep.decision} (was {uniform})"
        sheet = _real_sheet(photo.pixels, result.image, result.local_kernels, grid, caption)
        atomic_write(out_dir / f"{path.stem}_local.jpg", lambda tmp: sheet.save(tmp, format="JPEG", quality=88))
    text = json.dumps(rep.as_dict(), indent=1)
    atomic_write(out_dir / f"{path.stem}.json", lambda tmp: tmp.write_text(text))
    return {
        "photo": f"[{path.stem}](nonuniform_real/{path.stem}_local.jpg)" if rep.blur == "local" else path.stem,
        "uniform_decision": uniform,
        "decision": rep.decision,
        "blur": rep.blur,
        "blur_variation": rep.blur_variation if rep.blur_variation is not None else "",
        "trusted_windows": sum(rep.local["trusted"]) if rep.local else 0,
        "grid": f"{grid[0]}x{grid[1]}",
        "local_confidence": rep.local.get("confidence", ""),
        "confidence": rep.confidence,
        "seconds": seconds,
    }


def run_real_local(data: Path, names: list[str], *, reports: Path | None, out_dir: Path, jobs: int, quiet: bool, limit: int | None = None) -> list[Row]:
    """``--blur local`` on the named photos of real_lai16 (every photo when ``names`` is empty): a
    sheet for each photo the local path changed (``nonuniform_real/NAME_local.jpg``), the reports,
    and ``nonuniform_real.md``, into which a partial run (``names``, ``limit``) merges its rows.
    ``reports`` holds the default run's reports (``docs/bench/real``) for the "was" column."""
    if reports is not None and not reports.is_dir():
        raise ValueError(f"--reports {reports} is not a folder; give the reports of 'gencor bench real' (docs/bench/real)")
    photos = [data / "blurry" / f"{n}.jpg" for n in names] if names else sorted((data / "blurry").glob("*.jpg"))
    if not photos:
        raise ValueError(f"no blurry/*.jpg in {data}; point --real at the real_lai16 folder")
    missing = [p.stem for p in photos if not p.exists()]
    if missing:
        raise ValueError(f"no such photos in {data / 'blurry'}: {', '.join(missing)}")
    photos = photos[:limit] if limit else photos
    old = existing_rows(out_dir, "nonuniform_real", REAL_COLUMNS) if names or limit else []
    folder = out_dir / "nonuniform_real"
    folder.mkdir(parents=True, exist_ok=True)
    rows = merged(old, run_pool(_real_one, [(p, folder, reports) for p in photos], jobs=jobs, quiet=quiet, desc="real, local"))
    taken = [r for r in rows if r["blur"] == "local"]
    header = (
        f"# Real photos with `--blur local`\n\n`gencor bench nonuniform --real` on {platform.machine()}, {len(rows)} photos of real_lai16; "
        f"the local path was taken on {len(taken)} (two windows or more kept kernels of their own); median "
        f"{np.median([r['seconds'] for r in rows]):.0f} s per photo (one worker of {jobs}). Each linked sheet shows the input and output, "
        "1:1 crops of two corners and the kernel grid as used."
    )
    md = write_tables(out_dir, "nonuniform_real", rows, REAL_COLUMNS, header)
    if not quiet:
        print(md)
    return rows
