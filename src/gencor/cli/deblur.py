"""``gencor deblur``: estimate the camera-shake kernel of a photo and restore it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gencor.cli.batch import add_batch_options, is_batch, run_batch, single
from gencor.cli.options import IMAGE_OUTPUTS, PLOT_OUTPUTS, Progress, add_common, kernel_size, max_pixels, progress_bar, rewrite_photo
from gencor.generators import DECONVOLUTION_METHODS as METHODS
from gencor.generators import DEFAULT_DECONVOLUTION
from gencor.generators import NAMES as GENERATOR_NAMES

if TYPE_CHECKING:
    import numpy as np

#: What to try when a photo does not fit in memory.
MEMORY_HINT = "a smaller --kernel-size or a smaller photo"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "deblur",
        help="estimate the blur kernel of a photo and restore it",
        description="Estimate the camera-shake kernel of INPUT (on its luminance) and write the deblurred photo to OUTPUT, in the input's mode and bit depth.",
    )
    p.add_argument(
        "input",
        nargs="+",
        metavar="INPUT",
        help="blurred photo: PNG, JPEG or TIFF, 8 or 16 bit, gray, RGB or RGBA (alpha is passed through); several photos, folders or globs make a batch",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUTPUT",
        help="where to write the sharp photo (.png, .jpg, .tif); never the input. For a batch, a folder (created if missing) that also gets report.csv",
    )
    p.add_argument(
        "--kernel-size",
        type=kernel_size,
        default="auto",
        metavar="N",
        help="'auto' (default: measured from the photo, blurs up to 75 px) or an odd side of the kernel support in pixels, larger than the longest blur streak",
    )
    p.add_argument(
        "--save-kernel",
        metavar="K",
        action="append",
        default=[],
        help="also write the kernel (repeatable): .npy gives the float array (sums to 1, convolution convention); .png a preview scaled to its maximum. "
        "When the local path runs (--blur local or auto), K_local.npy beside it also gets the grid's kernels as a (rows, cols, n, n) array, and "
        "K_local.png a grid of their previews (each scaled to its maximum)",
    )
    p.add_argument("--plot", metavar="PNG", help="also write a plot of the objective Psi at every stage and scale (.png, .svg or .pdf)")
    p.add_argument(
        "--generator",
        choices=list(GENERATOR_NAMES),
        default=GENERATOR_NAMES[0],
        help="Generator of the kernel step: 'none' (default: the Corrector alone), 'cnn' (the shipped network, the full GCM: no measured gain, "
        "slower) or 'shrink' (analytic shrinkage)",
    )
    p.add_argument(
        "--final-stage",
        action="store_true",
        help="also let the final stage's network restore the deconvolution, kept only if the objective with the learned blur score does not "
        "increase (whatever --generator says; off by default: the shipped networks changed no measured number, docs/bench/ablation.md)",
    )
    p.add_argument(
        "--blur",
        choices=["uniform", "local", "auto"],
        default="uniform",
        help="'uniform' (default): one kernel for the whole photo; 'local': also a kernel per window of a grid, each kept where the evidence "
        "prefers it to the frame's, and one deconvolution with the blended kernels (the filter-flow model; for blur that changes across the "
        "photo, e.g. a camera that rolled; slower); 'auto': 'local' only when the kernels differ from the frame's (report: blur_variation)",
    )
    p.add_argument(
        "--deconvolution",
        choices=list(METHODS),
        default=DEFAULT_DECONVOLUTION,
        help="how the photo is restored with the kernel: 'hyper-laplacian' (the MAP solve with a sparse gradient prior), 'denoiser' (the GCM "
        f"propagation with gencor's denoiser as the Generator) or 'plug-and-play' (the same without the Corrector); default {DEFAULT_DECONVOLUTION}",
    )
    p.add_argument(
        "--no-corrector",
        action="store_true",
        help="drop the monotone Corrector: the Generator-only variant, a naive cascade without guarantee (for comparisons)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="deblur with the best kernel found even when its confidence is too low to trust (by default such a photo is written unchanged, with a "
        "warning; from confidence 0.5 to 0.7 a clean photo gets a gentler 'tentative' deblurring with a stronger prior, also with a warning)",
    )
    p.add_argument(
        "--report",
        metavar="JSON",
        help="also write a JSON report: kernel_size, noise_sigma, confidence, decision, seconds, warnings and the measures behind the confidence",
    )
    add_common(p, quiet="no progress bar and no summary line (warnings are still printed)")
    add_batch_options(p)
    p.set_defaults(func=run, memory_hint=MEMORY_HINT)


def options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of :func:`gencor.deblur` given on the command line."""
    return {
        "kernel_size": args.kernel_size,
        "generator": args.generator,
        "corrector": not args.no_corrector,
        "final_stage": args.final_stage,
        "blur": args.blur,
        "force": args.force,
        "deconvolution": args.deconvolution,
    }


