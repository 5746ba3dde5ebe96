"""``gencor inpaint``: fill the missing pixels of a photo."""

from __future__ import annotations

import argparse
from typing import Any

from gencor.cli.options import IMAGE_OUTPUTS, add_common, max_pixels


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "inpaint",
        help="fill missing pixels (random drop-outs, text overlays, blocks)",
        description="Fill the pixels of INPUT that MASK marks as missing, with the GCM propagation and the shipped inpainting Generator.",
    )
    p.add_argument("input", metavar="INPUT", help="photo (PNG, JPEG, TIFF; gray or color)")
    p.add_argument(
        "--mask", required=True, metavar="MASK", help="image of the same size: white (255, or 1 in a 0/1 mask) where observed, black (0) where missing"
    )
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="where to write the filled photo")
    p.add_argument("--generator", choices=["cnn", "none"], default="cnn", help="'cnn' (shipped network; default) or 'none' (Corrector only)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from gencor.io import check_format, check_output_path, read_image, write_image
    from gencor.layout import luminance
    from gencor.tasks.inpaint import inpaint

    photo = read_image(args.input, max_pixels=max_pixels(args))
    mask = read_image(args.mask, max_pixels=max_pixels(args))
    out = check_output_path(args.output, args.input, args.mask, suffixes=IMAGE_OUTPUTS)
    check_format(out, photo)
    m = luminance(mask.pixels)
    if 0 < m.max() <= 1.0 / (2**mask.bit_depth - 1):
        m = m / m.max()  # a 0/1 mask (raw values 0 and 1): 1 means observed, as in the API
    result = inpaint(photo.pixels, m, channel_axis=-1 if photo.is_color else None, generator=args.generator)
    photo.pixels = result.image
    write_image(out, photo, quality=args.quality)
    if not args.quiet:
        print(
            f"wrote {out} ({100 * (1 - (m >= 0.5).mean()):.1f}% of the pixels filled, {int(result.accepted.sum())}/{result.accepted.size} Generator "
            f"proposals accepted)"
        )
