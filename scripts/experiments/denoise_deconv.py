"""Denoise before the non-blind step? Today's step against a classical denoiser first, with the true
kernel and with the kernel ``deblur`` returns (issue #30, item 4; results in docs/bench/denoise_deconv.md).

Per case and noise level, the PSNR of today's step (``deconvolve`` with ``default_lam`` of the
measured noise) and of variants: the same step with the weight scaled by ``c`` (``none|cX``); a
denoiser first (scikit-image's non-local means, fast mode, ``nlmH|cX``; BM3D from PyPI's ``bm3d``,
free for non-commercial use only, ``bm3dG|cX``), then the step with the weight scaled by ``c`` and the
clipped lights of the noisy photo; with ``--extras`` blends and a denoiser after the step. Settings
are chosen on training photos (BSDS500 train, camera shake up to 75 px, noise, 8 bits, every third
with clipped lights); ``--set noisy`` and ``--set levin`` measure the evaluation benches once. One
JSON line per case, kernel and variant goes to ``--out``; ``--summary`` prints the means of such a
file, with ``--markdown VARIANT ...`` as a table.

    nice -n 10 python scripts/experiments/denoise_deconv.py --n 9 --sigmas 0.01 0.02 --extras --out dd.jsonl
    python scripts/experiments/denoise_deconv.py --summary dd.jsonl --markdown "none|c0.5" "nlm0.3|c0.5"
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.io import loadmat
from skimage.restoration import denoise_nl_means

from gencor.bench.synthetic import Case, make_case, noisy_cases
from gencor.metrics import image_scores
from gencor.noise import estimate_noise
from gencor.tasks.deconv import clipped_pixels, deconvolve, deconvolve_plane, default_lam

DATA = Path("/work/shared/data/train/BSDS500/train")
#: Scales of today's prior weight tried after a denoiser (its output has less noise).
LAM_SCALES = (0.25, 0.35, 0.5, 0.7)
#: ``h`` of non-local means as a multiple of sigma (scikit-image suggests 0.8 in fast mode).
NLM_H = (0.3, 0.4, 0.5)
#: sigma handed to BM3D as a multiple of the measured one.
BM3D_SCALE = (0.35, 0.5)


def nlm(y: np.ndarray, sigma: float, h: float) -> np.ndarray:
    """Non-local means of a gray image with noise ``sigma`` and strength ``h * sigma``."""
    return np.asarray(denoise_nl_means(y, h=h * sigma, sigma=sigma, fast_mode=True, patch_size=5, patch_distance=6))


def bm3d_denoise(y: np.ndarray, sigma: float) -> np.ndarray:
    """BM3D of a gray image (the optional ``bm3d`` package, imported only when asked)."""
    import bm3d

    return np.clip(np.asarray(bm3d.bm3d(y, sigma_psd=sigma)), 0.0, 1.0)


def timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    """``fn()`` and its seconds."""
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def deconv(image: np.ndarray, k: np.ndarray, lam: float, clipped: np.ndarray) -> np.ndarray:
    """``deconvolve`` of a gray image with the clipped lights of the observation (not of ``image``)."""
    return np.clip(deconvolve_plane(image[None], k / k.sum(), lam=lam, clipped=clipped[None])[0], 0.0, 1.0)


def gencor_kernel(case: Case, y: np.ndarray, cache: Path) -> np.ndarray:
    """The kernel ``deblur`` (default options) returns for the case, cached in ``cache``."""
    path = cache / f"{case.name.replace('/', '_')}_{case.sigma}_{case.seed}.npy"
    if not path.exists():
        from gencor.tasks.deblur import deblur

        cache.mkdir(parents=True, exist_ok=True)
        result = deblur(y)
        path.with_suffix(".json").write_text(json.dumps({"decision": result.report.decision}))
        np.save(path, result.kernel)
    return np.load(path)


def gencor_decision(case: Case, cache: Path) -> str:
    """deblur's decision on the case ("" when the cache has none)."""
    path = cache / f"{case.name.replace('/', '_')}_{case.sigma}_{case.seed}.json"
    return str(json.loads(path.read_text())["decision"]) if path.exists() else ""


