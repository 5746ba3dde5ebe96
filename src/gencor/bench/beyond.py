"""Benchmarks of the tasks beyond deblurring, against the tools people use today.

* ``gencor bench inpaint``: Kodak24 (centre 256x256 crops) with 60 % random missing pixels and with
  a text overlay (the text mask shipped with ``examples/inpainting``, its densest 256x256 window),
  plus the three ``examples/inpainting`` photos with their own masks; against OpenCV's Telea and
  Navier-Stokes, OpenCV-contrib's FSR (fast) and scikit-image's biharmonic inpainting.
* ``gencor bench smooth``: L0 smoothing against ``cv2.ximgproc.l0Smooth`` at the same ``lam``:
  the objective reached, the time, and a side-by-side figure on ``examples/rtv``.
* ``gencor bench sketch``: a figure: sketch of the raw photo, of the smoothed photo, and
  ``cv2.pencilSketch``.

OpenCV comes from the ``bench`` extra (``pip install gencor[bench]``); gencor itself never needs it.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure
import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.restoration import inpaint_biharmonic
from tqdm import tqdm

from gencor.bench.common import Row, markdown_table, mean_row, write_tables
from gencor.io import atomic_write
from gencor.tasks.inpaint import inpaint
from gencor.tasks.sketch import sketch
from gencor.tasks.smooth import l0_objective, smooth


def _cv2():  # type: ignore[no-untyped-def]
    try:
        import cv2
    except ImportError:
        raise ValueError("this benchmark compares against OpenCV: pip install 'gencor[bench]' (opencv-contrib-python-headless)") from None
    return cv2


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=float) / 255.0


def _u8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def _save_png(path: Path, fig: Figure) -> None:
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=60, format="png"))


# --- inpainting ----------------------------------------------------------------------------------


def inpainting_methods() -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """Each maps ``(image with holes (H, W, 3) in [0, 1], observed (H, W) bool)`` to a filled image."""
    cv2 = _cv2()

    def opencv(flag: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        return lambda y, obs: cv2.inpaint(_u8(y)[..., ::-1], (~obs).astype(np.uint8) * 255, 3, flag)[..., ::-1] / 255.0

    def fsr(y: np.ndarray, obs: np.ndarray) -> np.ndarray:
        out = np.zeros_like(_u8(y))
        cv2.xphoto.inpaint(_u8(y)[..., ::-1].copy(), obs.astype(np.uint8) * 255, out, cv2.xphoto.INPAINT_FSR_FAST)
        return out[..., ::-1] / 255.0

    return {
        "gencor (GCM)": lambda y, obs: inpaint(y, obs, channel_axis=-1).image,
        "gencor (Corrector only)": lambda y, obs: inpaint(y, obs, channel_axis=-1, generator="none").image,
        "OpenCV Telea": opencv(cv2.INPAINT_TELEA),
        "OpenCV Navier-Stokes": opencv(cv2.INPAINT_NS),
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
        img = _load(f)
        top, left = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
        crop = img[top : top + size, left : left + size]
        cases.append((f.stem, "random 60%", crop, rng.uniform(size=(size, size)) >= 0.6))
        cases.append((f.stem, "text", crop, ~text))
    for f in sorted(examples.glob("*_mask.png")):
        with Image.open(f) as im:
            observed = np.asarray(im.convert("L")) >= 128
        cases.append((f.stem.removesuffix("_mask"), "own mask", _load(f.with_name(f.stem.removesuffix("_mask") + ".png")), observed))
    return cases


def run_inpaint(data: Path, *, out_dir: Path, seed: int, limit: int | None, quiet: bool) -> dict[str, dict[str, float]]:
    """Write ``inpaint.md``, ``inpaint.csv`` and ``inpaint_examples.png``; return mean scores."""
    methods = inpainting_methods()
    cases = inpainting_cases(data, seed=seed)
    if limit:
        cases = cases[: 2 * limit]
    rows: list[Row] = []
    figure_cases: dict[str, dict[str, np.ndarray]] = {}
    for name, kind, clean, observed in tqdm(cases, desc="inpaint", disable=quiet):
        holes = clean * observed[..., None]
        for method, run in methods.items():
            start = time.perf_counter()
            out = np.clip(run(holes, observed), 0, 1)
            seconds = time.perf_counter() - start
            rows.append({
                "image": name,
                "mask": kind,
                "method": method,
                "missing": float(1 - observed.mean()),
                "psnr": float(peak_signal_noise_ratio(clean, out, data_range=1.0)),
                "ssim": float(structural_similarity(clean, out, channel_axis=-1, data_range=1.0)),
                "seconds": seconds,
            })
            if name == cases[0][0] or kind == "own mask" and name == "kate":
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
    md = write_tables(out_dir, "inpaint", rows, ["image", "mask", "method", "missing", "psnr", "ssim", "seconds"], header)
    _inpaint_figure(figure_cases, out_dir / "inpaint_examples.png")
    print(md.split("## Every image")[0])
    return means


def _inpaint_figure(cases: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    cols = max(len(v) for v in cases.values())
    fig = Figure(figsize=(2.4 * cols, 2.6 * len(cases)))
    axes = fig.subplots(len(cases), cols, squeeze=False)
    for ax_row, (title, panels) in zip(axes, cases.items()):
        for ax, (name, img) in zip(ax_row, panels.items()):
            ax.imshow(np.clip(img, 0, 1))
            ax.set_title(f"{title}\n{name}" if name == "input" else name, fontsize=7)
        for ax in ax_row:
            ax.axis("off")
    fig.tight_layout()
    _save_png(path, fig)


# --- smoothing -----------------------------------------------------------------------------------


def run_smooth(data: Path, *, out_dir: Path, lam: float, quiet: bool) -> list[Row]:
    """Objective and time of gencor's L0 smoothing and OpenCV's ``l0Smooth`` on ``examples/rtv``,
    plus a 512x512 color timing; writes ``smooth.md``, ``smooth.csv``, ``smooth_examples.png``."""
    cv2 = _cv2()
    files = sorted((data / "examples" / "rtv").glob("*.jpg"))
    if not files:
        raise ValueError(f"no JPEG images in {data}/examples/rtv; point --data at the shared data folder")
    rows: list[Row] = []
    panels = []
    for f in tqdm(files, desc="smooth", disable=quiet):
        img = _load(f)
        crops = [(f.stem, img)] + ([(f"{f.stem} 512x512", img[:512, :512])] if min(img.shape[:2]) >= 512 else [])
        for name, crop in crops:
            start = time.perf_counter()
            ours = smooth(crop, lam=lam, channel_axis=-1).image
            t_ours = time.perf_counter() - start
            start = time.perf_counter()
            more = smooth(crop, lam=lam, channel_axis=-1, stages=4).image
            t_more = time.perf_counter() - start
            start = time.perf_counter()
            theirs = cv2.ximgproc.l0Smooth(crop.astype(np.float32), None, lam, 2.0).astype(float)
            t_theirs = time.perf_counter() - start
            psi_ours = l0_objective(ours, crop, lam, channel_axis=-1)
            psi_theirs = l0_objective(theirs, crop, lam, channel_axis=-1)
            psi_more = l0_objective(more, crop, lam, channel_axis=-1)
            rows.append({
                "image": name,
                "size": f"{crop.shape[1]}x{crop.shape[0]}",
                "psi_gencor": psi_ours,
                "psi_gencor_4_stages": psi_more,
                "psi_opencv": psi_theirs,
                "ratio": psi_ours / psi_theirs,
                "ratio_4_stages": psi_more / psi_theirs,
                "seconds_gencor": t_ours,
                "seconds_gencor_4_stages": t_more,
                "seconds_opencv": t_theirs,
            })
            if crop is img:
                panels.append((f.stem, crop, ours, theirs))
    header = (
        f"# L0 smoothing benchmark\n\n`gencor bench smooth --lam {lam}` on {platform.machine()} ({platform.processor() or 'cpu'}); "
        "psi = ||x - y||^2 + lam * #(pixels whose color gradient exceeds 1/512), the objective of Xu et al. 2011 "
        "measured the same way on both outputs (lower is better); OpenCV's `ximgproc.l0Smooth` with kappa = 2, "
        "the same ladder as ours. gencor's default is one Generator-Corrector stage per beta; the "
        "`4_stages` columns are `stages=4`. ratio = gencor's psi / OpenCV's. Seconds of one call, all cores "
        "available to both.\n\n"
        f"gencor reaches the lower psi on {sum(r['ratio'] < 1 for r in rows)} of {len(rows)} "
        f"(with 4 stages: {sum(r['ratio_4_stages'] < 1 for r in rows)} of {len(rows)})."
    )
    columns = ["image", "size", "psi_gencor", "psi_gencor_4_stages", "psi_opencv", "ratio", "ratio_4_stages", "seconds_gencor", "seconds_gencor_4_stages", "seconds_opencv"]
    md = write_tables(out_dir, "smooth", rows, columns, header)
    fig = Figure(figsize=(9, 3.0 * len(panels)))
    axes = fig.subplots(len(panels), 3, squeeze=False)
    for ax_row, (name, img, ours, theirs) in zip(axes, panels):
        for ax, (title, im) in zip(ax_row, (("input", img), (f"gencor smooth, lam {lam}", ours), (f"cv2.ximgproc.l0Smooth, lam {lam}", theirs))):
            ax.imshow(np.clip(im, 0, 1))
            ax.set_title(f"{name}: {title}", fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    _save_png(out_dir / "smooth_examples.png", fig)
    print(md)
    return rows


# --- sketch --------------------------------------------------------------------------------------


def run_sketch(data: Path, *, out_dir: Path, quiet: bool) -> None:
    """Figure ``sketch_examples.png``: raw-photo sketch, smoothed-photo sketch, ``cv2.pencilSketch``."""
    cv2 = _cv2()
    files = sorted((data / "examples" / "rtv").glob("*.jpg"))[:2] + sorted((data / "test" / "Kodak24").glob("*.png"))[:2]
    if not files:
        raise ValueError(f"no example photos under {data}; point --data at the shared data folder")
    fig = Figure(figsize=(12, 3.1 * len(files)))
    axes = fig.subplots(len(files), 4, squeeze=False)
    for ax_row, f in zip(axes, tqdm(files, desc="sketch", disable=quiet)):
        img = _load(f)
        raw = sketch(img, channel_axis=-1, smoothing=None)
        smoothed = sketch(img, channel_axis=-1)
        gray_cv, _ = cv2.pencilSketch(_u8(img)[..., ::-1].copy(), sigma_s=60, sigma_r=0.07, shade_factor=0.05)
        for ax, (title, im) in zip(ax_row, (("photo", img), ("gencor sketch, raw photo", raw), ("gencor sketch, L0-smoothed photo", smoothed), ("cv2.pencilSketch", gray_cv / 255.0))):
            ax.imshow(np.clip(im, 0, 1), cmap="gray" if im.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_title(f"{f.stem}: {title}", fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    _save_png(out_dir / "sketch_examples.png", fig)
    print(f"wrote {out_dir / 'sketch_examples.png'}")
