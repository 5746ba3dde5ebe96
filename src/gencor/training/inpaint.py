"""Training the inpainting Generator (:mod:`gencor.models.inpainter`): Train400 crops with
synthetic masks (random drop-outs, text, strokes and blocks); the inputs are what the
propagation's first stage sees (:func:`gencor.tasks.inpaint.fill_missing`)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from gencor.models.inpainter import InpaintUNet
from gencor.tasks.inpaint import fill_missing
from gencor.training.deblur import augment, check_counts, load_checkpoint, psnr, resume_state, save_checkpoint, split_files

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "2018", "photo", "copyright", "sample", "draft", "gencor", "image", "text"]


def random_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """``observed`` map of one of four kinds: random drop-outs (30-85 %), text, strokes, blocks."""
    h, w = shape
    kind = rng.choice(["random", "text", "strokes", "blocks"], p=[0.45, 0.35, 0.1, 0.1])
    if kind == "random":
        return rng.uniform(size=shape) >= rng.uniform(0.3, 0.85)
    im = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(im)
    if kind == "text":
        for _ in range(int(rng.integers(2, 8))):
            font = ImageFont.load_default(size=int(rng.integers(10, 34)))
            words = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 4))))
            draw.text((int(rng.integers(-20, w)), int(rng.integers(-10, h))), words, font=font, fill=0, stroke_width=int(rng.integers(0, 2)))
    elif kind == "strokes":
        for _ in range(int(rng.integers(2, 6))):
            pts = [tuple(int(v) for v in rng.integers(0, (w, h))) for _ in range(3)]
            draw.line(pts, fill=0, width=int(rng.integers(2, 9)))
    else:
        for _ in range(int(rng.integers(1, 4))):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            draw.rectangle([x0, y0, x0 + int(rng.integers(4, 20)), y0 + int(rng.integers(4, 20))], fill=0)
    return np.asarray(im) > 0


@dataclass
class InpaintTrainConfig:
    """Everything that determines the shipped inpainting weights. ``data``: one folder of sharp photos or several."""

    data: Path | tuple[Path, ...] = Path("../shared/data/train/Train400")
    out: Path = Path("gencor_inpainter.pt")
    seed: int = 0
    width: int = 32
    patch: int = 96
    crops_per_image: int = 8
    batch: int = 16
    steps: int | None = None
    lr: float = 1e-3
    val_fraction: float = 0.1
    checkpoint_every: int = 500
    quick: bool = False
    images: int | None = None

    def __post_init__(self) -> None:
        check_counts(self, "steps", "images", "width", "patch", "crops_per_image", "batch", "checkpoint_every")
        self.out = Path(self.out)
        if self.quick:
            self.width, self.patch, self.checkpoint_every = 8, 32, 20
            self.images = self.images or 6
        if self.steps is None:
            self.steps = 40 if self.quick else 8000


@dataclass
class InpaintTrainResult:
    losses: list[float] = field(default_factory=list)
    val_psnr: float = math.nan
    val_psnr_fill: float = math.nan
    seconds: float = 0.0


def _crops(files: list[Path], rng: np.random.Generator, cfg: InpaintTrainConfig) -> np.ndarray:
    out = []
    for f in files:
        try:
            with Image.open(f) as im:
                img = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
        except OSError as exc:  # a cut or unreadable file
            raise ValueError(f"training photo {f}: {exc}") from None
        if min(img.shape) < cfg.patch:
            raise ValueError(f"training photo {f}: {img.shape[1]}x{img.shape[0]} pixels, smaller than the {cfg.patch} px crops")
        for _ in range(cfg.crops_per_image):
            i, j = int(rng.integers(0, img.shape[0] - cfg.patch + 1)), int(rng.integers(0, img.shape[1] - cfg.patch + 1))
            out.append(augment(img[i : i + cfg.patch, j : j + cfg.patch], rng))
    return np.stack(out)


def _inputs(clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(fill, mask)`` input pairs as the propagation's first stage sees them, 8-bit observations."""
    masks = np.stack([random_mask(c.shape, rng) for c in clean])
    fills = np.stack([fill_missing(np.round(c * 255) / 255, m) for c, m in zip(clean, masks, strict=True)])
    return np.stack([fills, masks], axis=1).astype(np.float32), masks


def train_inpainter(cfg: InpaintTrainConfig, *, resume: bool = False, quiet: bool = False) -> InpaintTrainResult:
    """Train on random crops with fresh masks every batch; checkpoints to ``cfg.out`` (atomic)."""
    assert cfg.steps is not None  # set by the config's __post_init__
    state = load_checkpoint(cfg.out, nets="net", width=cfg.width, steps=cfg.steps) if resume else {}
    rng, train_files, val_files = split_files(cfg.data, cfg.images, cfg.seed, cfg.val_fraction)
    start = time.perf_counter()
    train_crops = _crops(train_files, rng, cfg)
    val_crops = _crops(val_files, rng, cfg)
    val_x, _ = _inputs(val_crops, np.random.default_rng(cfg.seed + 1))
    net = InpaintUNet(width=cfg.width)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    step, sched = resume_state(state, opt, cfg.steps)
    if state:
        net.load_state_dict(state["net"])
    batch_rng = np.random.default_rng(cfg.seed + 2 + step)
    result = InpaintTrainResult()
    torch.set_num_threads(2)
    bar = tqdm(total=cfg.steps, initial=step, desc="training inpainter", disable=True if quiet else None)
    while step < cfg.steps:
        clean = train_crops[batch_rng.integers(0, len(train_crops), size=cfg.batch)]
        x, observed = _inputs(clean, batch_rng)
        net.train()
        opt.zero_grad()
        # Only the holes count: the Generator keeps the warm start on observed pixels.
        missing = torch.from_numpy(~observed[:, None])
        err = (net(torch.from_numpy(x)) - torch.from_numpy(clean[:, None])) ** 2
        loss = err[missing].mean() if bool(missing.any()) else err.mean()
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        result.losses.append(loss.item())
        bar.update(1)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            result.val_psnr = _evaluate(net, val_x, val_crops)
            bar.set_postfix_str(f"loss {loss.item():.2e}, val PSNR {result.val_psnr:.2f} dB")
            save_checkpoint(cfg, {"net": net.state_dict(), "width": cfg.width, "optimizer": opt.state_dict(), "step": step})
    bar.close()
    result.val_psnr = _evaluate(net, val_x, val_crops)
    result.val_psnr_fill = psnr(val_x[:, 0], val_crops)
    result.seconds = time.perf_counter() - start
    return result


def _evaluate(net: InpaintUNet, x: np.ndarray, clean: np.ndarray) -> float:
    with torch.inference_mode():
        pred = net.eval()(torch.from_numpy(x))[:, 0].numpy()
    return psnr(np.where(x[:, 1] > 0, x[:, 0], pred), clean)
