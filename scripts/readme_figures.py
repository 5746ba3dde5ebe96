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


def gencor(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gencor", *args, "--quiet"], check=True)


def side_by_side(left: Path, right: Path, out: Path, labels: tuple[str, str]) -> None:
    a, b = (Image.open(p).convert("RGB") for p in (left, right))
    canvas = Image.new("RGB", (a.width + b.width + 8, max(a.height, b.height) + 22), "white")
    canvas.paste(a, (0, 22))
    canvas.paste(b, (a.width + 8, 22))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    draw.text((4, 3), labels[0], fill="black", font=font)
    draw.text((a.width + 12, 3), labels[1], fill="black", font=font)
    canvas.save(out)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / "tmp"
    tmp.mkdir(exist_ok=True)
    sharp = DATA / "astronaut_sharp.png"
    # Deblurring
    gencor("deblur", str(DATA / "astronaut_blurred.png"), "-o", str(tmp / "deblurred.png"))
    side_by_side(DATA / "astronaut_blurred.png", tmp / "deblurred.png", OUT / "deblur.png", ("blurred", "gencor deblur"))
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
    side_by_side(tmp / "holes.png", tmp / "filled.png", OUT / "inpaint.png", ("text overlay (mask)", "gencor inpaint"))
    # Smoothing and sketch
    gencor("smooth", str(sharp), "-o", str(tmp / "smooth.png"), "--lam", "0.02")
    side_by_side(sharp, tmp / "smooth.png", OUT / "smooth.png", ("photo", "gencor smooth --lam 0.02"))
    gencor("sketch", str(sharp), "-o", str(tmp / "sketch.png"), "--color")
    side_by_side(sharp, tmp / "sketch.png", OUT / "sketch.png", ("photo", "gencor sketch --color"))
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    main()
