"""Step 3 of :func:`gencor.tasks.deblur.deblur`, the score: each candidate kernel, with the
noise-based prior weight and with a stronger one, is tried on the estimation window, and the
measures of :mod:`gencor.assess` give it a confidence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gencor.assess import Evidence, confidence, kernel_similarity, overshoot, residual, ringing, spread
from gencor.tasks.deblur.families import FAMILIES, WITNESSES, Found
from gencor.tasks.deblur.plan import Plan
from gencor.tasks.deconv import LAM_MAX, deconvolve, default_lam
from gencor.threads import fft_workers, map_single_threaded

#: The conservative candidates deconvolve with this many times the noise-based prior weight: less
#: detail comes back, and far less ringing when the kernel is only roughly right.
CONSERVATIVE_LAM = 8.0
#: The suffix of a candidate deconvolved with the stronger prior weight.
CONSERVATIVE = " conservative"


def score_kernel(
    y: np.ndarray, kernel: np.ndarray, *, lam: float, sigma: float, agreement: float, stability: float, consensus: float
) -> tuple[float, Evidence]:
    """Confidence and evidence of deconvolving the gray window ``y`` with ``kernel`` (see
    :mod:`gencor.assess`); ``agreement``, ``stability`` and ``consensus`` come from the estimation runs."""
    trial = deconvolve(y, kernel, lam=lam, method="hyper-laplacian").image
    ev = Evidence(
        agreement=agreement,
        stability=stability,
        ringing=ringing(trial, y),
        overshoot=overshoot(trial, y, kernel.shape[0]),
        residual=residual(trial, y, kernel, sigma),
        spread=spread(kernel),
        consensus=consensus,
    )
    return confidence(ev), ev


def consensus(kernels: dict[str, np.ndarray], *, fallback: float) -> dict[str, float]:
    """Each kernel's best similarity to a kernel of another prior family that is a witness
    (``fallback`` when there is none)."""
    out = {}
    for name, k in kernels.items():
        others = [kernel_similarity(k, o) for n, o in kernels.items() if FAMILIES[n] != FAMILIES[name] and n in WITNESSES]
        out[name] = max(others) if others else fallback
    return out


@dataclass
class Scores:
    """Every candidate (a kernel and its prior weight) with its confidence and evidence, and the
    most trusted one that is not cut."""

    #: The noise-based prior weight (or the user's ``lam``).
    lam: float
    candidates: dict[str, tuple[np.ndarray, float]]
    scored: dict[str, tuple[float, Evidence]]
    #: Each frame kernel's ``consensus``, by family candidate name.
    consensus: dict[str, float]
    best: str


def score_candidates(plan: Plan, found: Found) -> Scores:
    """Try every candidate on the estimation window; the most trusted of those not cut is ``best``
    (of all of them when every one is cut)."""
    base_lam = default_lam(plan.sigma) if plan.options.lam is None else plan.options.lam
    kernels = {name: c.kernel for name, c in found.candidates.items()}
    candidates = {name: (k, base_lam) for name, k in kernels.items()}
    candidates.update({f"{name}{CONSERVATIVE}": (k, min(CONSERVATIVE_LAM * base_lam, LAM_MAX)) for name, k in kernels.items()})
    agree = consensus(kernels, fallback=found.agreement)

    def score(name: str) -> tuple[float, Evidence]:
        k, lam = candidates[name]
        base = name.removesuffix(CONSERVATIVE)
        return score_kernel(plan.y, k, lam=lam, sigma=plan.sigma, agreement=found.agreement, stability=found.candidates[base].stability, consensus=agree[base])

    # The trials are independent: one per core.
    scored = dict(zip(candidates, map_single_threaded(score, candidates, workers=fft_workers()), strict=True))
    cut = found.cut
    whole = [n for n in scored if n.removesuffix(CONSERVATIVE) not in cut] or list(scored)
    best = max(whole, key=lambda n: scored[n][0])
    plan.clock.lap("checks")
    return Scores(base_lam, candidates, scored, agree, best)
