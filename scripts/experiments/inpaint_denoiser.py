"""The denoiser as the Generator of inpainting (issue #31, item 4), against today's inpainting.

On the cases of ``gencor bench inpaint`` (Kodak24 crops with 60 % random and text masks; the
first ``--n`` photos), PSNR of: today's ``inpaint`` (the inpainting U-Net's fill, then GCM), OpenCV's
FSR (PSNR as the bench, on the whole color crop), and the GCM propagation of inpainting (same data term ``1/2 ||M (u - y)||^2``, same Haar prior
and Corrector) whose Generator is the denoiser at a falling level ``sigma_t`` (the hole pixels
denoised, the observed ones kept), started from today's normalised-convolution fill (``dn``) or
from the U-Net's fill (``cnn+dn``).

    python scripts/experiments/inpaint_denoiser.py --n 6 --stages 12
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from skimage.metrics import peak_signal_noise_ratio

from gencor.bench.inpaint import inpainting_cases, inpainting_methods
from gencor.layout import to_planes
from gencor.models.denoiser import shipped_denoiser
from gencor.models.inpainter import shipped_inpainter
from gencor.operators.mask import Mask
from gencor.operators.wavelet import Wavelet
from gencor.propagation.fidelity import DataFidelity
from gencor.propagation.gcm import WaveletPrior, propagate
from gencor.tasks.inpaint import LEVELS, START_ENSEMBLE, _padded, fill_missing

#: inpaint()'s defaults.
LAM, P, GAMMA = 2e-4, 0.8, 0.05


def denoiser_inpaint(y: np.ndarray, observed: np.ndarray, *, stages: int, start: str, top: float, bottom: float) -> tuple[np.ndarray, float]:
    """The GCM propagation of inpainting with the denoiser as Generator; the share of kept proposals."""
    h, w = observed.shape
    obs, yp = _padded(to_planes(y), observed)
    den = shipped_denoiser()
    sigmas = np.geomspace(top, bottom, stages)

    def generator(u0: np.ndarray, t: int) -> np.ndarray:
        return np.where(obs, u0, den(u0.astype(np.float32), float(sigmas[t])))

    u_init = fill_missing(yp, obs)
    if start == "cnn":
        u_init = shipped_inpainter().bind(obs, ensemble=START_ENSEMBLE)(u_init, 0)
    prior = WaveletPrior(Wavelet(obs.shape, levels=LEVELS), LAM, P)
    run = propagate(DataFidelity(Mask(obs.astype(float)), yp), prior, u_init, gammas=(GAMMA,) * stages, generator=generator)
    x = np.clip(np.where(obs, yp, run.u)[..., :h, :w], 0.0, 1.0)
    return np.moveaxis(x, 0, -1), float(np.mean(run.accepted))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--n", type=int, default=6)
    ap.add_argument("--stages", type=int, default=12)
    ap.add_argument("--top", type=float, default=0.1)
    ap.add_argument("--bottom", type=float, default=0.01)
    a = ap.parse_args()
    methods = inpainting_methods()
    cases = [c for c in inpainting_cases(a.data, seed=0) if c[1] in ("random 60%", "text")][: 2 * a.n]
    scores: dict[tuple[str, str], list[float]] = {}
    for name, kind, clean, observed in cases:
        holes = clean * observed[..., None]
        outs = {"gencor": methods["gencor (GCM)"](holes, observed), "FSR": methods["OpenCV FSR (fast)"](holes, observed)}
        kept = {}
        for start in ("dn", "cnn"):
            outs[f"{start}+denoiser"], kept[start] = denoiser_inpaint(holes, observed, stages=a.stages, start=start, top=a.top, bottom=a.bottom)
        row = {m: float(peak_signal_noise_ratio(clean, np.clip(o, 0, 1), data_range=1.0)) for m, o in outs.items()}
        for m, v in row.items():
            scores.setdefault((kind, m), []).append(v)
        print(name, kind, {m: round(v, 2) for m, v in row.items()}, {k: round(v, 2) for k, v in kept.items()}, flush=True)
    for (kind, m), v in sorted(scores.items()):
        print(f"{kind:12s} {m:14s} {np.mean(v):.2f} dB ({len(v)} photos)")


if __name__ == "__main__":
    main()