def load(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sharp, blurred, true kernel)``: a synthetic case, or a Levin image (``source`` a .mat)."""
    if case.source.endswith(".mat"):
        data = loadmat(case.source)
        return data["x"], data["y"], data["f"][::-1, ::-1]
    return make_case(case)


def one(case: Case, grid: argparse.Namespace, cache: Path | None, kernel_only: bool = False) -> list[dict[str, object]]:
    """The rows of one case: every variant with the true kernel, and with deblur's when ``cache``."""
    sharp, y, k_true = load(case)
    kernels = {"true": k_true}
    decision = ""
    if cache is not None:
        kernels["gencor"] = gencor_kernel(case, y, cache)
        decision = gencor_decision(case, cache)
    if kernel_only:
        return []
    s = estimate_noise(y)
    lam0 = default_lam(s)
    clipped = clipped_pixels(y)
    denoised: dict[str, tuple[np.ndarray, float]] = {}
    for h in grid.nlm_h:
        denoised[f"nlm{h}"] = timed(lambda h=h: nlm(y, s, h))
    for g in grid.bm3d:
        denoised[f"bm3d{g}"] = timed(lambda g=g: bm3d_denoise(y, g * s))
    rows: list[dict[str, object]] = []
    for which, k in kernels.items():

        def add(name: str, image: np.ndarray, seconds: float, which: str = which) -> None:
            psnr = image_scores(image, sharp)["psnr"]
            rows.append(dict(case=case.name, sigma=case.sigma, measured=s, kernel=which, decision=decision, variant=name, psnr=psnr, sec=seconds))

        base, t_base = timed(lambda k=k: deconvolve(y, k, lam=lam0, method="hyper-laplacian").image)
        add("base", base, t_base)
        add("blurred", y, 0.0)
        for c in grid.lam_scales:
            out, t = timed(lambda c=c, k=k: deconv(y, k, c * lam0, clipped))
            add(f"none|c{c}", out, t)
        for name, (den, t_den) in denoised.items():
            for c in grid.lam_scales:
                out, t = timed(lambda c=c, k=k, den=den: deconv(den, k, c * lam0, clipped))
                add(f"{name}|c{c}", out, t_den + t)
                if c == 0.5 and grid.extras:
                    add(f"{name}|c{c}|blend", 0.5 * (out + base), t_den + t + t_base)
        for h in (0.5, 1.0) if grid.extras else ():
            post, t = timed(lambda h=h, base=base: nlm(base, s, h))
            add(f"post-nlm{h}", post, t_base + t)
    return rows


