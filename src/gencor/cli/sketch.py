"""``gencor sketch``: pencil drawing of a photo (Lu, Xu, Jia 2012)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gencor.cli.batch import add_batch_options, is_batch, run_batch, single
from gencor.cli.options import Progress, add_common, max_pixels, nonnegative_int, positive_float, rewrite_photo


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sketch",
        help="pencil drawing (Lu, Xu, Jia 2012) of the smoothed photo",
        description="Render INPUT as a pencil drawing: strokes from line-convolved gradients and a tone-matched procedural pencil texture, drawn on "
        "the L0-smoothed photo.",
    )
    p.add_argument("input", nargs="+", metavar="INPUT", help="photo (PNG, JPEG, TIFF; gray or color); several photos, folders or globs make a batch")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the drawing; for a batch, a folder")
    p.add_argument("--color", action="store_true", help="colored pencil (keeps the photo's chroma; needs a color photo)")
    p.add_argument("--lam", type=positive_float, default=0.01, metavar="L", help="strength of the smoothing applied first (default 0.01)")
    p.add_argument("--no-smooth", action="store_true", help="draw on the raw photo")
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="seed of the pencil texture (default 0)")
    add_common(p)
    add_batch_options(p)
    p.set_defaults(func=run)


def process(source: Path, target: Path, opts: dict[str, Any], *, max_pixels: int, quality: int, progress: Progress | None = None) -> dict[str, Any]:
    """Draw one photo; return its row of ``report.csv``."""
    from gencor.tasks.sketch import sketch

    return rewrite_photo(source, target, lambda pixels, axis: (sketch(pixels, channel_axis=axis, **opts).image, {}), max_pixels=max_pixels, quality=quality)


def run(args: argparse.Namespace) -> int | None:
    opts = {"color": args.color, "smoothing": None if args.no_smooth else args.lam, "seed": args.seed}
    if is_batch(args.input, args.output):
        return run_batch("sketch", args, opts)
    if single(args):
        process(Path(args.input), Path(args.output), opts, max_pixels=max_pixels(args), quality=args.quality)
        if not args.quiet:
            print(f"wrote {args.output}")
    return None
