"""``gencor smooth``: edge-preserving L0 gradient smoothing."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gencor.cli.batch import add_batch_options, is_batch, run_batch, single
from gencor.cli.options import Progress, add_common, max_pixels, positive_float, positive_int, rewrite_photo


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "smooth",
        help="edge-preserving L0 gradient smoothing",
        description="Flatten texture and keep edges: min ||x - y||^2 + LAM * (pixels with a non-zero gradient), run as the GCM propagation.",
    )
    p.add_argument("input", nargs="+", metavar="INPUT", help="photo (PNG, JPEG, TIFF; gray or color); several photos, folders or globs make a batch")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the smoothed photo; for a batch, a folder")
    p.add_argument(
        "--lam", type=positive_float, default=0.02, metavar="L", help="smoothing strength, as in Xu et al. 2011 (0.005 light, 0.1 strong; default 0.02)"
    )
    p.add_argument(
        "--stages",
        type=positive_int,
        default=1,
        metavar="N",
        help="Generator-Corrector stages per continuation step (more: lower objective, slower; default 1)",
    )
    add_common(p)
    add_batch_options(p)
    p.set_defaults(func=run)


def process(source: Path, target: Path, opts: dict[str, Any], *, max_pixels: int, quality: int, progress: Progress | None = None) -> dict[str, Any]:
    """Smooth one photo; return its row of ``report.csv``."""
    from gencor.tasks.smooth import smooth

    return rewrite_photo(source, target, lambda pixels, axis: (smooth(pixels, channel_axis=axis, **opts).image, {}), max_pixels=max_pixels, quality=quality)


def run(args: argparse.Namespace) -> int | None:
    opts = {"lam": args.lam, "stages": args.stages}
    if is_batch(args.input, args.output):
        return run_batch("smooth", args, opts)
    if single(args):
        process(Path(args.input), Path(args.output), opts, max_pixels=max_pixels(args), quality=args.quality)
        if not args.quiet:
            print(f"wrote {args.output}")
    return None
