"""``gencor bench inpaint``: Kodak24 (centre 256x256 crops) with 60 % random missing pixels and with
a text overlay (the text mask shipped with ``examples/inpainting``, its densest 256x256 window), plus
the three ``examples/inpainting`` photos with their own masks; against OpenCV's Telea and
Navier-Stokes, OpenCV-contrib's FSR (fast) and scikit-image's biharmonic inpainting.

OpenCV comes from the ``bench`` extra (``pip install gencor[bench]``); gencor itself never needs it.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.restoration import inpaint_biharmonic
from tqdm import tqdm

from gencor.bench.common import Row, load_rgb, markdown_table, mean_row, opencv, save_figure, to_u8, write_tables
from gencor.bench.partial import limited
from gencor.tasks.inpaint import inpaint


def inpainting_methods() -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """Each maps ``(image with holes (H, W, 3) in [0, 1], observed (H, W) bool)`` to a filled image."""
    cv2 = opencv()

    def classic(flag: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        return lambda y, obs: cv2.inpaint(to_u8(y)[..., ::-1], (~obs).astype(np.uint8) * 255, 3, flag)[..., ::-1] / 255.0

    def fsr(y: np.ndarray, obs: np.ndarray) -> np.ndarray:
        out = np.zeros_like(to_u8(y))
        cv2.xphoto.inpaint(to_u8(y)[..., ::-1].copy(), obs.astype(np.uint8) * 255, out, cv2.xphoto.INPAINT_FSR_FAST)
        return out[..., ::-1] / 255.0

    return {
        "gencor (GCM)": lambda y, obs: inpaint(y, obs, channel_axis=-1).image,
        "gencor (Corrector only)": lambda y, obs: inpaint(y, obs, channel_axis=-1, generator="none").image,
        "OpenCV Telea": classic(cv2.INPAINT_TELEA),
        "OpenCV Navier-Stokes": classic(cv2.INPAINT_NS),
        "OpenCV FSR (fast)": fsr,
        "scikit-image biharmonic": lambda y, obs: inpaint_biharmonic(y, ~obs, channel_axis=-1),
    }


def _densest_window(missing: np.ndarray, size: int) -> np.ndarray:
    best, where = -1.0, (0, 0)
    for i in range(0, missing.shape[0] - size + 1, 16):
        for j in range(0, missing.shape[1] - size + 1, 16):
            frac = float(missing[i : i + size, j : j + size].mean())
            if frac > best:
                best, where = frac, (i, j)
    return missing[where[0] : where[0] + size, where[1] : where[1] + size]


def inpainting_cases(data: Path, *, seed: int, size: int = 256) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """``(name, mask kind, clean image, observed)`` for every case of the benchmark."""
    kodak = sorted((data / "test" / "Kodak24").glob("*.png"))
    examples = data / "examples" / "inpainting"
    if not kodak or not (examples / "kate_mask.png").exists():
        raise ValueError(f"need {data}/test/Kodak24 and {data}/examples/inpainting; point --data at the shared data folder")
    with Image.open(examples / "kate_mask.png") as im:
        text = _densest_window(np.asarray(im.convert("L")) < 128, size)
    rng = np.random.default_rng(seed)
    cases = []
    for f in kodak:
        img = load_rgb(f)
        top, left = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
        crop = img[top : top + size, left : left + size]
        cases.append((f.stem, "random 60%", crop, rng.uniform(size=(size, size)) >= 0.6))
        cases.append((f.stem, "text", crop, ~text))
    for f in sorted(examples.glob("*_mask.png")):
        with Image.open(f) as im:
            observed = np.asarray(im.convert("L")) >= 128
        cases.append((f.stem.removesuffix("_mask"), "own mask", load_rgb(f.with_name(f.stem.removesuffix("_mask") + ".png")), observed))
    return cases


def run_inpaint(data: Path, *, out_dir: Path, seed: int, limit: int | None, quiet: bool) -> dict[str, dict[str, float]]:
    """Write ``inpaint.md``, ``inpaint.csv`` and ``inpaint_examples.png`` (``inpaint_firstN`` with a
    ``limit``); return mean scores."""
    methods = inpainting_methods()
    cases = inpainting_cases(data, seed=seed)
    if limit:
        cases = cases[: 2 * limit]
    rows: list[Row] = []
    figure_cases: dict[str, dict[str, np.ndarray]] = {}
    for name, kind, clean, observed in tqdm(cases, desc="inpaint", disable=True if quiet else None):
        holes = clean * observed[..., None]
        for method, run in methods.items():
            start = time.perf_counter()
            out = np.clip(run(holes, observed), 0, 1)
            seconds = time.perf_counter() - start
            rows.append(
                {
                    "image": name,
                    "mask": kind,
                    "method": method,
                    "missing": float(1 - observed.mean()),
                    "psnr": float(peak_signal_noise_ratio(clean, out, data_range=1.0)),
                    "ssim": float(structural_similarity(clean, out, channel_axis=-1, data_range=1.0)),
                    "seconds": seconds,
                }
            )
            if name == cases[0][0] or (kind == "own mask" and name == "kate"):
                figure_cases.setdefault(f"{name}, {kind}", {"input": holes})[method] = out
    summary: list[Row] = []
    means: dict[str, dict[str, float]] = {}
    for kind in dict.fromkeys(r["mask"] for r in rows):
        for method in methods:
            sel = [r for r in rows if r["mask"] == kind and r["method"] == method]
            m = mean_row(sel, ["psnr", "ssim", "seconds", "missing"], "method")
            summary.append({"mask": kind, "method": method, "images": len(sel), **{k: m[k] for k in ("missing", "psnr", "ssim", "seconds")}})
            means[f"{kind} / {method}"] = {k: m[k] for k in ("psnr", "ssim", "seconds")}
    margins = []
    for kind in ("random 60%", "text"):
        ours = means.get(f"{kind} / gencor (GCM)")
        others = [v["psnr"] for k, v in means.items() if k.startswith(kind) and "gencor" not in k]
        if ours and others:
            margins.append(f"{kind}: GCM {ours['psnr'] - max(others):+.2f} dB over the best other tool")
    header = (
        f"# Inpainting benchmark\n\n`gencor bench inpaint --seed {seed}` on {platform.machine()} ({platform.processor() or 'cpu'}), "
        "one process. Kodak24: centre 256x256 crops, color; 'random 60%' drops 60 % of the pixels at random (seeded), "
        "'text' is the densest 256x256 window of `examples/inpainting/kate_mask.png`; 'own mask' are the three "
        "`examples/inpainting` photos at full size with their masks. PSNR and SSIM over the whole image; seconds per image.\n\n"
        + "; ".join(margins)
        + "\n\n## Means\n\n"
        + markdown_table(summary, ["mask", "method", "images", "missing", "psnr", "ssim", "seconds"])
        + "\n## Every image"
    )
    stem = limited("inpaint", limit)
    md = write_tables(out_dir, stem, rows, ["image", "mask", "method", "missing", "psnr", "ssim", "seconds"], header)
    _inpaint_figure(figure_cases, out_dir / f"{stem}_examples.png")
    print(md.split("## Every image")[0])
    return means


def _inpaint_figure(cases: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    cols = max(len(v) for v in cases.values())
    fig = Figure(figsize=(2.4 * cols, 2.6 * len(cases)))
    axes = fig.subplots(len(cases), cols, squeeze=False)
    for ax_row, (title, panels) in zip(axes, cases.items(), strict=True):
        for ax, (name, img) in zip(ax_row, panels.items(), strict=False):
            ax.imshow(np.clip(img, 0, 1))
            ax.set_title(f"{title}\n{name}" if name == "input" else name, fontsize=7)
        for ax in ax_row:
            ax.axis("off")
    fig.tight_layout()
    save_figure(path, fig)
