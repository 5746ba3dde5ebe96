"""``gencor train``: train the networks (the final stage of deblurring, the kernel step, inpainting)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: Where the training photos are by default.
TRAIN_DATA = Path("..") / "shared" / "data" / "train" / "Train400"
#: The final stage's default folders: BSDS500's train and test splits, and Train400.
RESTORER_DATA = tuple(str(Path("..") / "shared" / "data" / "train" / d) for d in ("BSDS500/train", "BSDS500/test", "Train400"))


def add_parser(sub: Any) -> None:
    t = sub.add_parser(
        "train",
        help="train the networks (deblurring's final stage, the kernel step, inpainting)",
        description="Train gencor's networks on synthetic data. --task deblur (default): the final stage of deblurring, a Generator that "
        "restores the deconvolution and the learned blur score that lets the Corrector accept it (camera shake up to 75 px, noise up to "
        "0.02, JPEG, clipped highlights; BSDS500 and Train400). --task kernel: the two gradient-direction networks of the kernel step. "
        "--task inpaint: the image network of inpainting, on synthetic masks.",
    )
    t.add_argument("--task", choices=["deblur", "kernel", "inpaint"], default="deblur", help="which networks to train (default deblur)")
    t.add_argument(
        "--data",
        nargs="+",
        default=None,
        metavar="DIR",
        help=f"folders of sharp training photos (default for deblur: {' '.join(RESTORER_DATA)}; for the others {TRAIN_DATA})",
    )
    t.add_argument(
        "--out",
        default=None,
        metavar="PT",
        help="checkpoint and weights file (default gencor_restorer.pt, gencor_generator.pt with --task kernel, gencor_inpainter.pt with --task inpaint)",
    )
    t.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="where to train (default cpu); cuda runs the larger GPU recipe of --task deblur (more samples and steps, batch 64)",
    )
    t.add_argument(
        "--steps", type=int, default=None, metavar="N", help="optimizer steps (default: deblur 2000 on cpu, 12000 on cuda; kernel 4000; inpaint 8000)"
    )
    t.add_argument("--images", type=int, default=None, metavar="N", help="use only the first N training images")
    t.add_argument("--seed", type=int, default=0, metavar="S", help="seed of kernels, noise, patches and weights (default 0)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    t.add_argument("--quick", action="store_true", help="a few seconds on a few images with a small network (for tests)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    if args.task == "deblur":
        from gencor.training.restorer import RestorerTrainConfig, train_restorer

        rcfg = RestorerTrainConfig(
            data=tuple(Path(d) for d in (args.data or RESTORER_DATA)),
            out=Path(args.out or "gencor_restorer.pt"),
            device=args.device,
            seed=args.seed,
            quick=args.quick,
            steps=args.steps,
        )
        rres = train_restorer(rcfg, quiet=args.quiet)
        print(
            f"trained {rcfg.steps} steps in {rres.seconds:.0f} s on {args.device}: validation PSNR {rres.val_psnr:.2f} dB (deconvolution "
            f"{rres.val_psnr_input:.2f} dB); nu {rres.nu:g}; proposals the Corrector keeps on validation {rres.val_accepted:.0%}; weights in {rcfg.out}"
        )
        return
    if args.device != "cpu":
        raise ValueError(f"--device {args.device} is for --task deblur; the {args.task} networks train on the cpu")
    data = Path(args.data[0]) if args.data else TRAIN_DATA
    if args.task == "inpaint":
        from gencor.training.inpaint import InpaintTrainConfig, train_inpainter

        icfg = InpaintTrainConfig(
            data=data, out=Path(args.out or "gencor_inpainter.pt"), seed=args.seed, quick=args.quick, images=args.images, steps=args.steps
        )
        ires = train_inpainter(icfg, resume=args.resume, quiet=args.quiet)
        print(
            f"trained {icfg.steps} steps in {ires.seconds:.0f} s; validation PSNR {ires.val_psnr:.2f} dB (first-stage fill {ires.val_psnr_fill:.2f} "
            f"dB); weights in {icfg.out}"
        )
        return
    from gencor.training.deblur import TrainConfig, train

    cfg = TrainConfig(data=data, out=Path(args.out or "gencor_generator.pt"), seed=args.seed, quick=args.quick, images=args.images, steps=args.steps)
    result = train(cfg, resume=args.resume, quiet=args.quiet)
    first = result.losses[0] if result.losses else float("nan")
    last = result.losses[-1] if result.losses else float("nan")
    print(
        f"trained {cfg.steps} steps in {result.seconds:.0f} s: loss {first:.3e} -> {last:.3e}; "
        f"validation gradient PSNR {result.val_psnr:.2f} dB (identity {result.val_psnr_identity:.2f} dB); weights in {cfg.out}"
    )
