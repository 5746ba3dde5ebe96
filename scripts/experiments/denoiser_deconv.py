"""Where does the denoiser go in the final deconvolution? (issue #31, item 2)

Per case and noise level, the PSNR of today's step (``deconvolve``, hyper-Laplacian, weight
``default_lam`` of the measured noise) and of variants with gencor's denoiser (``--weights``) or
BM3D (``--bm3d``, PyPI ``bm3d``, non-commercial licence):

- ``none|cX``: today's step with the weight scaled by ``X`` (no denoiser; the reference of #30);
- ``NET|cX``: the photo denoised at the measured level, then today's step with ``X`` times the weight;
- ``NET-pnp``: plug-and-play splitting with the denoiser (``deconvolve_gcm(corrector=False)``);
- ``NET-gcm``: the same with the Corrector (``Psi`` checked, proximal step); the share of accepted
  proposals goes into the row.

Cases, kernels (true, or deblur's with ``--gencor-kernels CACHE``), ``--set`` and the summaries are
those of ``denoise_deconv.py``. Settings are chosen on training photos only.

    python scripts/experiments/denoiser_deconv.py --weights W.pt --n 8 --sigmas 0.01 0.02 --out dn.jsonl
    python scripts/experiments/denoise_deconv.py --summary dn.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from denoise_deconv import DATA, bm3d_denoise, cases, deconv, gencor_decision, gencor_kernel, load, timed
from gencor.metrics import image_scores
from gencor.noise import estimate_noise
from gencor.tasks.deconv import clipped_pixels, deconvolve, deconvolve_plane, default_lam
from gencor.tasks.deconv_gcm import PHI_GAIN, STEP_SCALE, deconvolve_gcm


def one(case, a: argparse.Namespace, denoisers: dict) -> list[dict[str, object]]:
    sharp, y, k_true = load(case)
    kernels = {"true": k_true}
    decision = ""
    if a.gencor_kernels is not None:
        kernels["gencor"] = gencor_kernel(case, y, a.gencor_kernels)
        decision = gencor_decision(case, a.gencor_kernels)
    s = estimate_noise(y)
    lam0 = default_lam(s)
    clipped = clipped_pixels(y)
    rows: list[dict[str, object]] = []
    for which, k in kernels.items():
        k = k / k.sum()

        def add(name: str, image: np.ndarray, seconds: float, which: str = which, **extra: object) -> None:
            psnr = image_scores(np.clip(image, 0, 1), sharp)["psnr"]
            rows.append(dict(case=case.name, sigma=case.sigma, measured=s, kernel=which, decision=decision, variant=name, psnr=psnr, sec=seconds, **extra))

        base, t_base = timed(lambda k=k: deconvolve(y, k, lam=lam0, method="hyper-laplacian").image)
        add("base", base, t_base)
        add("blurred", y, 0.0)
        for c in a.lam_scales:
            out, t = timed(lambda c=c, k=k: deconv(y, k, c * lam0, clipped))
            add(f"none|c{c}", out, t)
        for name, den in denoisers.items():
            pre, t_pre = timed(lambda den=den: np.clip(den(y[None], s)[0], 0, 1))
            for c in a.lam_scales:
                out, t = timed(lambda c=c, k=k, pre=pre: deconv(pre, k, c * lam0, clipped))
                add(f"{name}|c{c}", out, t_pre + t)
            if name not in a.hqs:
                continue
            settings = ([(False, 0.0, 1.0)] if a.pnp else []) + [(True, g, m) for g in a.phi_gain for m in a.step_scale]
            for corrector, gain, mu in settings:
                for rho in a.rho:
                    for ls in a.level_scales:
                        runs = []

                        def away(planes, k=k, den=den, c=corrector, r=rho, g=gain, m=mu, ls=ls, runs=runs):  # type: ignore[no-untyped-def]
                            out, run = deconvolve_gcm(planes, k, den, sigma=ls * s, corrector=c, rho=r, stages=a.stages, phi_gain=g or PHI_GAIN, step_scale=m)
                            runs.append(run)
                            return out

                        # As deconvolve(method="denoiser"): the weighted MAP solve near clipped lights.
                        out, t = timed(lambda k=k, away=away: deconvolve_plane(y[None], k, lam=lam0, clipped=clipped[None], away=away))
                        run = runs[0] if runs else None
                        label = f"{name}-{'gcm' if corrector else 'pnp'}" + (f"-r{rho}" if len(a.rho) > 1 else "")
                        label += f"-g{gain:g}-m{mu:g}" if corrector and (len(a.phi_gain) > 1 or len(a.step_scale) > 1) else ""
                        label += f"-s{ls:g}" if len(a.level_scales) > 1 else ""
                        if run is None:  # the lights cover the frame: the MAP solve answered
                            add(label, out[0], t)
                        else:
                            add(label, out[0], t, accepted=[bool(v) for v in run.accepted], psi=[float(v) for v in run.psi])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", type=Path, help="denoiser weights (default: the shipped ones)")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--bm3d", action="store_true", help="also BM3D (before the step; and as the splitting's denoiser with --hqs bm3d)")
    ap.add_argument("--hqs", nargs="*", default=["net"], help="denoisers also run as the splitting's Generator (net, bm3d)")
    ap.add_argument("--rho", type=float, nargs="+", default=[0.23])
    ap.add_argument("--stages", type=int, default=8)
    ap.add_argument("--level-scales", type=float, nargs="+", default=[1.0], help="the splitting's last level, times the measured noise")
    ap.add_argument("--no-pnp", dest="pnp", action="store_false", help="skip the splitting without the Corrector")
    ap.add_argument("--phi-gain", type=float, nargs="+", default=[PHI_GAIN], help="weights of the Corrector's prior, times sigma^2")
    ap.add_argument("--step-scale", type=float, nargs="+", default=[STEP_SCALE], help="the Corrector's proximal step, times 1/L")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--stride", type=int, default=7)
    ap.add_argument("--sigmas", type=float, nargs="+", default=[0.01, 0.02])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lam-scales", type=float, nargs="+", default=[0.35, 0.5])
    ap.add_argument("--gencor-kernels", type=Path, metavar="CACHE")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--set", choices=["train", "noisy", "levin"], default="train")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    from gencor.models.denoiser import load_denoiser, shipped_denoiser

    net = load_denoiser(a.weights, precision=a.precision) if a.weights else shipped_denoiser(a.precision)
    denoisers = {"net": net}
    if a.bm3d:
        denoisers["bm3d"] = lambda stack, sigma: np.stack([bm3d_denoise(p, sigma) for p in stack])
    with a.out.open("a") as fh:
        for sigma in a.sigmas:
            for case in cases(a, sigma):
                for row in one(case, a, denoisers):
                    fh.write(json.dumps(row) + "\n")
                fh.flush()
                print(f"{sigma} {case.name} done", flush=True)


if __name__ == "__main__":
    main()
