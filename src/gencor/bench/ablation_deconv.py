"""``gencor bench ablation --parts deconv``: the Generator of the final deconvolution, with weight.

With the true kernel, on the noisy set (each level) and on Levin: the GCM propagation with
gencor's denoiser as the Generator (:func:`gencor.tasks.deconv_gcm.deconvolve_gcm`), the same
propagation with the identity Generator (Corrector only: the warm start is the proposal), the
denoiser without the Corrector (Generator only: plain plug-and-play splitting), and today's
hyper-Laplacian MAP solve. Same ``Psi``, schedule and stages for the three propagations; the
share of proposals the Corrector kept, and ``Psi`` never rising, are checked on every case. As in
:func:`gencor.deconvolve`, the weighted MAP solve answers near clipped lights.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
from scipy.io import loadmat

from gencor.bench.common import Row, run_pool, write_csv, write_markdown
from gencor.bench.partial import limited
from gencor.bench.synthetic import Case, make_case, noisy_cases
from gencor.metrics import image_scores
from gencor.noise import estimate_noise
from gencor.propagation.gcm import PropagationResult
from gencor.tasks.deconv import NOISE_GAIN, clipped_pixels, deconvolve, deconvolve_plane, default_lam
from gencor.tasks.deconv_gcm import Denoise, deconvolve_gcm

VARIANTS = ("GCM", "Corrector only", "Generator only", "hyper-Laplacian MAP")


def _identity(stack: np.ndarray, sigma: float) -> np.ndarray:
    return stack


def _mean_kept(rows: list[Row]) -> float | str:
    """The mean share of kept proposals over the cases where the propagation ran ("" if none: on
    photos whose clipped lights cover the frame, the MAP solve answers)."""
    kept = [r["accepted"] for r in rows if r["accepted"] != ""]
    return float(np.mean(kept)) if kept else ""


def _case_row(job: tuple[str, Case | Path]) -> list[Row]:
    """Every variant on one case, with the true kernel."""
    from gencor.models.denoiser import shipped_denoiser

    kind, case = job
    if isinstance(case, Path):
        data = loadmat(case)
        sharp, y, kernel, name, sigma_set = data["x"], data["y"], data["f"][::-1, ::-1], case.stem, 0.0
    else:
        sharp, y, kernel = make_case(case)
        name, sigma_set = case.name, case.sigma
    lam = default_lam(estimate_noise(y))
    level = float(np.sqrt(lam / NOISE_GAIN))
    clipped = clipped_pixels(y)[None]
    rows = []
    for variant in VARIANTS:
        accepted: float | str
        if variant == "hyper-Laplacian MAP":
            out, accepted, rising = deconvolve(y, kernel, lam=lam, method="hyper-laplacian").image, "", False
        else:
            denoise = _identity if variant == "Corrector only" else shipped_denoiser()
            runs: list[PropagationResult] = []

            def away(
                planes: np.ndarray, denoise: Denoise = denoise, corrector: bool = variant != "Generator only", runs: list[PropagationResult] = runs
            ) -> np.ndarray:
                out, run = deconvolve_gcm(planes, kernel, denoise, sigma=level, corrector=corrector)
                runs.append(run)
                return out

            # As deconvolve(method="denoiser"): the weighted MAP solve answers near clipped lights.
            out = np.clip(deconvolve_plane(y[None], kernel, lam=lam, clipped=clipped, away=away)[0], 0, 1)
            accepted = float(np.mean([a for r in runs for a in r.accepted])) if variant == "GCM" and runs else ""
            rising = variant != "Generator only" and any(bool(np.any(np.diff(r.psi) > 1e-9 * abs(r.psi[0]))) for r in runs)
        rows.append(
            {
                "set": kind,
                "sigma": sigma_set,
                "image": name,
                "variant": variant,
                "psnr": image_scores(out, sharp)["psnr"],
                "accepted": accepted,
                "psi_rose": rising,
            }
        )
    return rows


def run_deconv_ablation(
    test_dir: Path, levin_dir: Path | None, *, out_dir: Path, sigmas: tuple[float, ...], jobs: int, limit: int | None, quiet: bool
) -> list[Row]:
    """``ablation_deconv.md`` (means per set and variant) and ``ablation_deconv.csv`` (every case)."""
    stem = limited("ablation_deconv", limit)
    jobs_list: list[tuple[str, Case | Path]] = [(f"noisy {s:g}", c) for s in sigmas for c in noisy_cases(test_dir, seed=0, sigma=s)[:limit]]
    if levin_dir is not None:
        files = sorted(levin_dir.glob("*.mat"))[:limit]
        if not files:
            raise ValueError(f"no .mat files in {levin_dir}; point --data at the levin09 folder")
        jobs_list += [("Levin", f) for f in files]
    rows = [r for case_rows in run_pool(_case_row, jobs_list, jobs=jobs, quiet=quiet, desc="ablation deconv") for r in case_rows]
    table = []
    for kind in dict.fromkeys(r["set"] for r in rows):
        at = [r for r in rows if r["set"] == kind]
        base = {r["image"]: r["psnr"] for r in at if r["variant"] == "Corrector only"}
        for variant in VARIANTS:
            sel = [r for r in at if r["variant"] == variant]
            over = np.array([r["psnr"] - base[r["image"]] for r in sel])
            table.append(
                {
                    "set": kind,
                    "variant": variant,
                    "images": len(sel),
                    "mean_psnr": float(np.mean([r["psnr"] for r in sel])),
                    "gain_over_corrector_only_db": float(over.mean()),
                    "worst_db": float(over.min()),
                    "proposals_kept": _mean_kept(sel) if variant == "GCM" else "",
                    "psi_rose": sum(r["psi_rose"] for r in sel),
                }
            )
    header = (
        f"# Ablation of the final deconvolution's Generator\n\n`gencor bench ablation --parts deconv --jobs {jobs}` on {platform.machine()}: "
        "the true kernel; the noisy set (Set12 and Kodak24 in gray, camera shake up to 75 px, every third photo with clipped lights, 8 bit) "
        "and Levin's 32 images. GCM: the denoiser as the Generator, checked by the Corrector on Psi; Corrector only: the identity Generator "
        "(same Psi, schedule and stages); Generator only: the denoiser without the Corrector (plug-and-play splitting); the hyper-Laplacian "
        "MAP solve (`deconvolve`'s default before #31). proposals_kept: the share of the Generator's proposals the Corrector accepted; "
        f"psi_rose: cases where Psi rose at a stage (must be 0 where a Corrector runs). PSNR after Levin's shift alignment. Every case: `{stem}.csv`."
    )
    columns = ["set", "variant", "images", "mean_psnr", "gain_over_corrector_only_db", "worst_db", "proposals_kept", "psi_rose"]
    md = write_markdown(out_dir, stem, table, columns, header)
    write_csv(out_dir, stem, rows, ["set", "sigma", "image", "variant", "psnr", "accepted", "psi_rose"])
    if not quiet:
        print(md)
    return table
