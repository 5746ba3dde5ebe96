"""``gencor bench real``: every photo of Lai et al.'s real camera-shake set, with default options.

There is no ground truth, so the bench makes a contact sheet per photo for a person to judge
(input and output crops, the kernel, the published kernel estimate where there is one, the chosen
size, the confidence and the decision) and an index table. The published estimates are not ground
truth; their extent is a guide for the automatic kernel size.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from gencor.assess import kernel_similarity
from gencor.bench.common import Row, run_pool, write_tables
from gencor.bench.partial import existing_rows, merged
from gencor.io import atomic_write, read_image
from gencor.kernels.size import kernel_extent
from gencor.layout import luminance
from gencor.tasks.deblur import DeblurResult, best_window, deblur
from gencor.tasks.deconv import deconvolve

COLUMNS = [
    "photo",
    "width",
    "height",
    "kernel_size",
    "kernel_extent",
    "published_extent",
    "published_similarity",
    "noise_sigma",
    "confidence",
    "decision",
    "candidate",
    "seconds",
]
#: Side of the crops shown on a contact sheet, and the zoom of the kernel previews.
CROP = 360
KERNEL_VIEW = 160


def _published(folder: Path, stem: str) -> np.ndarray | None:
    files = sorted((folder / "kernel_estimates").glob(f"{stem}_*_psf.png"))
    if not files:
        return None
    with Image.open(files[0]) as im:
        k = np.asarray(im, dtype=float)
    k = k[..., 0] if k.ndim == 3 else k
    return k / k.sum()


def _kernel_tile(k: np.ndarray | None, label: str) -> Image.Image:
    tile = Image.new("RGB", (KERNEL_VIEW, KERNEL_VIEW + 16), "black")
    if k is not None:
        img = Image.fromarray(np.uint8(255 * k / k.max())).resize((KERNEL_VIEW, KERNEL_VIEW), Image.Resampling.NEAREST)
        tile.paste(img.convert("RGB"), (0, 16))
    ImageDraw.Draw(tile).text((4, 2), label, fill="white")
    return tile


def contact_sheet(
    blurred: np.ndarray, sharp: np.ndarray, kernel: np.ndarray, published: np.ndarray | None, caption: str, rejected: np.ndarray | None = None
) -> Image.Image:
    """Input and output crops (the most detailed window) side by side, kernels and a caption;
    for a photo returned unchanged, also the best candidate that was not trusted."""
    gray = luminance(blurred)
    rows, cols = best_window(gray, CROP)
    to8 = lambda a: Image.fromarray(np.uint8(np.round(255 * np.clip(a[rows, cols], 0, 1)))).convert("RGB")  # noqa: E731
    crops = [("input", to8(blurred)), ("output", to8(sharp))]
    if rejected is not None:
        crops.append(("best candidate, not trusted", to8(rejected)))
    cw = crops[0][1].width
    x_kernel = len(crops) * (cw + 10)
    sheet = Image.new("RGB", (x_kernel + KERNEL_VIEW + 10, max(crops[0][1].height, 2 * (KERNEL_VIEW + 16) + 10) + 40), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, crop) in enumerate(crops):
        sheet.paste(crop, (i * (cw + 10), 40))
        draw.text((i * (cw + 10) + 4, 22), label, fill="black")
    sheet.paste(_kernel_tile(kernel, f"ours {kernel.shape[0]} px"), (x_kernel, 40))
    sheet.paste(_kernel_tile(published, "published" if published is not None else "no published"), (x_kernel, 40 + KERNEL_VIEW + 26))
    draw.text((4, 4), caption, fill="black")
    return sheet


def candidate_sheet(blurred: np.ndarray, result: DeblurResult, caption: str) -> Image.Image:
    """Every candidate of a deblurring applied to the most detailed window, beside the input: what
    a person judges to label the candidates (``docs/bench/real_labels.csv``, the real-photo labels
    of ``gencor bench calibrate --real-labels``).

    Only the window (plus a margin of two kernel sizes, so no border effect reaches it) is
    deconvolved: six full-photo deconvolutions would triple the bench's time."""
    gray = luminance(blurred)
    rows, cols = best_window(gray, CROP)
    margin = 2 * max(k.shape[0] for k in result.candidates.values())
    top, left = max(rows.start - margin, 0), max(cols.start - margin, 0)
    region = blurred[top : rows.stop + margin, left : cols.stop + margin]
    inner = (slice(rows.start - top, rows.stop - top), slice(cols.start - left, cols.stop - left))
    to8 = lambda a: Image.fromarray(np.uint8(np.round(255 * np.clip(a[inner], 0, 1)))).convert("RGB")  # noqa: E731
    color = -1 if blurred.ndim == 3 else None
    tiles = [("input", to8(region))]
    for name, kernel in result.candidates.items():
        out = deconvolve(region, kernel, lam=result.report.candidates[name]["lam"], channel_axis=color, method="hyper-laplacian").image
        # No confidence on the tile: the person labelling should not see what the model thinks.
        tiles.append((f"{name} ({kernel.shape[0]} px)", to8(out)))
    cw, ch = tiles[0][1].size
    per_row = 4
    n_rows = -(-len(tiles) // per_row)
    sheet = Image.new("RGB", (per_row * (cw + 10), n_rows * (ch + 24) + 24), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), caption, fill="black")
    for i, (label, tile) in enumerate(tiles):
        x, y = (i % per_row) * (cw + 10), 24 + (i // per_row) * (ch + 24)
        draw.text((x + 4, y + 4), label, fill="black")
        sheet.paste(tile, (x, y + 20))
    return sheet


def _one(job: tuple[Path, Path]) -> Row:
    path, out_dir = job
    photo = read_image(path)
    start = time.perf_counter()
    result = deblur(photo.pixels, channel_axis=-1 if photo.is_color else None)
    seconds = time.perf_counter() - start
    rep = result.report
    published = _published(path.parent.parent, path.stem)
    caption = f"{path.stem}: kernel {rep.kernel_size} px, confidence {rep.confidence:.2f}, {rep.decision} ({rep.candidate}), noise {rep.noise_sigma:.4f}"
    rejected = None
    if rep.decision == "unchanged":
        lam = rep.candidates[rep.candidate]["lam"]
        rejected = deconvolve(photo.pixels, result.kernel, lam=lam, channel_axis=-1 if photo.is_color else None, method="hyper-laplacian").image
    sheet = contact_sheet(photo.pixels, result.image, result.kernel, published, caption, rejected)
    # "_sheet" keeps the sheets apart from the photos themselves (they share the stem).
    target = out_dir / "real" / f"{path.stem}_sheet.jpg"
    atomic_write(target, lambda tmp: sheet.save(tmp, format="JPEG", quality=85))
    every = candidate_sheet(photo.pixels, result, path.stem)
    atomic_write(out_dir / "real" / f"{path.stem}_candidates.jpg", lambda tmp: every.save(tmp, format="JPEG", quality=90))
    # The report, with each candidate's similarity to the published estimate: what
    # ``gencor bench calibrate --real`` adds to the confidence fit.
    record = rep.as_dict()
    if published is not None:
        for name, kernel in result.candidates.items():
            record["candidates"][name]["published_similarity"] = kernel_similarity(kernel, published)
    # Every candidate kernel, so that new evidence can be measured on these photos without
    # estimating the kernels again (the labels by eye judge exactly these kernels).
    kernels: dict[str, Any] = {name: k.astype(np.float32) for name, k in result.candidates.items() if not name.endswith("conservative")}
    atomic_write(out_dir / "real" / f"{path.stem}_kernels.npz", lambda tmp: np.savez_compressed(tmp, **kernels))
    text = json.dumps(record, indent=1)
    atomic_write(out_dir / "real" / f"{path.stem}.json", lambda tmp: tmp.write_text(text))
    return {
        "photo": f"[{path.stem}](real/{path.stem}_sheet.jpg)",
        "width": photo.pixels.shape[1],
        "height": photo.pixels.shape[0],
        "kernel_size": rep.kernel_size,
        "kernel_extent": kernel_extent(result.kernel),
        "published_extent": kernel_extent(published) if published is not None else "",
        "published_similarity": kernel_similarity(result.kernel, published) if published is not None else "",
        "noise_sigma": rep.noise_sigma,
        "confidence": rep.confidence,
        "decision": rep.decision,
        "candidate": rep.candidate,
        "seconds": seconds,
    }


def run_real(data: Path, *, out_dir: Path, jobs: int, limit: int | None, quiet: bool, only: list[str] | None = None) -> list[Row]:
    """Deblur the photos; write their sheets and reports to ``out_dir/real/`` and the index
    ``real_index.md``/``.csv``, into which a partial run (``only``, ``limit``) merges its rows."""
    photos = sorted((data / "blurry").glob("*.jpg"))
    if not photos:
        raise ValueError(f"no blurry/*.jpg in {data}; point --data at the real_lai16 folder")
    if only:
        missing = sorted(set(only) - {p.stem for p in photos})
        if missing:
            raise ValueError(f"no such photos in {data / 'blurry'}: {', '.join(missing)}")
        photos = [p for p in photos if p.stem in set(only)]
    photos = photos[:limit] if limit else photos
    # A partial run re-runs its photos: their rows replace theirs in the index, the others stay.
    old = existing_rows(out_dir, "real_index", COLUMNS) if only or limit else []
    (out_dir / "real").mkdir(parents=True, exist_ok=True)
    rows = merged(old, run_pool(_one, [(p, out_dir) for p in photos], jobs=jobs, quiet=quiet, desc="real"))
    n_unchanged = sum(r["decision"] == "unchanged" for r in rows)
    header = (
        f"# Real camera-shake photos (Lai et al. 2016), default options\n\n`gencor bench real` on {platform.machine()}, "
        f"{len(rows)} photos: {len(rows) - n_unchanged} deblurred, {n_unchanged} returned unchanged; "
        f"median {np.median([r['seconds'] for r in rows]):.1f} s per photo (one worker of {jobs}). "
        "Each name links to its contact sheet (input, output, our kernel, the published estimate). "
        "The judgement by eye is in `real.md`."
    )
    md = write_tables(out_dir, "real_index", rows, COLUMNS, header)
    if not quiet:
        print(md)
    return rows
