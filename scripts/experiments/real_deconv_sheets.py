"""Real photos by eye (issue #31): the final deconvolution by the hyper-Laplacian MAP solve and by the
GCM propagation with the denoiser, with the kernel and weight ``gencor bench real`` chose.

For every photo of a ``gencor bench real`` run (``--run``, the folder with ``NAME.json`` and
``NAME_kernels.npz``) that was deblurred with one kernel, both deconvolutions of the whole photo
are made and a sheet of three crops is written: the input, then the two outputs in a random order
(the key is in ``key.csv``), so that they can be judged blind. Times go to ``key.csv`` too.

    python scripts/experiments/real_deconv_sheets.py --run docs/bench/real --photos ../shared/data/real_lai16/blurry --out /tmp/sheets
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from gencor.io import read_image
from gencor.tasks.deconv import deconvolve

#: The side of the square crop shown (the photo's busiest square of this size, at full resolution).
CROP = 360
CONSERVATIVE = " conservative"


def busiest(gray: np.ndarray, side: int) -> tuple[int, int]:
    """Top-left corner of the ``side`` square with the most gradient energy (on a coarse grid)."""
    g = np.hypot(*np.gradient(gray))
    best, corner = -1.0, (0, 0)
    for i in range(0, max(gray.shape[0] - side, 0) + 1, side // 4):
        for j in range(0, max(gray.shape[1] - side, 0) + 1, side // 4):
            e = float(g[i : i + side, j : j + side].sum())
            if e > best:
                best, corner = e, (i, j)
    return corner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--photos", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    rows = []
    for report in sorted(a.run.glob("*.json")):
        name = report.stem
        if a.only and name not in a.only:
            continue
        info = json.loads(report.read_text())
        if info["decision"] == "unchanged" or info["blur"] != "uniform":
            continue
        candidate = info["candidate"]
        kernel = np.load(a.run / f"{name}_kernels.npz")[candidate.removesuffix(CONSERVATIVE)]
        lam = info["candidates"][candidate]["lam"]
        photo = read_image(a.photos / f"{name}.jpg")
        axis = -1 if photo.is_color else None
        outs, secs = {}, {}
        for method in ("hyper-laplacian", "denoiser"):
            start = time.perf_counter()
            outs[method] = deconvolve(photo.pixels, kernel, lam=lam, channel_axis=axis, method=method).image
            secs[method] = time.perf_counter() - start
        gray = photo.pixels.mean(axis=-1) if photo.is_color else photo.pixels
        i, j = busiest(gray, CROP)
        order = list(rng.permutation(["hyper-laplacian", "denoiser"]))
        panels = [photo.pixels] + [outs[m] for m in order]
        tiles = [Image.fromarray(np.round(np.clip(p[i : i + CROP, j : j + CROP], 0, 1) * 255).astype(np.uint8)) for p in panels]
        sheet = Image.new("RGB", (3 * CROP + 20, CROP + 24), "white")
        draw = ImageDraw.Draw(sheet)
        for n, (tile, label) in enumerate(zip(tiles, ["input", "A", "B"], strict=True)):
            sheet.paste(tile.convert("RGB"), (n * (CROP + 10), 24))
            draw.text((n * (CROP + 10) + 4, 4), f"{name} {label}", fill="black")
        sheet.save(a.out / f"{name}.jpg", quality=92)
        rows.append(
            {
                "photo": name,
                "decision": info["decision"],
                "candidate": candidate,
                "A": order[0],
                "B": order[1],
                **{f"seconds_{m}": round(s, 2) for m, s in secs.items()},
            }
        )
        print(name, rows[-1], flush=True)
    with (a.out / "key.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
