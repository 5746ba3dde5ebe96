"""Issue #31, item 2e: the denoiser inside the kernel estimation, on training photos.

The same development cases as ``estimator_dev.py`` (BSDS500 train, camera shake up to 75 px,
noise, 8 bits, some clipped lights), at the true extent plus the margin. Variants:

- ``na``: the noise-aware family as the pipeline runs it (the family of noisy photos);
- ``na-pre``: the same on the photo denoised by the network first (noise priors from the
  measured noise of the original, as the family expects of its input);
- ``na-gcm`` / ``na-pnp``: the paper's use. After each latent step ``u^t`` of an alternation, the
  Generator proposes ``D(u0, sigma0)`` with ``u0 = argmin 1/2 ||k*u - y||^2 + gamma/2 ||u - u^t||^2``
  (``gamma`` = the family's current ``lam``) and ``sigma0`` the noise measured on ``u0``; the
  Corrector keeps it if ``Psi`` does not rise, ``Psi(u) = 1/2 ||k*u - y||^2 + lam sum min(beta_max |grad u|^2 / lam, 1)``
  (the family's own relaxed L0 objective at the end of its ladder). The kernel step then fits the
  kept latent. ``na-pnp`` keeps every proposal (no Corrector);
- ``gcm``: the GCM family (TV-denoised copy above noise 0.005), ``gcm-pre``: the same on the
  network-denoised photo in place of TV.

    OMP_NUM_THREADS=1 python scripts/experiments/estimator_denoiser.py na na-pre na-gcm na-pnp --sigma 0.02
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
from scipy import fft
from skimage.transform import resize

from estimator_dev import DATA, cases
from gencor.bench.synthetic import make_case
from gencor.kernels import noiseaware as na_mod
from gencor.kernels.estimate import EstimatorConfig, estimate_kernel
from gencor.kernels.noiseaware import NoiseAwareConfig, estimate_kernel_noise_aware
from gencor.kernels.size import SIZE_MARGIN, odd
from gencor.metrics import image_scores, kernel_similarity
from gencor.models.denoiser import shipped_denoiser
from gencor.noise import estimate_noise
from gencor.operators.convolution import psf2otf
from gencor.tasks.deconv import deconvolve, default_lam

_STATS: dict[str, int] = {"proposed": 0, "kept": 0}


def _denoise(image: np.ndarray, sigma: float) -> np.ndarray:
    return shipped_denoiser()(image[None].astype(np.float32), sigma)[0].astype(np.float64)


def _psi(s: Any, K: np.ndarray, u: np.ndarray, lam: float, beta: float) -> float:
    r = fft.irfft2(K * fft.rfft2(u), s=u.shape) - s.y
    gx, gy = np.roll(u, 1, axis=1) - u, np.roll(u, 1, axis=0) - u
    return 0.5 * float(np.sum(r**2)) + lam * float(np.sum(np.minimum(beta * (gx**2 + gy**2) / lam, 1.0)))


def noise_aware_with_generator(y: np.ndarray, size: int, sigma: float, corrector: bool) -> np.ndarray:
    """The noise-aware family's loop with the denoiser's proposals after each latent step."""
    cfg = NoiseAwareConfig()
    low, span = float(y.min()), float(np.ptp(y))
    y, noise = (y - low) / span, sigma / span
    lam_min = max(cfg.lam_floor * noise, cfg.lam_min)
    gamma = max(cfg.smoothness * noise, cfg.smoothness_min)
    h, w = na_mod.fast_side(y.shape[0]), na_mod.fast_side(y.shape[1])
    top, left = (y.shape[0] - h) // 2, (y.shape[1] - w) // 2
    finest = na_mod.taper(y[top : top + h, left : left + w].astype(np.float64), size)
    sizes = na_mod.pyramid(finest.shape, size, cfg.ratio)
    obs = [finest]
    for _ in sizes[1:]:
        obs.append(na_mod.downsample(obs[-1], cfg.ratio, cfg.prefilter))
    lam = max(cfg.lam, lam_min)
    u = obs[-1]
    k = None
    for level in range(len(sizes) - 1, -1, -1):
        s = na_mod._Spectra(obs[level])
        if u.shape != s.y.shape:
            u = resize(u, s.y.shape, order=3, anti_aliasing=False)
        k = na_mod.kernel_step(s, u, sizes[level], gamma, cfg.l1, cfg.rho_max)
        for it in range(cfg.iterations):
            start = s.y if it == 0 else u
            beta0, rate = (2.0 * lam, cfg.beta_rate) if it == 0 else (cfg.warm_beta, cfg.warm_rate)
            u = na_mod.latent_step(s, k, start, lam, beta0, cfg.beta_max, rate)
            K = psf2otf(k, u.shape)
            u0 = fft.irfft2((np.conj(K) * s.Y + lam * fft.rfft2(u)) / (np.abs(K) ** 2 + lam), s=u.shape)
            proposal = _denoise(u0, estimate_noise(u0))
            _STATS["proposed"] += 1
            if not corrector or _psi(s, K, proposal, lam, cfg.beta_max) <= _psi(s, K, u, lam, cfg.beta_max):
                u = proposal
                _STATS["kept"] += 1
            k = na_mod.kernel_step(s, u, sizes[level], gamma, cfg.l1, cfg.rho_max)
            lam = max(lam * cfg.lam_decay, lam_min)
    assert k is not None
    return k


def variant(name: str) -> Callable[[np.ndarray, int, float], np.ndarray]:
    if name == "na":
        return lambda y, n, s: estimate_kernel_noise_aware(y, n, sigma=s).kernel
    if name == "na-pre":
        return lambda y, n, s: estimate_kernel_noise_aware(_denoise(y, s), n, sigma=s).kernel
    if name in ("na-gcm", "na-pnp"):
        return lambda y, n, s: noise_aware_with_generator(y, n, s, corrector=name == "na-gcm")
    if name == "gcm":
        return lambda y, n, s: estimate_kernel(y, n).kernel
    if name == "gcm-pre":
        off = EstimatorConfig(denoise_above=1.0)
        return lambda y, n, s: estimate_kernel(_denoise(y, s), n, config=off).kernel
    raise ValueError(name)


def one(job: tuple[Any, str, int]) -> dict[str, Any]:
    case, name, margin = job
    sharp, blurred, k = make_case(case)
    ys, xs = np.nonzero(k)
    extent = int(max(np.ptp(ys), np.ptp(xs)) + 1)
    t = time.perf_counter()
    _STATS.update(proposed=0, kept=0)
    est = variant(name)(blurred, odd(extent + 2 * margin), case.sigma)
    sec = time.perf_counter() - t
    lam = default_lam(estimate_noise(blurred))
    out = image_scores(deconvolve(blurred, est, lam=lam, method="hyper-laplacian").image, sharp)
    ref = image_scores(deconvolve(blurred, k, lam=lam, method="hyper-laplacian").image, sharp)
    before = image_scores(blurred, sharp)
    return dict(
        sim=kernel_similarity(est, k),
        er=out["ssd"] / ref["ssd"],
        gain=out["psnr"] - before["psnr"],
        sec=sec,
        **_STATS,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--sigma", type=float, default=0.01)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--data", type=Path, default=DATA)
    a = ap.parse_args()
    cs = cases(a.data, a.n, a.sigma, 75, 0, 7)
    with Pool(a.jobs) as pool:
        for v in a.variants:
            rows = pool.map(one, [(c, v, SIZE_MARGIN) for c in cs])
            er = np.array([r["er"] for r in rows])
            gains = np.array([r["gain"] for r in rows])
            kept = sum(r["kept"] for r in rows), sum(r["proposed"] for r in rows)
            print(
                f"sigma {a.sigma} {v:8s} sim {np.mean([r['sim'] for r in rows]):.3f} ER<=3 {np.mean(er <= 3):.2f} "
                f"medER {np.median(er):.2f} gain {gains.mean():+.2f} worse {int(np.sum(gains < -0.1))} "
                f"kept {kept[0]}/{kept[1]} {np.mean([r['sec'] for r in rows]):.1f}s",
                flush=True,
            )


if __name__ == "__main__":
    main()
