"""``gencor denoise``: remove noise with gencor's noise-conditional network."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gencor.cli.batch import add_batch_options, is_batch, run_batch, single
from gencor.cli.options import Progress, add_common, max_pixels, rewrite_photo
from gencor.noise import DENOISE_SIGMA_MAX


def sigma_option(text: str) -> float | None:
    """``auto`` (None) or a noise level from 0 to :data:`DENOISE_SIGMA_MAX` of the range."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number, got {text!r}") from None
    if 1 < value <= 255 * DENOISE_SIGMA_MAX:
        raise argparse.ArgumentTypeError(f"{text} is a fraction of the range: for {value:g} of 255 give {value / 255:.3g}")
    if not 0 <= value <= DENOISE_SIGMA_MAX:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a level from 0 to {DENOISE_SIGMA_MAX} of the range, got {text}")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "denoise",
        help="remove noise (a noise-conditional network; gray or color)",
        description="Remove noise from a photo with gencor's denoiser: a small noise-conditional network (FFDNet-like) trained on "
        "Gaussian, signal-dependent, clipped and JPEG-compressed noise up to 0.2 of the range. About 0.4 s per gray and 0.7 s per "
        "color megapixel on one core with bfloat16 units, a few times more elsewhere.",
    )
    p.add_argument("input", nargs="+", metavar="INPUT", help="photo (PNG, JPEG, TIFF; gray or color); several photos, folders or globs make a batch")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the denoised photo; for a batch, a folder")
    p.add_argument(
        "--sigma",
        type=sigma_option,
        default=None,
        metavar="auto|S",
        help=f"the noise level as a fraction of the range, 0 to {DENOISE_SIGMA_MAX} (25 of 255 is 0.098); auto (default) estimates "
        "it from the photo (a wavelet estimate, which reads fine texture as noise: give S for a textured photo). A larger level smooths more.",
    )
    add_common(p)
    add_batch_options(p)
    p.set_defaults(func=run)


def process(source: Path, target: Path, opts: dict[str, Any], *, max_pixels: int, quality: int, progress: Progress | None = None) -> dict[str, Any]:
    """Denoise one photo; return its row of ``report.csv`` (with the noise level used)."""
    from gencor.tasks.denoise import denoise

    def change(pixels: Any, axis: int | None) -> tuple[Any, dict[str, Any]]:
        result = denoise(pixels, channel_axis=axis, **opts)
        return result.image, {"sigma": round(result.sigma, 5)}

    return rewrite_photo(source, target, change, max_pixels=max_pixels, quality=quality)


def run(args: argparse.Namespace) -> int | None:
    opts = {"sigma": args.sigma}
    if is_batch(args.input, args.output):
        return run_batch("denoise", args, opts)
    if single(args):
        row = process(Path(args.input), Path(args.output), opts, max_pixels=max_pixels(args), quality=args.quality)
        if not args.quiet:
            print(f"wrote {args.output} (noise level {row['sigma']:.4f})")
    return None
