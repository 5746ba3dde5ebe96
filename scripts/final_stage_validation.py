"""The final stage on the validation photos (scikit-image's samples; never an evaluation set): the
three variants of ``gencor bench ablation`` on ``gencor bench validation``'s cases, per noise level.

    python scripts/final_stage_validation.py --sigmas 0.005,0.01,0.02 --jobs 2

Prints, per noise level and variant: ER <= 3, median ER, mean gain, photos made worse (> 0.1 dB)
and the final-stage proposals the Corrector kept.
"""

from __future__ import annotations

import argparse

import numpy as np

from gencor.bench.ablation import VARIANTS
from gencor.bench.common import Row, run_pool
from gencor.bench.synthetic import Case, synthetic_row, validation_cases


def _row(job: tuple[Case, str]) -> Row:
    case, variant = job
    gen, corr, final = VARIANTS[variant]
    return {"variant": variant, "sigma": case.sigma, **synthetic_row(case, "auto", generator=gen, corrector=corr, final_stage=final)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigmas", default="0.005,0.01,0.02")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args()
    variants = a.variants.split(",")
    jobs = [(c, v) for s in a.sigmas.split(",") for c in validation_cases(seed=1, sigma=float(s))[: a.limit] for v in variants]
    rows = run_pool(_row, jobs, jobs=a.jobs, quiet=False, desc="validation")
    for sigma in sorted({r["sigma"] for r in rows}):
        for v in variants:
            sel = [r for r in rows if r["sigma"] == sigma and r["variant"] == v]
            er = np.array([r["error_ratio"] for r in sel])
            gain = np.array([r["gain_db"] for r in sel])
            kept = sum(r["final_stage"] == "kept" for r in sel)
            proposed = sum(r["final_stage"] in ("kept", "rejected") for r in sel)
            print(
                f"sigma {sigma} {v:15s} n {len(sel)} ER<=3 {np.mean(er <= 3):.3f} median ER {np.median(er):.3f} "
                f"mean gain {gain.mean():+.3f} dB worse {int(np.sum(gain < -0.1))} final kept {kept}/{proposed}"
            )


if __name__ == "__main__":
    main()
