"""``gencor sketch``: pencil drawing of a photo (Lu, Xu, Jia 2012)."""

from __future__ import annotations

import argparse
from typing import Any

from gencor.cli.options import IMAGE_OUTPUTS, add_common, max_pixels


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sketch",
        help="pencil drawing (Lu, Xu, Jia 2012) of the smoothed photo",
        description="Render INPUT as a pencil drawing: strokes from line-convolved gradients and a tone-matched procedural pencil texture, drawn on "
        "the L0-smoothed photo.",
    )
    p.add_argument("input", metavar="INPUT", help="photo (PNG, JPEG, TIFF; gray or color)")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the drawing")
    p.add_argument("--color", action="store_true", help="colored pencil (keeps the photo's chroma; needs a color photo)")
    p.add_argument("--lam", type=float, default=0.01, metavar="L", help="strength of the smoothing applied first (default 0.01)")
    p.add_argument("--no-smooth", action="store_true", help="draw on the raw photo")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the pencil texture (default 0)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from gencor.io import check_format, check_output_path, read_image, write_image
    from gencor.tasks.sketch import sketch

    photo = read_image(args.input, max_pixels=max_pixels(args))
    out = check_output_path(args.output, args.input, suffixes=IMAGE_OUTPUTS)
    check_format(out, photo)
    photo.pixels = sketch(
        photo.pixels,
        channel_axis=-1 if photo.is_color else None,
        color=args.color,
        smoothing=None if args.no_smooth else args.lam,
        seed=args.seed,
    ).image
    write_image(out, photo)
    if not args.quiet:
        print(f"wrote {out}")
