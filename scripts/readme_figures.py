"""Make the README's before/after pictures with gencor's own commands, on the bundled example.

Run from the repository root: ``python scripts/readme_figures.py``. Writes ``docs/images/``.
The inpainting input is the bundled sharp photo with a text overlay drawn by this script
(white = observed in the mask, as ``gencor inpaint`` expects).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

DATA = Path("src/gencor/data")
OUT = Path("docs/images")
#: The part of the bundled photo shown in the deblurring figure (the face and the flag).
FACE = (100, 20, 400, 260)
#: Side of the enlarged kernel preview.
KERNEL_PREVIEW = 160


def gencor(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gencor", *args, "--quiet"], check=True)


def side_by_side(*panels: tuple[Path, str], out: Path, box: tuple[int, int, int, int] | None = None) -> None:
    """The images of ``panels`` in a row, each under its label, cut to ``box`` (left, top, right,
    bottom) when given."""
    images = [Image.open(p).convert("RGB") for p, _ in panels]
    if box is not None:
        images = [im.crop(box) for im in images]
    canvas = Image.new("RGB", (sum(im.width for im in images) + 8 * (len(images) - 1), max(im.height for im in images) + 22), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    x = 0
    for im, (_, label) in zip(images, panels, strict=True):
        canvas.paste(im, (x, 22))
        draw.text((x + 4, 3), label, fill="black", font=font)
        x += im.width + 8
    canvas.save(out)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / "tmp"
    tmp.mkdir(exist_ok=True)
    sharp = DATA / "astronaut_sharp.jpg"
    # Deblurring
    gencor("deblur", str(DATA / "astronaut_blurred.jpg"), "-o", str(tmp / "deblurred.png"), "--save-kernel", str(tmp / "kernel.png"))
    kernel = Image.open(tmp / "kernel.png").convert("RGB").resize((KERNEL_PREVIEW, KERNEL_PREVIEW), Image.Resampling.NEAREST)
    kernel.save(tmp / "kernel_big.png")
    true = np.load(DATA / "astronaut_kernel.npy")
    Image.fromarray(np.round(255 * true / true.max()).astype(np.uint8)).resize((KERNEL_PREVIEW, KERNEL_PREVIEW), Image.Resampling.NEAREST).save(
        tmp / "true_big.png"
    )
    side_by_side(
        (DATA / "astronaut_blurred.jpg", "blurred (JPEG)"),
        (tmp / "deblurred.png", "gencor deblur"),
        (sharp, "sharp (reference)"),
        out=OUT / "deblur.png",
        box=FACE,
    )
    side_by_side((tmp / "kernel_big.png", "estimated kernel"), (tmp / "true_big.png", "true kernel"), out=OUT / "deblur_kernel.png")
    # Inpainting: a text overlay
    img = Image.open(sharp).convert("RGB")
    mask = Image.new("L", img.size, 255)
    draw = ImageDraw.Draw(mask)
    font = ImageFont.load_default(size=22)
    for i, line in enumerate(("gencor fills", "missing pixels", "text removal")):
        draw.text((14, 30 + 80 * i), line, fill=0, font=font, stroke_width=1)
    mask.save(tmp / "mask.png")
    holes = Image.fromarray((np.asarray(img) * (np.asarray(mask)[..., None] > 0)).astype(np.uint8))
    holes.save(tmp / "holes.png")
    gencor("inpaint", str(tmp / "holes.png"), "--mask", str(tmp / "mask.png"), "-o", str(tmp / "filled.png"))
    side_by_side((tmp / "holes.png", "text overlay (mask)"), (tmp / "filled.png", "gencor inpaint"), out=OUT / "inpaint.png")
    # Smoothing and sketch
    gencor("smooth", str(sharp), "-o", str(tmp / "smooth.png"), "--lam", "0.02")
    side_by_side((sharp, "photo"), (tmp / "smooth.png", "gencor smooth --lam 0.02"), out=OUT / "smooth.png")
    gencor("sketch", str(sharp), "-o", str(tmp / "sketch.png"), "--color")
    side_by_side((sharp, "photo"), (tmp / "sketch.png", "gencor sketch --color"), out=OUT / "sketch.png")
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    main()
