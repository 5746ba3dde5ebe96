"""``gencor smooth``: edge-preserving L0 gradient smoothing."""

from __future__ import annotations

import argparse
from typing import Any

from gencor.cli.options import IMAGE_OUTPUTS, add_common, max_pixels


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "smooth",
        help="edge-preserving L0 gradient smoothing",
        description="Flatten texture and keep edges: min ||x - y||^2 + LAM * (pixels with a non-zero gradient), run as the GCM propagation.",
    )
    p.add_argument("input", metavar="INPUT", help="photo (PNG, JPEG, TIFF; gray or color)")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the smoothed photo")
    p.add_argument("--lam", type=float, default=0.02, metavar="L", help="smoothing strength, as in Xu et al. 2011 (default 0.02; 0.005 light, 0.1 strong)")
    p.add_argument(
        "--stages", type=int, default=1, metavar="N", help="Generator-Corrector stages per continuation step: more reach a lower objective, slower (default 1)"
    )
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from gencor.io import check_format, check_output_path, read_image, write_image
    from gencor.tasks.smooth import smooth

    photo = read_image(args.input, max_pixels=max_pixels(args))
    out = check_output_path(args.output, args.input, suffixes=IMAGE_OUTPUTS)
    check_format(out, photo)
    photo.pixels = smooth(photo.pixels, lam=args.lam, channel_axis=-1 if photo.is_color else None, stages=args.stages).image
    write_image(out, photo)
    if not args.quiet:
        print(f"wrote {out}")
