"""``gencor bench batch``: throughput of a folder of photos, as a user runs it.

A folder of 20 shaken photos of 0.3 to 1 megapixel is made from scikit-image's sample photos; then
``gencor deblur FOLDER -o OUT/`` runs as a fresh process in one process (``--jobs 1``, whose FFTs
use every core), in two worker processes (``--jobs 2``) and on a Dask ``LocalCluster`` with two
single-threaded workers (``--dask --jobs 2``). Each is timed whole, start-up included. Writes
``batch.md`` and ``batch.csv``.
"""

from __future__ import annotations

import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from gencor.bench.common import Row, write_tables
from gencor.io import atomic_write

#: The folder: how many photos, their sizes (megapixels, spread evenly), shake lengths (px),
#: noise, JPEG quality, seed and the sample photos they are made from (in turn).
PHOTOS = 20
MEGAPIXELS = (0.3, 1.0)
EXTENTS = (9, 21)
SIGMA = 0.01
QUALITY = 92
SEED = 0
SAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina", "camera", "brick", "coins")
#: The three ways to run the folder: name and extra arguments.
MODES: tuple[tuple[str, list[str]], ...] = (
    ("one process (--jobs 1)", []),
    ("2 processes (--jobs 2)", ["--jobs", "2"]),
    ("Dask LocalCluster, 2 workers (--dask --jobs 2)", ["--dask", "--jobs", "2"]),
)
COLUMNS = ["mode", "photos", "wall_s", "photos_per_min", "speed_up", "failed", "same_decisions"]


def make_folder(folder: Path, photos: int = PHOTOS, megapixels: tuple[float, float] = MEGAPIXELS) -> list[Path]:
    """Write the shaken JPEGs; return their paths."""
    from PIL import Image
    from scipy.signal import fftconvolve
    from skimage import data
    from skimage.color import gray2rgb
    from skimage.transform import resize

    from gencor.kernels.trajectory import random_motion_kernel

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    paths = []
    for i, mp in enumerate(np.linspace(*megapixels, photos)):
        img = getattr(data, SAMPLES[i % len(SAMPLES)])()
        rgb = (gray2rgb(img) if img.ndim == 2 else img[..., :3]) / 255.0
        aspect = rgb.shape[1] / rgb.shape[0]
        h = int(round(np.sqrt(mp * 1e6 / aspect)))
        sharp = np.clip(resize(rgb, (h, int(round(h * aspect)), 3), order=3, anti_aliasing=True), 0.0, 1.0)
        extent = float(rng.uniform(*EXTENTS))
        kernel = random_motion_kernel(int(extent) + 6 | 1, rng, extent=extent)
        blurred = np.stack([fftconvolve(sharp[..., c], kernel, mode="same") for c in range(3)], axis=-1)
        blurred += SIGMA * rng.standard_normal(blurred.shape)
        pixels = np.round(np.clip(blurred, 0.0, 1.0) * 255).astype(np.uint8)
        path = folder / f"{i:02d}_{SAMPLES[i % len(SAMPLES)]}.jpg"
        atomic_write(path, partial(Image.fromarray(pixels).save, format="JPEG", quality=QUALITY))
        paths.append(path)
    return paths


def _decisions(report: Path) -> dict[str, tuple[str, str]]:
    with open(report, newline="") as f:
        return {Path(r["input"]).name: (r["status"], r["decision"]) for r in csv.DictReader(f)}


def run_batch_bench(*, out_dir: Path, photos: int = PHOTOS, megapixels: tuple[float, float] = MEGAPIXELS, quiet: bool) -> list[Row]:
    """Time the three modes on the same folder; write ``batch.md`` and ``batch.csv``."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="gencor-batch-") as tmp:
        folder = make_folder(Path(tmp) / "photos", photos, megapixels)[0].parent
        reference: dict[str, tuple[str, str]] | None = None
        for name, extra in MODES:
            out = Path(tmp) / f"out{len(rows)}"
            command = [sys.executable, "-m", "gencor", "deblur", str(folder), "-o", f"{out}/", "--quiet", *extra]
            if not quiet:
                print(f"{name}: {' '.join(command[2:])}", flush=True)
            start = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
            wall = time.perf_counter() - start
            decisions = _decisions(out / "report.csv")
            reference = reference or decisions
            rows.append(
                {
                    "mode": name,
                    "photos": photos,
                    "wall_s": wall,
                    "photos_per_min": 60 * photos / wall,
                    "speed_up": rows[0]["wall_s"] / wall if rows else 1.0,
                    "failed": sum(s == "failed" for s, _ in decisions.values()) if proc.returncode in (0, 1) else f"exit {proc.returncode}",
                    "same_decisions": decisions == reference,
                }
            )
            if not quiet:
                print(f"  {wall:.1f} s, {rows[-1]['photos_per_min']:.2f} photos/min", flush=True)
    sizes = f"{megapixels[0]:g} to {megapixels[1]:g} MP"
    header = (
        f"# Batch throughput\n\n`gencor bench batch` on {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}: "
        f"a folder of {photos} RGB JPEGs of {sizes} made from scikit-image's sample photos (camera shake of "
        f"{EXTENTS[0]} to {EXTENTS[1]} px, noise {SIGMA}, quality {QUALITY}), deblurred with default options by "
        "`gencor deblur FOLDER -o OUT/` as a fresh process, start-up included. One process uses every core (its FFTs, and "
        "threads for the independent estimator families, trial deconvolutions and tiles); "
        "worker processes and Dask workers are single-threaded (one per core). speed_up is against one process; "
        "same_decisions: every photo got the same status and decision as in one process."
    )
    write_tables(out_dir, "batch", rows, COLUMNS, header)
    if not quiet:
        print(header)
    return rows
