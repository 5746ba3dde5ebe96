"""``gencor bench denoise``: the denoiser on BSD68 (gray) and Kodak24 (color) against BM3D.

The standard protocol: additive white Gaussian noise at sigma of 255, in floating point (neither
clipped nor quantised), a fixed seed per image; PSNR with peak 1 on the whole image. BM3D is PyPI's
``bm3d`` (free for non-commercial use only, so not a dependency: run with ``--bm3d`` where it is
installed). Times are seconds per image with the threads the machine has.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np
from skimage.metrics import peak_signal_noise_ratio
from tqdm import tqdm

from gencor.bench.common import Row, load_rgb, write_tables
from gencor.layout import to_planes

#: The sets, their folder under the data's ``test/`` and whether they are denoised in color.
SETS = {"BSD68": False, "Kodak24": True}


def _psnr(estimate: np.ndarray, clean: np.ndarray) -> float:
    """PSNR (peak 1) of the whole image, clipped to [0, 1] as an 8-bit output would be."""
    return float(peak_signal_noise_ratio(clean, np.clip(estimate, 0, 1), data_range=1.0))


def _noisy(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    return clean + sigma * np.random.default_rng(seed).standard_normal(clean.shape)


def _bm3d(noisy: np.ndarray, sigma: float, color: bool) -> np.ndarray:
    import bm3d

    if color:
        return np.asarray(bm3d.bm3d_rgb(noisy, sigma))
    return np.asarray(bm3d.bm3d(noisy, sigma_psd=sigma))


def run_denoise(
    data: Path, *, out_dir: Path, sigmas: list[int], sets: list[str], with_bm3d: bool, limit: int | None, quiet: bool, precision: str = "auto"
) -> list[Row]:
    """PSNR and seconds per image of gencor's denoiser (and BM3D) on each set and level; writes
    ``denoiser.md`` and ``denoiser.csv`` (``denoiser_PRECISION`` for a precision other than auto,
    ``..._firstN`` with a ``limit``)."""
    if with_bm3d:
        try:
            import bm3d  # noqa: F401
        except ImportError:
            raise ValueError("--bm3d needs PyPI's bm3d: pip install bm3d (free for non-commercial use only)") from None
    from gencor.models.denoiser import shipped_denoiser

    # Torch and the weights load once, outside the timing (a first call also sets up oneDNN).
    shipped_denoiser(precision)(np.zeros((3, 64, 64), np.float32), 0.1)
    rows: list[Row] = []
    for name in sets:
        if name not in SETS:
            raise ValueError(f"unknown set {name!r}; choose from {', '.join(SETS)}")
        files = sorted(p for p in (data / "test" / name).iterdir() if p.suffix.lower() in (".png", ".jpg", ".tif"))[:limit]
        if not files:
            raise ValueError(f"no images in {data / 'test' / name}; point --data at the shared data folder")
        color = SETS[name]
        for s in sigmas:
            sigma = s / 255
            scores: dict[str, list[float]] = {"input": [], "gencor": [], "bm3d": []}
            seconds: dict[str, float] = {"gencor": 0.0, "bm3d": 0.0}
            for i, f in enumerate(tqdm(files, desc=f"{name} sigma {s}", disable=True if quiet else None)):
                rgb = load_rgb(f)
                clean = rgb if color else rgb @ np.array([0.299, 0.587, 0.114]) if rgb.ndim == 3 else rgb
                noisy = _noisy(clean, sigma, 1000 * s + i)
                scores["input"].append(_psnr(noisy, clean))
                start = time.perf_counter()
                ours = _denoise_unclipped(noisy, sigma, color, precision)
                seconds["gencor"] += time.perf_counter() - start
                scores["gencor"].append(_psnr(ours, clean))
                if with_bm3d:
                    start = time.perf_counter()
                    theirs = _bm3d(noisy, sigma, color)
                    seconds["bm3d"] += time.perf_counter() - start
                    scores["bm3d"].append(_psnr(theirs, clean))
            row: Row = {
                "set": name,
                "sigma_of_255": s,
                "images": len(files),
                "psnr_input": float(np.mean(scores["input"])),
                "psnr_gencor": float(np.mean(scores["gencor"])),
                "seconds_gencor": seconds["gencor"] / len(files),
            }
            if with_bm3d:
                row.update(psnr_bm3d=float(np.mean(scores["bm3d"])), seconds_bm3d=seconds["bm3d"] / len(files))
                row["speedup"] = row["seconds_bm3d"] / row["seconds_gencor"]
            rows.append(row)
    columns = ["set", "sigma_of_255", "images", "psnr_input", "psnr_gencor", "psnr_bm3d", "seconds_gencor", "seconds_bm3d", "speedup"]
    header = (
        f"# Denoising benchmark\n\n`gencor bench denoise{' --bm3d' if with_bm3d else ''}` on {platform.machine()} "
        f"({platform.processor() or 'cpu'}), precision {precision}. Additive Gaussian noise at sigma of 255, not clipped or quantised, "
        "a fixed seed per image; PSNR (dB, peak 1) averaged over the images; BSD68 in gray (Rec. 601 luma), Kodak24 in color. "
        "BM3D: PyPI `bm3d` (`bm3d.bm3d`, `bm3d.bm3d_rgb` for color) given the true sigma; gencor's denoiser given the true sigma too. "
        "Seconds per image, all cores."
    )
    stem = "denoiser" + ("" if precision == "auto" else f"_{precision}") + ("" if limit is None else f"_first{limit}")
    write_tables(out_dir, stem, rows, [c for c in columns if any(c in r for r in rows)], header)
    return rows


def _denoise_unclipped(noisy: np.ndarray, sigma: float, color: bool, precision: str) -> np.ndarray:
    """The shipped network on a noisy image as it is: the protocol does not clip the noise, and
    :func:`gencor.denoise` refuses values outside [0, 1]."""
    from gencor.models.denoiser import shipped_denoiser

    planes = to_planes(noisy).reshape(-1, *noisy.shape[:2]).astype(np.float32)
    out = shipped_denoiser(precision)(planes, sigma)
    return out[0] if not color else np.moveaxis(out, 0, -1)
