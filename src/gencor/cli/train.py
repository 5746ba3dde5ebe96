"""``gencor train``: train the networks (the final stage of deblurring, the kernel step, inpainting)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from gencor.cli.options import nonnegative_int, positive_int

#: Where the training photos are by default.
TRAIN_DATA = Path("..") / "shared" / "data" / "train" / "Train400"
#: The final stage's default folders: BSDS500's train and test splits, and Train400.
RESTORER_DATA = tuple(str(Path("..") / "shared" / "data" / "train" / d) for d in ("BSDS500/train", "BSDS500/test", "Train400"))
#: The weights file of each task by default, and the suffixes a weights file may have (so that
#: a photo given as --out by mistake is never overwritten by a checkpoint).
OUTS = {"deblur": "gencor_restorer.pt", "kernel": "gencor_generator.pt", "inpaint": "gencor_inpainter.pt", "denoise": "gencor_denoiser.pt"}
WEIGHT_SUFFIXES = (".pt", ".pth")


def add_parser(sub: Any) -> None:
    t = sub.add_parser(
        "train",
        help="train the networks (deblurring's final stage, the kernel step, inpainting)",
        description="Train gencor's networks on synthetic data. --task deblur (default): the final stage of deblurring, a Generator that "
        "restores the deconvolution and the learned blur score that lets the Corrector accept it (camera shake up to 75 px, noise up to "
        "0.02, JPEG, clipped highlights; BSDS500 and Train400). --task kernel: the two gradient-direction networks of the kernel step. "
        "--task inpaint: the image network of inpainting, on synthetic masks. --task denoise: the noise-conditional denoiser (gray and color, noise 0 to "
        "0.2 of the range, signal-dependent, clipped and JPEG samples; BSDS500 and Train400), about 1 hour on 2 cores with bfloat16 units.",
    )
    t.add_argument("--task", choices=["deblur", "kernel", "inpaint", "denoise"], default="deblur", help="which networks to train (default deblur)")
    t.add_argument(
        "--data",
        nargs="+",
        default=None,
        metavar="DIR",
        help=f"folders of sharp training photos, PNG, JPEG or TIFF; every folder is used (default for deblur and denoise: {' '.join(RESTORER_DATA)}; "
        f"for the others {TRAIN_DATA})",
    )
    t.add_argument(
        "--out",
        default=None,
        metavar="PT",
        help=f"checkpoint and weights file, .pt (default {OUTS['deblur']}, {OUTS['kernel']} with --task kernel, {OUTS['inpaint']} with --task inpaint, "
        f"{OUTS['denoise']} with --task denoise)",
    )
    t.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="where to train (default cpu); cuda runs the larger GPU recipes of --task deblur (more samples and steps, batch 64) and --task denoise "
        "(3x the steps)",
    )
    t.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        metavar="N",
        help="optimizer steps (default: deblur 2000 on cpu, 12000 on cuda; kernel 4000; inpaint 8000; denoise 12000 on cpu, 60000 on cuda)",
    )
    t.add_argument("--images", type=positive_int, default=None, metavar="N", help="use only the first N training images")
    t.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="seed of kernels, noise, patches and weights (default 0)")
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --out (--task kernel, inpaint and denoise; the deblur task makes its samples anew and trains in one run)",
    )
    t.add_argument("--quick", action="store_true", help="a few seconds on a few images with a small network (for tests)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=run)


def check_out(out: Path) -> None:
    """A one-line error, before any training, for an ``--out`` the weights cannot be written to."""
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give the weights file, e.g. {out / 'weights.pt'}")
    if out.suffix.lower() not in WEIGHT_SUFFIXES:
        raise ValueError(f"--out {out}: a weights file ends in {' or '.join(WEIGHT_SUFFIXES)}")
    folder = out.absolute().parent
    above = next(p for p in (folder, *folder.parents) if p.exists())
    if not above.is_dir():
        raise ValueError(f"--out {out}: {above} is not a folder")
    if above != folder:
        raise ValueError(f"--out {out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: cannot write in {folder}")


def run(args: argparse.Namespace) -> None:
    out = Path(args.out or OUTS[args.task])
    check_out(out)
    # The options of the two tasks that train on BSDS500 and Train400 and may run on a GPU.
    photo_task = {
        "data": tuple(Path(d) for d in (args.data or RESTORER_DATA)),
        "out": out,
        "device": args.device,
        "seed": args.seed,
        "quick": args.quick,
        "steps": args.steps,
        "images": args.images,
    }
    if args.task == "deblur":
        from gencor.training.restorer import RestorerTrainConfig, train_restorer

        if args.resume:
            raise ValueError("--resume is for --task kernel, inpaint and denoise: the deblur task makes its samples anew and trains in one run")
        rcfg = RestorerTrainConfig(**photo_task)
        rres = train_restorer(rcfg, quiet=args.quiet)
        print(
            f"trained {rcfg.steps} steps in {rres.seconds:.0f} s on {args.device}: validation PSNR {rres.val_psnr:.2f} dB (deconvolution "
            f"{rres.val_psnr_input:.2f} dB); nu {rres.nu:g}; proposals the Corrector keeps on validation {rres.val_accepted:.0%}; weights in {rcfg.out}"
        )
        return
    if args.task == "denoise":
        from gencor.training.denoise import DenoiseTrainConfig, train_denoiser

        dcfg = DenoiseTrainConfig(**photo_task)
        dres = train_denoiser(dcfg, resume=args.resume, quiet=args.quiet)
        levels = ", ".join(f"{dres.val_psnr[s]:.2f} dB at sigma {s:.3f} (noisy {dres.val_psnr_noisy[s]:.2f})" for s in dres.val_psnr)
        print(f"trained {dcfg.steps} steps in {dres.seconds:.0f} s on {args.device}: validation PSNR (gray) {levels}; weights in {dcfg.out}")
        return
    if args.device != "cpu":
        raise ValueError(f"--device {args.device} is for --task deblur and denoise; the {args.task} networks train on the cpu")
    data = tuple(Path(d) for d in args.data) if args.data else (TRAIN_DATA,)
    if args.task == "inpaint":
        from gencor.training.inpaint import InpaintTrainConfig, train_inpainter

        icfg = InpaintTrainConfig(data=data, out=out, seed=args.seed, quick=args.quick, images=args.images, steps=args.steps)
        ires = train_inpainter(icfg, resume=args.resume, quiet=args.quiet)
        print(
            f"trained {icfg.steps} steps in {ires.seconds:.0f} s; validation PSNR {ires.val_psnr:.2f} dB (first-stage fill {ires.val_psnr_fill:.2f} "
            f"dB); weights in {icfg.out}"
        )
        return
    from gencor.training.deblur import TrainConfig, train

    cfg = TrainConfig(data=data, out=out, seed=args.seed, quick=args.quick, images=args.images, steps=args.steps)
    result = train(cfg, resume=args.resume, quiet=args.quiet)
    print(
        f"trained {cfg.steps} steps in {result.seconds:.0f} s: loss {result.losses[0]:.3e} -> {result.losses[-1]:.3e}; "
        f"validation gradient PSNR {result.val_psnr:.2f} dB (identity {result.val_psnr_identity:.2f} dB); weights in {cfg.out}"
    )
