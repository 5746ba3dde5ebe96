"""The ``gencor`` command."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gencor import __version__
from gencor.generators import NAMES as GENERATOR_NAMES


def _progress_bar(quiet: bool, desc: str):  # type: ignore[no-untyped-def]
    """A tqdm bar over the estimator's steps, or ``None`` when quiet."""
    if quiet:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=0, desc=desc, unit="step", leave=False, file=sys.stderr)

    def update(done: int, total: int, phase: str) -> None:
        bar.total = total
        bar.set_postfix_str(phase)
        bar.update(done - bar.n)

    return bar, update


#: Formats a photo can be written in (``.npy`` is for kernels only).
IMAGE_OUTPUTS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff"})
#: Formats of ``--plot`` (the same as :data:`gencor.plots.PLOT_FORMATS`; the CLI does not import
#: matplotlib until a plot is asked for).
PLOT_OUTPUTS = frozenset({".png", ".svg", ".pdf"})
#: Default of ``--max-megapixels``.
MAX_MEGAPIXELS = 100.0


def _max_pixels(args: argparse.Namespace) -> int:
    return int(args.max_megapixels * 1e6)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _kernel_size(text: str) -> int | str:
    """``--kernel-size``: ``auto`` or an odd integer (checked against the photo later)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or an odd integer, got {text!r}") from None


def _cmd_deblur(args: argparse.Namespace) -> None:
    import json
    import time

    from gencor.io import atomic_write, check_format, check_output_path, read_image, write_image, write_kernel
    from gencor.tasks.deblur import deblur

    loading = time.perf_counter()
    photo = read_image(args.input, max_pixels=_max_pixels(args))
    loading = time.perf_counter() - loading
    out = check_output_path(args.output, args.input, suffixes=IMAGE_OUTPUTS)
    check_format(out, photo)
    extras = [*args.save_kernel, *([args.plot] if args.plot else [])]
    for path in args.save_kernel:
        check_output_path(path, args.input, out)
    if args.plot:
        check_output_path(args.plot, args.input, out, *args.save_kernel, suffixes=PLOT_OUTPUTS)
    if args.report:
        check_output_path(args.report, args.input, out, *extras, suffixes=frozenset({".json"}))
        extras.append(args.report)
    np.random.seed(args.seed)
    bar, update = _progress_bar(args.quiet, "deblur")
    try:
        result = deblur(
            photo.pixels,
            kernel_size=args.kernel_size,
            channel_axis=-1 if photo.is_color else None,
            generator=args.generator,
            corrector=not args.no_corrector,
            force=args.force,
            progress=update,
        )
    finally:  # an error line must not be glued onto the bar
        if bar is not None:
            bar.close()
    saving = time.perf_counter()
    photo.pixels = result.image
    write_image(out, photo)
    for path in args.save_kernel:
        write_kernel(path, result.kernel)
    if args.plot:
        from gencor.plots import convergence_plot

        convergence_plot(result.estimate, Path(args.plot))
    report = result.report
    report.timings = {"load": loading, **report.timings, "save": time.perf_counter() - saving}
    if args.report:
        text = json.dumps(report.as_dict(), indent=2) + "\n"
        atomic_write(Path(args.report), lambda tmp: tmp.write_text(text))
    for warning in report.warnings:
        print(f"gencor: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print(
            f"wrote {out}" + "".join(f", {p}" for p in extras)
            + f" (kernel {report.kernel_size} px, noise {report.noise_sigma:.4f}, confidence {report.confidence:.2f}, {report.decision}, {report.seconds:.1f} s)"
        )


def _cmd_deconv(args: argparse.Namespace) -> None:
    from gencor.io import check_format, check_output_path, read_image, read_kernel, write_image
    from gencor.tasks.deconv import deconvolve

    photo = read_image(args.input, max_pixels=_max_pixels(args))
    kernel = read_kernel(args.kernel)
    out = check_output_path(args.output, args.input, args.kernel, suffixes=IMAGE_OUTPUTS)
    check_format(out, photo)
    photo.pixels = deconvolve(photo.pixels, kernel, lam=args.lam, channel_axis=-1 if photo.is_color else None)
    write_image(out, photo)
    if not args.quiet:
        print(f"wrote {out}")


def _cmd_inpaint(args: argparse.Namespace) -> None:
    from gencor.io import check_format, check_output_path, read_image, write_image
    from gencor.layout import luminance
    from gencor.tasks.inpaint import inpaint

    photo = read_image(args.input, max_pixels=_max_pixels(args))
    mask = read_image(args.mask, max_pixels=_max_pixels(args))
    out = check_output_path(args.output, args.input, args.mask, suffixes=IMAGE_OUTPUTS)
    check_format(out, photo)
    m = luminance(mask.pixels)
    if 0 < m.max() <= 1.0 / (2**mask.bit_depth - 1):
        m = m / m.max()  # a 0/1 mask (raw values 0 and 1): 1 means observed, as in the API
    result = inpaint(photo.pixels, m, channel_axis=-1 if photo.is_color else None, generator=args.generator)
    photo.pixels = result.image
    write_image(out, photo)
    if not args.quiet:
        print(f"wrote {out} ({100 * (1 - (m >= 0.5).mean()):.1f}% of the pixels filled, {int(result.accepted.sum())}/{result.accepted.size} Generator proposals accepted)")


def _cmd_smooth(args: argparse.Namespace) -> None:
    from gencor.io import check_format, check_output_path, read_image, write_image
    from gencor.tasks.smooth import smooth

    photo = read_image(args.input, max_pixels=_max_pixels(args))
    out = check_output_path(args.output, args.input, suffixes=IMAGE_OUTPUTS)
    check_format(out, photo)
    photo.pixels = smooth(photo.pixels, lam=args.lam, channel_axis=-1 if photo.is_color else None, stages=args.stages).image
    write_image(out, photo)
    if not args.quiet:
        print(f"wrote {out}")


def _cmd_sketch(args: argparse.Namespace) -> None:
    from gencor.io import Photo, check_format, check_output_path, read_image, write_image
    from gencor.tasks.sketch import sketch

    photo = read_image(args.input, max_pixels=_max_pixels(args))
    out = check_output_path(args.output, args.input, suffixes=IMAGE_OUTPUTS)
    check_format(out, photo)
    drawing = sketch(
        photo.pixels,
        channel_axis=-1 if photo.is_color else None,
        color=args.color,
        smoothing=None if args.no_smooth else args.lam,
        seed=args.seed,
    )
    write_image(out, Photo(drawing, photo.alpha, photo.bit_depth))
    if not args.quiet:
        print(f"wrote {out}")


def _cmd_bench_levin(args: argparse.Namespace) -> None:
    from gencor.bench.levin import run_levin

    run_levin(Path(args.data), out_dir=Path(args.out), kernel_size=args.kernel_size, jobs=args.jobs, limit=args.limit, quiet=args.quiet)


def _cmd_bench_ablation(args: argparse.Namespace) -> None:
    from gencor.bench.ablation import run_ablation

    run_ablation(Path(args.data), out_dir=Path(args.out), kernel_size=args.kernel_size, jobs=args.jobs, images=args.images, limit=args.limit, quiet=args.quiet)


def _cmd_bench_beyond(args: argparse.Namespace) -> None:
    from gencor.bench import beyond

    if args.bench == "inpaint":
        beyond.run_inpaint(Path(args.data), out_dir=Path(args.out), seed=args.seed, limit=args.limit, quiet=args.quiet)
    elif args.bench == "smooth":
        beyond.run_smooth(Path(args.data), out_dir=Path(args.out), lam=args.lam, quiet=args.quiet)
    else:
        beyond.run_sketch(Path(args.data), out_dir=Path(args.out), quiet=args.quiet)


def _cmd_train(args: argparse.Namespace) -> None:
    from gencor.training.deblur import TrainConfig, train

    if args.task == "inpaint":
        from gencor.training.inpaint import InpaintTrainConfig, train_inpainter

        icfg = InpaintTrainConfig(data=Path(args.data), out=Path(args.out or "gencor_inpainter.pt"), seed=args.seed, quick=args.quick, images=args.images, steps=args.steps)
        ires = train_inpainter(icfg, resume=args.resume, quiet=args.quiet)
        print(f"trained {icfg.steps} steps in {ires.seconds:.0f} s; validation PSNR {ires.val_psnr:.2f} dB (first-stage fill {ires.val_psnr_fill:.2f} dB); weights in {icfg.out}")
        return
    cfg = TrainConfig(data=Path(args.data), out=Path(args.out or "gencor_generator.pt"), seed=args.seed, quick=args.quick, images=args.images, steps=args.steps)
    result = train(cfg, resume=args.resume, quiet=args.quiet)
    print(
        f"trained {cfg.steps} steps in {result.seconds:.0f} s: loss {result.losses[0] if result.losses else float('nan'):.3e} -> "
        f"{result.losses[-1] if result.losses else float('nan'):.3e}; validation gradient PSNR {result.val_psnr:.2f} dB "
        f"(identity {result.val_psnr_identity:.2f} dB); weights in {cfg.out}"
    )


def _cmd_bench_speed(args: argparse.Namespace) -> None:
    from gencor.bench.speed import run_speed

    run_speed(data=Path(args.data), out_dir=Path(args.out), repeats=args.repeats, quiet=args.quiet)


def _cmd_bench_synthetic(args: argparse.Namespace) -> None:
    from gencor.bench.synthetic import noisy_cases, run_synthetic, validation_cases

    command = f"gencor bench {args.bench} --kernel-size {args.kernel_size} --seed {args.seed} --sigma {args.sigma}"
    if args.bench == "noisy":
        cases = noisy_cases(Path(args.data), seed=args.seed, sigma=args.sigma)
        title = "Noisy camera-shake set (Set12, Kodak24)"
    else:
        cases = validation_cases(seed=args.seed, sigma=args.sigma)
        title = "Validation set (scikit-image sample photos)"
    stem = f"noisy_{args.sigma:g}" if args.bench == "noisy" else args.bench
    run_synthetic(cases, title=title, stem=stem, command=command, out_dir=Path(args.out), kernel_size=args.kernel_size, jobs=args.jobs, limit=args.limit, quiet=args.quiet)


def _cmd_bench_real(args: argparse.Namespace) -> None:
    from gencor.bench.real import run_real

    run_real(Path(args.data), out_dir=Path(args.out), jobs=args.jobs, limit=args.limit, quiet=args.quiet)


def _cmd_bench_calibrate(args: argparse.Namespace) -> None:
    from gencor.bench.calibrate import run_calibrate

    run_calibrate(out_dir=Path(args.out), seed=args.seed, per_photo=args.per_photo, jobs=args.jobs, quiet=args.quiet, real=Path(args.real) if args.real else None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gencor",
        description="Blind deblurring of camera-shake photos with Generator-Corrector propagation "
        "(Liu et al., ACM MM 2018), and non-blind deconvolution with a known kernel.",
    )
    parser.add_argument("--version", action="version", version=f"gencor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("deblur", help="estimate the blur kernel of a photo and restore it", description="Estimate the camera-shake kernel of INPUT (on its luminance) and write the deblurred photo to OUTPUT, in the input's mode and bit depth.")
    p.add_argument("input", metavar="INPUT", help="blurred photo: PNG, JPEG or TIFF, 8 or 16 bit, gray, RGB or RGBA (alpha is passed through)")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the sharp photo (.png, .jpg, .tif); never the input")
    p.add_argument("--kernel-size", type=_kernel_size, default="auto", metavar="N", help="'auto' (default: measured from the photo, blurs up to 75 px) or an odd side of the kernel support in pixels, larger than the longest blur streak")
    p.add_argument("--save-kernel", metavar="K", action="append", default=[], help="also write the kernel (repeatable): .npy gives the float array (sums to 1, convolution convention); .png a preview scaled to its maximum")
    p.add_argument("--plot", metavar="PNG", help="also write a plot of the objective Psi at every stage and scale (.png, .svg or .pdf)")
    p.add_argument("--generator", choices=list(GENERATOR_NAMES), default=GENERATOR_NAMES[0], help="Generator of each stage: 'cnn' (the shipped networks; default), 'none' (identity, i.e. the Corrector-only variant) or 'shrink' (analytic shrinkage)")
    p.add_argument("--no-corrector", action="store_true", help="drop the monotone Corrector: the Generator-only variant, a naive cascade without guarantee (for comparisons)")
    p.add_argument("--force", action="store_true", help="deblur with the best kernel found even when its confidence is too low to trust (by default such a photo is written unchanged, with a warning)")
    p.add_argument("--report", metavar="JSON", help="also write a JSON report: kernel_size, noise_sigma, confidence, decision, seconds, warnings and the measures behind the confidence")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed for random choices, for reproducible runs (the default pipeline makes none; default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary line (warnings are still printed)")
    p.add_argument("--max-megapixels", type=_positive_float, default=MAX_MEGAPIXELS, metavar="MP", help=f"refuse photos larger than this, from their header, before decoding (default {MAX_MEGAPIXELS:g})")
    p.set_defaults(func=_cmd_deblur)

    p = sub.add_parser("deconv", help="restore a photo whose blur kernel is known", description="Non-blind deconvolution of INPUT with kernel K (convolution convention) and a hyper-Laplacian prior.")
    p.add_argument("input", metavar="INPUT", help="blurred photo (PNG, JPEG, TIFF)")
    p.add_argument("--kernel", required=True, metavar="K", help="kernel as .npy (e.g. from deblur --save-kernel) or a gray image")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the sharp photo")
    p.add_argument("--lam", type=float, default=None, metavar="L", help="prior weight (default: from the noise level measured on the photo)")
    p.add_argument("--quiet", action="store_true", help="no summary line")
    p.add_argument("--max-megapixels", type=_positive_float, default=MAX_MEGAPIXELS, metavar="MP", help=f"refuse photos larger than this, from their header, before decoding (default {MAX_MEGAPIXELS:g})")
    p.set_defaults(func=_cmd_deconv)

    p = sub.add_parser("inpaint", help="fill missing pixels (random drop-outs, text overlays, blocks)", description="Fill the pixels of INPUT that MASK marks as missing, with the GCM propagation and the shipped inpainting Generator.")
    p.add_argument("input", metavar="INPUT", help="photo (PNG, JPEG, TIFF; gray or color)")
    p.add_argument("--mask", required=True, metavar="MASK", help="image of the same size: white (255, or 1 in a 0/1 mask) where observed, black (0) where missing")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the filled photo")
    p.add_argument("--generator", choices=["cnn", "none"], default="cnn", help="'cnn' (shipped network; default) or 'none' (Corrector only)")
    p.add_argument("--quiet", action="store_true", help="no summary line")
    p.add_argument("--max-megapixels", type=_positive_float, default=MAX_MEGAPIXELS, metavar="MP", help=f"refuse photos larger than this, from their header, before decoding (default {MAX_MEGAPIXELS:g})")
    p.set_defaults(func=_cmd_inpaint)

    p = sub.add_parser("smooth", help="edge-preserving L0 gradient smoothing", description="Flatten texture and keep edges: min ||x - y||^2 + LAM * (pixels with a non-zero gradient), run as the GCM propagation.")
    p.add_argument("input", metavar="INPUT", help="photo (PNG, JPEG, TIFF; gray or color)")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the smoothed photo")
    p.add_argument("--lam", type=float, default=0.02, metavar="L", help="smoothing strength, as in Xu et al. 2011 (default 0.02; 0.005 light, 0.1 strong)")
    p.add_argument("--stages", type=int, default=1, metavar="N", help="Generator-Corrector stages per continuation step: more reach a lower objective, slower (default 1)")
    p.add_argument("--quiet", action="store_true", help="no summary line")
    p.add_argument("--max-megapixels", type=_positive_float, default=MAX_MEGAPIXELS, metavar="MP", help=f"refuse photos larger than this, from their header, before decoding (default {MAX_MEGAPIXELS:g})")
    p.set_defaults(func=_cmd_smooth)

    p = sub.add_parser("sketch", help="pencil drawing (Lu, Xu, Jia 2012) of the smoothed photo", description="Render INPUT as a pencil drawing: strokes from line-convolved gradients and a tone-matched procedural pencil texture, drawn on the L0-smoothed photo.")
    p.add_argument("input", metavar="INPUT", help="photo (PNG, JPEG, TIFF; gray or color)")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the drawing")
    p.add_argument("--color", action="store_true", help="colored pencil (keeps the photo's chroma; needs a color photo)")
    p.add_argument("--lam", type=float, default=0.01, metavar="L", help="strength of the smoothing applied first (default 0.01)")
    p.add_argument("--no-smooth", action="store_true", help="draw on the raw photo")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the pencil texture (default 0)")
    p.add_argument("--quiet", action="store_true", help="no summary line")
    p.add_argument("--max-megapixels", type=_positive_float, default=MAX_MEGAPIXELS, metavar="MP", help=f"refuse photos larger than this, from their header, before decoding (default {MAX_MEGAPIXELS:g})")
    p.set_defaults(func=_cmd_sketch)

    t = sub.add_parser("train", help="train the Generator networks (deblurring or inpainting)", description="Train the Generator on Train400. --task deblur (default): the two gradient-direction networks, on synthetic camera shake, with inputs collected from the estimator. --task inpaint: the image network of inpainting, on synthetic masks.")
    t.add_argument("--task", choices=["deblur", "inpaint"], default="deblur", help="which Generator to train (default deblur)")
    t.add_argument("--data", default=str(Path("..") / "shared" / "data" / "train" / "Train400"), metavar="DIR", help="folder of sharp training PNGs (default ../shared/data/train/Train400)")
    t.add_argument("--out", default=None, metavar="PT", help="checkpoint and weights file (default gencor_generator.pt, or gencor_inpainter.pt with --task inpaint)")
    t.add_argument("--steps", type=int, default=None, metavar="N", help="optimizer steps (default 4000 for deblur, 12000 for inpaint; 40 with --quick)")
    t.add_argument("--images", type=int, default=None, metavar="N", help="use only the first N training images")
    t.add_argument("--seed", type=int, default=0, metavar="S", help="seed of kernels, noise, patches and weights (default 0)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    t.add_argument("--quick", action="store_true", help="a few seconds on a few images with a small network (for tests)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=_cmd_train)

    b = sub.add_parser("bench", help="benchmarks that print and write measured tables and plots")
    bsub = b.add_subparsers(dest="bench", required=True, metavar="BENCH")
    q = bsub.add_parser("speed", help="whole-process time, stages and peak memory of gencor deblur on 3 real photos and a 12-megapixel JPEG", description="Time 'gencor deblur' with default options as fresh processes (best of --repeats) on three real photos of real_lai16 at full size and a 12-megapixel RGB JPEG made from a mosaic of scikit-image's sample photos with synthetic shake; report the seconds of each stage and the peak RSS; write speed.md (the table between its markers) and speed.csv.")
    q.add_argument("--data", default=str(Path("..") / "shared" / "data" / "real_lai16"), metavar="DIR", help="the real_lai16 folder (default ../shared/data/real_lai16)")
    q.add_argument("--repeats", type=int, default=3, metavar="N", help="runs per photo; the fastest is kept (default 3)")
    q.add_argument("--out", default="docs/bench", metavar="DIR", help="folder for speed.md and speed.csv (default docs/bench)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=_cmd_bench_speed)
    q = bsub.add_parser("real", help="every real photo of Lai et al. 2016 with default options: contact sheets and an index", description="Deblur every photo of real_lai16/blurry with default options; write a contact sheet per photo to OUT/real/ and the index OUT/real_index.md.")
    q.add_argument("--data", default=str(Path("..") / "shared" / "data" / "real_lai16"), metavar="DIR", help="the real_lai16 folder (default ../shared/data/real_lai16)")
    q.add_argument("--jobs", type=int, default=2, metavar="N", help="worker processes (default 2)")
    q.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N photos")
    q.add_argument("--out", default="docs/bench", metavar="DIR", help="folder for the sheets and the index (default docs/bench)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=_cmd_bench_real)
    q = bsub.add_parser("calibrate", help="fit the confidence model on synthetic scikit-image cases", description="Fit the logistic confidence model of gencor.assess on synthetic camera shake (scikit-image sample photos, never evaluation data); writes calibration.md/.csv.")
    q.add_argument("--seed", type=int, default=0, metavar="S", help="seed of crops, kernels and noise (default 0)")
    q.add_argument("--per-photo", type=int, default=5, metavar="N", help="cases per sample photo (default 5)")
    q.add_argument("--real", default=None, metavar="DIR", help="also fit on the reports of 'gencor bench real' in DIR (e.g. docs/bench/real): candidates whose kernel matches the published estimate count as good")
    q.add_argument("--jobs", type=int, default=2, metavar="N", help="worker processes (default 2)")
    q.add_argument("--out", default="docs/bench", metavar="DIR", help="folder for the tables (default docs/bench)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=_cmd_bench_calibrate)
    default_data = Path("..") / "shared" / "data"
    for name, help_ in (
        ("inpaint", "inpainting against OpenCV (Telea, Navier-Stokes, FSR) and scikit-image (biharmonic): Kodak24 with 60% random and text masks, and examples/inpainting"),
        ("smooth", "L0 smoothing against cv2.ximgproc.l0Smooth at the same lambda: objective reached, time, and a figure on examples/rtv"),
        ("sketch", "figure: pencil sketch of the raw photo, of the L0-smoothed photo, and cv2.pencilSketch"),
    ):
        q = bsub.add_parser(name, help=help_, description=help_ + ". Needs OpenCV: pip install 'gencor[bench]'.")
        q.add_argument("--data", default=str(default_data), metavar="DIR", help=f"the shared data folder (default {default_data})")
        q.add_argument("--out", default="docs/bench", metavar="DIR", help="folder for tables and figures (default docs/bench)")
        q.add_argument("--quiet", action="store_true", help="no progress bar")
        if name == "inpaint":
            q.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the random masks (default 0)")
            q.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N Kodak photos (for a quick look)")
        if name == "smooth":
            q.add_argument("--lam", type=float, default=0.02, metavar="L", help="smoothing weight for both tools (default 0.02)")
        q.set_defaults(func=_cmd_bench_beyond)
    for name, func, data, ks, help_ in (
        ("levin", _cmd_bench_levin, default_data / "levin09", "auto", "Levin et al. 2009: 32 images, 8 kernels, Levin's comp_upto_shift protocol"),
        ("ablation", _cmd_bench_ablation, default_data / "levin09", 31, "GCM against Generator only and Corrector only: per-stage curves on a few Levin images, then the full Levin table of each"),
        ("noisy", _cmd_bench_synthetic, default_data / "test", "auto", "our noisy set: test photos, synthetic camera shake up to 75 px, noise 0.01 (or --sigma), every third photo with clipped lights, 8 bit"),
        ("validation", _cmd_bench_synthetic, None, "auto", "the validation set parameters are chosen on: scikit-image sample photos, shake up to 27 px, noise 0.005"),
    ):
        q = bsub.add_parser(name, help=help_, description=help_)
        if data is not None:
            q.add_argument("--data", default=str(data), metavar="DIR", help=f"data folder (default {data})")
        q.add_argument("--kernel-size", type=_kernel_size, default=ks, metavar="N", help=f"kernel size given to the estimator: 'auto' or an odd integer (default {ks})")
        q.add_argument("--jobs", type=int, default=2, metavar="N", help="worker processes (default 2)")
        q.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N images (for a quick look)")
        q.add_argument("--out", default="docs/bench", metavar="DIR", help="folder for the Markdown table, CSV and plots (default docs/bench)")
        q.add_argument("--quiet", action="store_true", help="no progress bar")
        if name == "ablation":
            q.add_argument("--images", type=int, default=4, metavar="N", help="Levin images followed stage by stage (default 4)")
        if name not in ("levin", "ablation"):
            sigma = 0.01 if name == "noisy" else 0.005
            q.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the kernels and noise (default 0)")
            q.add_argument("--sigma", type=float, default=sigma, metavar="S", help=f"noise standard deviation (default {sigma})")
        q.set_defaults(func=func)
    return parser


class _Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the program is so that temporary files are cleaned up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated(signum)


def main(argv: Sequence[str] | None = None) -> int:
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None and threading.current_thread() is threading.main_thread():
            signal.signal(sig, _terminate)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ValueError, TypeError) as exc:
        print(f"gencor: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        hint = "a smaller --kernel-size or a smaller photo" if getattr(args, "func", None) is _cmd_deblur else "a smaller photo"
        print(f"gencor: error: out of memory; try {hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gencor: interrupted", file=sys.stderr)
        return 130
    except _Terminated as stop:
        print(f"gencor: terminated by {signal.Signals(stop.signum).name}", file=sys.stderr)
        return 128 + stop.signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
