"""``gencor train``: train the Generator networks and the critic of the confidence."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: Where the training photos are by default (the critic trains on the colour photos).
TRAIN_DATA = Path("..") / "shared" / "data" / "train" / "Train400"
CRITIC_DATA = Path("..") / "shared" / "data" / "train" / "BSDS500" / "train"


def add_parser(sub: Any) -> None:
    t = sub.add_parser(
        "train",
        help="train the Generator networks (deblurring or inpainting) or the critic of the deblurring confidence",
        description="Train the Generator on Train400. --task deblur (default): the two gradient-direction networks, on synthetic camera shake, with "
        "inputs collected from the estimator. --task inpaint: the image network of inpainting, on synthetic masks. --task critic: the network "
        "that predicts how much a restoration gains over its blurred input (evidence of the confidence), on BSDS500's train split.",
    )
    t.add_argument("--task", choices=["deblur", "inpaint", "critic"], default="deblur", help="which network to train (default deblur)")
    t.add_argument(
        "--data", default=None, metavar="DIR", help=f"folder of sharp training photos (default {TRAIN_DATA}; {CRITIC_DATA} with --task critic)"
    )
    t.add_argument(
        "--out",
        default=None,
        metavar="PT",
        help="checkpoint and weights file (default gencor_generator.pt; gencor_inpainter.pt or gencor_critic.pt with --task inpaint or critic)",
    )
    t.add_argument(
        "--steps", type=int, default=None, metavar="N", help="optimizer steps (default 4000 for deblur, 8000 for inpaint, 3000 for critic; fewer with --quick)"
    )
    t.add_argument("--images", type=int, default=None, metavar="N", help="use only the first N training images")
    t.add_argument("--seed", type=int, default=0, metavar="S", help="seed of kernels, noise, patches and weights (default 0)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    t.add_argument("--quick", action="store_true", help="a few seconds on a few images with a small network (for tests)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    if args.task == "critic":
        from gencor.training.critic import CriticTrainConfig, train_critic

        ccfg = CriticTrainConfig(
            data=Path(args.data or CRITIC_DATA), out=Path(args.out or "gencor_critic.pt"), seed=args.seed, quick=args.quick, images=args.images, steps=args.steps
        )
        cres = train_critic(ccfg, resume=args.resume, quiet=args.quiet)
        print(
            f"trained {ccfg.steps} steps in {cres.seconds:.0f} s; validation: correlation of predicted and true patch gains {cres.val_correlation:.3f}, "
            f"mean error {cres.val_mae:.2f} dB; weights in {ccfg.out}"
        )
        return
    args.data = args.data or str(TRAIN_DATA)
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
