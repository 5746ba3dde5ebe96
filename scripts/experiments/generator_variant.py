"""A deblurring Generator variant, trained and judged on the validation set (never on Levin or
the noisy test set).

The variant: the shipped recipe (``gencor train``) with noise up to sigma 0.02 and warm starts
recorded at every level of the beta ladder (six per scale). It is judged by `gencor bench
validation`'s cases (scikit-image sample photos, synthetic shake) against the Corrector alone,
with the network proposing at the first level only or at every level.

Run (about 33 min to train, 36 s to judge the Corrector alone, on 2 cores):
    python scripts/experiments/generator_variant.py train variant.pt
    python scripts/experiments/generator_variant.py judge variant.pt --levels 99 --sigma 0.01
    python scripts/experiments/generator_variant.py judge none --sigma 0.01      # the Corrector alone
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

import numpy as np

import gencor.models.generator as shipped
from gencor.bench.common import run_pool
from gencor.bench.synthetic import synthetic_row, validation_cases
from gencor.training.deblur import TrainConfig, train

NOISE = (0.002, 0.02)
ALL_LEVELS = 99
PER_SCALE = 6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("train")
    t.add_argument("out", type=Path)
    j = sub.add_parser("judge")
    j.add_argument("weights", help="a checkpoint of 'train', 'shipped', or 'none' for the Corrector alone")
    j.add_argument("--levels", type=int, default=1, help="ladder levels at which the network proposes (from the first)")
    j.add_argument("--sigma", type=float, default=0.01)
    j.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if args.what == "train":
        result = train(TrainConfig(out=args.out, noise=NOISE, levels=ALL_LEVELS, per_scale=PER_SCALE))
        print(f"{result.seconds:.0f} s; validation gradient PSNR {result.val_psnr:.2f} dB (identity {result.val_psnr_identity:.2f} dB)")
        return
    if args.weights not in ("shipped", "none"):
        shipped.WEIGHTS = Path(args.weights)  # the worker processes are forked and inherit it
    shipped.CNN_LEVELS = range(0, args.levels)
    row = partial(synthetic_row, kernel_size="auto", generator="none" if args.weights == "none" else "cnn")
    rows = run_pool(row, validation_cases(seed=0, sigma=args.sigma), jobs=args.jobs, quiet=True, desc="judge")
    er = np.array([r["error_ratio"] for r in rows], dtype=float)
    gain = np.array([r["gain_db"] for r in rows], dtype=float)
    summary = {
        "ER<=3": float(np.mean(er <= 3)),
        "median ER": float(np.median(er)),
        "mean gain dB": float(gain.mean()),
        "worse by > 0.1 dB": int(np.sum(gain < -0.1)),
    }
    print(json.dumps({"weights": args.weights, "levels": args.levels, "sigma": args.sigma, **summary}))


if __name__ == "__main__":
    main()