def process(source: Path, target: Path, opts: dict[str, Any], *, max_pixels: int, quality: int, progress: Progress | None = None) -> dict[str, Any]:
    """Deblur one photo of a batch; return its row of ``report.csv`` and its warnings."""
    from gencor.tasks.deblur import deblur

    def change(pixels: np.ndarray, axis: int | None) -> tuple[np.ndarray, dict[str, Any]]:
        result = deblur(pixels, channel_axis=axis, progress=progress, **opts)
        rep = result.report
        found = {
            "kernel_size": rep.kernel_size,
            "noise_sigma": round(rep.noise_sigma, 5),
            "confidence": round(rep.confidence, 3),
            "decision": rep.decision,
            "blur": rep.blur,
            "warnings": rep.warnings,
        }
        return result.image, found

    return rewrite_photo(source, target, change, max_pixels=max_pixels, quality=quality)


def local_kernel_path(path: str) -> Path:
    """Where ``--save-kernel PATH`` writes the local kernels: ``PATH`` with ``_local`` after its stem."""
    target = Path(path)
    return target.with_name(f"{target.stem}_local{target.suffix}")


def write_local_kernels(path: Path, kernels: list[np.ndarray], grid: tuple[int, int]) -> None:
    """The local kernels (row-major over ``grid``): ``.npy`` a ``(rows, cols, n, n)`` array, an image
    a grid of previews each scaled to its maximum, one pixel apart."""
    import numpy as np

    from gencor.io import write_kernel

    rows, cols = grid
    stack = np.stack(kernels).reshape(rows, cols, *kernels[0].shape)
    if path.suffix.lower() == ".npy":
        write_kernel(path, stack)
        return
    n = kernels[0].shape[0]
    mosaic = np.zeros((rows * (n + 1) - 1, cols * (n + 1) - 1))
    for r in range(rows):
        for c in range(cols):
            k = stack[r, c]
            mosaic[r * (n + 1) : r * (n + 1) + n, c * (n + 1) : c * (n + 1) + n] = k / k.max()
    write_kernel(path, mosaic)


def _check_before_the_bar(args: argparse.Namespace, shape: tuple[int, ...]) -> None:
    """The checks of :func:`gencor.deblur` that need only the photo's shape, made before the progress
    bar starts so that no empty bar precedes the error."""
    from gencor.validate import check_kernel_size, check_side

    check_side(shape)
    if args.kernel_size != "auto":
        check_kernel_size(args.kernel_size, shape)


def run(args: argparse.Namespace) -> int | None:
    if is_batch(args.input, args.output):
        if args.save_kernel or args.plot or args.report:
            raise ValueError("--save-kernel, --plot and --report are for one photo; a batch writes what it found to report.csv in the output folder")
        return run_batch("deblur", args, options(args))
    if not single(args):
        return None
    import json
    import time

    from gencor.io import check_format, check_output_path, read_image, write_image, write_kernel, write_text
    from gencor.tasks.deblur import deblur

    loading = time.perf_counter()
    photo = read_image(args.input, max_pixels=max_pixels(args))
    loading = time.perf_counter() - loading
    out = check_output_path(args.output, args.input, suffixes=IMAGE_OUTPUTS)
    check_format(out, photo)
    _check_before_the_bar(args, photo.pixels.shape)
    local_paths = [str(local_kernel_path(p)) for p in args.save_kernel] if args.blur != "uniform" else []
    extras = [*args.save_kernel, *([args.plot] if args.plot else [])]
    for path in [*args.save_kernel, *local_paths]:
        check_output_path(path, args.input, out)
    if args.plot:
        check_output_path(args.plot, args.input, out, *args.save_kernel, *local_paths, suffixes=PLOT_OUTPUTS)
    if args.report:
        check_output_path(args.report, args.input, out, *extras, *local_paths, suffixes=frozenset({".json"}))
        extras.append(args.report)
    bar, update = progress_bar(args.quiet, "deblur")
    try:
        result = deblur(photo.pixels, channel_axis=-1 if photo.is_color else None, progress=update, trace=bool(args.plot), **options(args))
    finally:  # an error line must not be glued onto the bar
        if bar is not None:
            bar.close()
    saving = time.perf_counter()
    photo.pixels = result.image
    write_image(out, photo, quality=args.quality)
    for path in args.save_kernel:
        write_kernel(path, result.kernel)
    if result.local_kernels:
        for path in local_paths:
            write_local_kernels(Path(path), result.local_kernels, tuple(result.report.local["grid"]))
            extras.append(path)
    if args.plot:
        from gencor.plots import convergence_plot

        convergence_plot(result.estimate, Path(args.plot))
    report = result.report
    report.timings = {"load": loading, **report.timings, "save": time.perf_counter() - saving}
    if args.report:
        text = json.dumps(report.as_dict(), indent=2) + "\n"
        write_text(Path(args.report), text)
    for warning in report.warnings:
        print(f"gencor: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print(
            f"wrote {out}"
            + "".join(f", {p}" for p in extras)
            + f" (kernel {report.kernel_size} px{_local_summary(report.local) if report.blur == 'local' else ''}, noise {report.noise_sigma:.4f}, "
            f"confidence {report.confidence:.2f}, {report.decision}, {report.seconds:.1f} s)"
        )
    return None


def _local_summary(local: dict[str, Any]) -> str:
    """The local path in the summary line: its grid and how many windows kept their own kernel."""
    rows, cols = local["grid"]
    return f", local {rows}x{cols} grid ({sum(local['trusted'])} windows with kernels of their own)"