def summary(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by: dict[tuple[float, str, str], dict[str, tuple[float, float]]] = defaultdict(dict)
    for r in rows:
        by[(r["sigma"], r.get("kernel", "true"), r["variant"])][r["case"]] = (r["psnr"], r["sec"])
    for sigma, which in sorted({(r["sigma"], r.get("kernel", "true")) for r in rows}):
        base = by[(sigma, which, "base")]
        psnr, sec = np.mean([v[0] for v in base.values()]), np.mean([v[1] for v in base.values()])
        print(f"\nsigma {sigma}, {which} kernel: {len(base)} cases, base {psnr:.2f} dB, {sec:.2f} s")
        table = []
        for (sg, kw, name), vals in by.items():
            if sg != sigma or kw != which or name == "base":
                continue
            d = np.array([vals[c][0] - base[c][0] for c in vals])
            table.append((d.mean(), name, d.min(), np.mean([v[1] for v in vals.values()])))
        for mean, name, worst, sec in sorted(table, reverse=True):
            print(f"  {name:24s} {mean:+.2f} dB (worst {worst:+.2f}) {sec:.2f} s")


def cases(a: argparse.Namespace, sigma: float) -> list[Case]:
    """The cases of ``--set`` at noise ``sigma`` (Levin has its own noise: one pass, ``sigma`` 0)."""
    if a.set == "noisy":
        return noisy_cases(Path("/work/shared/data/test"), seed=a.seed, sigma=sigma)[a.start :][: a.n]
    if a.set == "levin":
        files = sorted(Path("/work/shared/data/levin09").glob("*.mat"))[a.start :][: a.n]
        return [Case(f.stem, str(f), 0, 0.0, 0, 0, "") for f in files]
    files = sorted(a.data.glob("*.jpg"))[a.start :: a.stride][: a.n]
    return [Case(f.stem, str(f), a.seed * 1000 + a.start + i, sigma, 75, 320, "centre", i % 3 == 0) for i, f in enumerate(files)]


def markdown(path: Path, variants: list[str]) -> None:
    """One table row per noise level, kernel and set (the part of the case name before ``/``):
    mean PSNR of the input and of today's step, and each variant's mean gain over today's (worst case)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    psnr = {(r["sigma"], r.get("kernel", "true"), r["variant"], r["case"]): r["psnr"] for r in rows}
    names = sorted({r["case"] for r in rows})
    print("| sigma | kernel | set | cases | input | today's step | " + " | ".join(v.replace("|", ", ") for v in variants) + " |")
    print("|---" * (6 + len(variants)) + "|")
    for sigma, which in sorted({(r["sigma"], r.get("kernel", "true")) for r in rows}, key=lambda t: (t[0], t[1] != "true")):
        groups = [*sorted({n.split("/")[0] for n in names if "/" in n}), "all"]
        for group in groups if len(groups) > 2 else ["all"]:
            cases = [n for n in names if (group == "all" or n.startswith(group + "/")) and (sigma, which, "base", n) in psnr]
            base = np.array([psnr[(sigma, which, "base", n)] for n in cases])
            gains = [np.array([psnr[(sigma, which, v, n)] for n in cases]) - base for v in variants]
            cells = [f"{g.mean():+.2f} ({g.min():+.2f})" for g in gains]
            blurred = np.mean([psnr[(sigma, which, "blurred", n)] for n in cases])
            print(f"| {sigma:g} | {which} | {group} | {len(cases)} | {blurred:.2f} | {base.mean():.2f} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--start", type=int, default=0, help="skip this many photos of the list")
    ap.add_argument("--stride", type=int, default=7)
    ap.add_argument("--sigmas", type=float, nargs="+", default=[0.01, 0.02])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lam-scales", type=float, nargs="+", default=LAM_SCALES)
    ap.add_argument("--nlm-h", type=float, nargs="*", default=NLM_H)
    ap.add_argument("--bm3d", type=float, nargs="*", default=BM3D_SCALE, help="sigma scales of BM3D (none: not run)")
    ap.add_argument("--extras", action="store_true", help="also the blends and the denoisers after the deconvolution")
    ap.add_argument("--gencor-kernels", type=Path, metavar="CACHE", help="deconvolve with deblur's kernel (cached in CACHE), not the true one")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--summary", type=Path)
    ap.add_argument("--markdown", nargs="+", metavar="VARIANT", help="with --summary: a Markdown table of these variants' mean gains")
    ap.add_argument("--set", choices=["train", "noisy", "levin"], default="train", help="training photos, or an evaluation bench (never to tune on)")
    ap.add_argument("--kernels-only", action="store_true", help="only fill the --gencor-kernels cache")
    a = ap.parse_args()
    if a.summary and a.markdown:
        markdown(a.summary, a.markdown)
        return
    if a.summary:
        summary(a.summary)
        return
    with a.out.open("a") as fh:
        for sigma in a.sigmas:
            for case in cases(a, sigma):
                for row in one(case, a, a.gencor_kernels, a.kernels_only):
                    fh.write(json.dumps(row) + "\n")
                fh.flush()
                print(f"{sigma} {case.name} done", flush=True)


if __name__ == "__main__":
    main()
