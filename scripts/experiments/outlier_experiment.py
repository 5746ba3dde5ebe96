"""Outliers in the data term beyond the clipped-pixel mask (Cho, Wang and Lee, ICCV 2011): an
experiment of issue #18, measured, not shipped.

gencor gives clipped pixels (>= 0.98) zero weight in the final deconvolution. Cho et al. go further:
every pixel gets the posterior probability of being an inlier, from its residual after a first
solve (Gaussian noise of the measured level against a uniform outlier density), and the solve is
repeated with those weights (EM). Here both are run with the *true* kernel, so only the data term
differs, on the development set of ``estimator_dev.py`` (training photos, every third with clipped
lights) and on the same photos with 0.5 % impulse pixels (hot pixels, specular glints):

    python scripts/experiments/outlier_experiment.py --n 16 --sigma 0.01

Measured 2026-11-28 (x86_64, 2 cores), true kernel, 16 photos: without impulses the mask alone
gains +5.92 dB and the EM weights +5.14 dB (worse on 13 of 16; on the clipped-light photos +5.28
-> +3.66 dB: the lights' neighbours have large residuals in the first solve and lose their weight
too); with 0.5 % impulses, +4.35 -> +5.06 dB (worse on 3 of 16). Real camera photos have few such
impulses, so the mask alone stays.
"""

from __future__ import annotations

import argparse
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from scipy import fft
from scipy.signal import fftconvolve

from gencor.bench.synthetic import Case, make_case
from gencor.metrics import image_scores
from gencor.noise import estimate_noise
from gencor.operators.boundary import extend_periodic
from gencor.operators.convolution import psf2otf
from gencor.operators.gradient import Gradient
from gencor.prox.lp import prox_lp
from gencor.tasks.deconv import SOLVE_DTYPE, _weighted_solve, clipped_pixels, deconvolve, default_lam

DATA = Path("../shared/data/train/BSDS500/train")
#: Prior probability of an outlier and the outlier density (uniform over [0, 1]).
OUTLIER_SHARE = 0.02
EM_ROUNDS = 2


def weighted_hqs(y: np.ndarray, k: np.ndarray, weight: np.ndarray, lam: float, p: float = 0.8) -> np.ndarray:
    """The final deconvolution's splitting with a real-valued data weight (1 outside the frame)."""
    h, w = y.shape
    y_ext = extend_periodic(y, k.shape[0]).astype(SOLVE_DTYPE)
    shape = y_ext.shape
    wt = np.ones(shape, dtype=SOLVE_DTYPE)
    wt[:h, :w] = weight
    otf = psf2otf(k, shape).astype(np.complex64)
    grad = Gradient(shape)
    d_otf = grad.otf().astype(otf.dtype)
    den_grad = np.sum(np.abs(d_otf) ** 2, axis=0)
    num_data = np.conj(otf) * fft.rfft2(wt * y_ext)
    x, beta = y_ext, lam
    for _ in range(8):
        g = prox_lp(grad.forward(x), lam / beta, p)
        num = num_data + beta * np.sum(np.conj(d_otf) * fft.rfft2(g), axis=-3)
        x = _weighted_solve(x, fft.irfft2(num, s=shape), otf, beta * den_grad, wt, np.abs(otf) ** 2 + beta * den_grad, shape)
        beta *= 2 * np.sqrt(2)
    return np.clip(x[:h, :w].astype(float), 0, 1)


def robust(y: np.ndarray, k: np.ndarray, lam: float, sigma: float) -> np.ndarray:
    """EM: weights from the residual of the current solve; clipped pixels stay at zero."""
    x = deconvolve(y, k, lam=lam, method="hyper-laplacian").image
    mask = ~clipped_pixels(y)
    s = max(sigma, 1 / 255)
    for _ in range(EM_ROUNDS):
        r = fftconvolve(np.pad(x, k.shape[0] // 2, mode="edge"), k, mode="valid") - y
        inlier = (1 - OUTLIER_SHARE) * np.exp(-0.5 * (r / s) ** 2) / (np.sqrt(2 * np.pi) * s)
        weight = mask * inlier / (inlier + OUTLIER_SHARE)
        x = weighted_hqs(y, k, weight, lam)
    return x


def one(job: tuple[Case, float]) -> tuple[float, float, float, float]:
    case, impulses = job
    sharp, blurred, k = make_case(case)
    rng = np.random.default_rng(case.seed)
    if impulses:
        hit = rng.uniform(size=blurred.shape) < impulses
        blurred = np.where(hit, rng.uniform(size=blurred.shape), blurred)
    sigma = estimate_noise(blurred)
    lam = default_lam(sigma)
    before = image_scores(blurred, sharp)["psnr"]
    plain = image_scores(deconvolve(blurred, k, lam=lam, method="hyper-laplacian").image, sharp)["psnr"] - before
    em = image_scores(robust(blurred, k, lam, sigma), sharp)["psnr"] - before
    return plain, em, float(case.saturate), float(impulses)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--sigma", type=float, default=0.01)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    files = sorted(DATA.glob("*.jpg"))[::7][: a.n]
    cases = [Case(f.stem, str(f), i, a.sigma, 75, 320, "centre", i % 3 == 0) for i, f in enumerate(files)]
    with Pool(a.jobs) as pool:
        for impulses in (0.0, 0.005):
            res = np.array(pool.map(one, [(c, impulses) for c in cases]))
            sat = res[:, 2] > 0
            worse = int(np.sum(res[:, 1] < res[:, 0] - 0.1))
            print(
                f"impulses {impulses:.3f}: gain with the true kernel, mask only {res[:, 0].mean():+.2f} dB, EM weights {res[:, 1].mean():+.2f} dB "
                f"(clipped-light photos: {res[sat, 0].mean():+.2f} -> {res[sat, 1].mean():+.2f}; EM worse on {worse} of {len(res)})",
                flush=True,
            )


if __name__ == "__main__":
    main()
