"""``gencor train``: train the Generator networks."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: Where the training photos are by default.
TRAIN_DATA = Path("..") / "shared" / "data" / "train" / "Train400"


def add_parser(sub: Any) -> None:
    t = sub.add_parser(
        "train",
        help="train the Generator networks (deblurring or inpainting)",
        description="Train the Generator on Train400. --task deblur (default): the two gradient-direction networks, on synthetic camera shake, with "
        "inputs collected from the estimator. --task inpaint: the image network of inpainting, on synthetic masks.",
    )
    t.add_argument("--task", choices=["deblur", "inpaint"], default="deblur", help="which Generator to train (default deblur)")
    t.add_argument("--data", default=str(TRAIN_DATA), metavar="DIR", help=f"folder of sharp training PNGs (default {TRAIN_DATA})")
    t.add_argument(
        "--out", default=None, metavar="PT", help="checkpoint and weights file (default gencor_generator.pt, or gencor_inpainter.pt with --task inpaint)"
    )
    t.add_argument("--steps", type=int, default=None, metavar="N", help="optimizer steps (default 4000 for deblur, 8000 for inpaint; 40 with --quick)")
    t.add_argument("--images", type=int, default=None, metavar="N", help="use only the first N training images")
    t.add_argument("--seed", type=int, default=0, metavar="S", help="seed of kernels, noise, patches and weights (default 0)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    t.add_argument("--quick", action="store_true", help="a few seconds on a few images with a small network (for tests)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    if args.task == "inpaint":
        from gencor.training.inpaint import InpaintTrainConfig, train_inpainter

        icfg = InpaintTrainConfig(
            data=Path(args.data), out=Path(args.out or "gencor_inpainter.pt"), seed=args.seed, quick=args.quick, images=args.images, steps=args.steps
        )
        ires = train_inpainter(icfg, resume=args.resume, quiet=args.quiet)
        print(
            f"trained {icfg.steps} steps in {ires.seconds:.0f} s; validation PSNR {ires.val_psnr:.2f} dB (first-stage fill {ires.val_psnr_fill:.2f} "
            f"dB); weights in {icfg.out}"
        )
        return
    from gencor.training.deblur import TrainConfig, train

    cfg = TrainConfig(data=Path(args.data), out=Path(args.out or "gencor_generator.pt"), seed=args.seed, quick=args.quick, images=args.images, steps=args.steps)
    result = train(cfg, resume=args.resume, quiet=args.quiet)
    first = result.losses[0] if result.losses else float("nan")
    last = result.losses[-1] if result.losses else float("nan")
    print(
        f"trained {cfg.steps} steps in {result.seconds:.0f} s: loss {first:.3e} -> {last:.3e}; "
        f"validation gradient PSNR {result.val_psnr:.2f} dB (identity {result.val_psnr_identity:.2f} dB); weights in {cfg.out}"
    )
