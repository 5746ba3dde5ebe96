"""Training the denoiser (``gencor train --task denoise``, :mod:`gencor.models.denoiser`).

Every batch is made afresh from crops of the training photos held in memory (BSDS500 train and
test splits and Train400, in gray): a random flip and quarter turn, a noise
level uniform in [0, 0.2], Gaussian noise, or signal-dependent noise (a sensor's shot and read
noise at the same mean level) on a share, clipped to [0, 1] on a share, 8-bit quantised on a
share and JPEG-compressed on a share. Color photos are denoised channel by channel in an opponent
space (:mod:`gencor.models.denoiser`), so the network is trained on gray crops only. Validation:
held-out training photos at fixed noise levels, never an evaluation set.

The CPU recipe runs in bfloat16 autocast where the CPU has bfloat16 matrix units (4x faster on the
development machine; the weights and the optimizer stay in float32).
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from gencor.models.denoiser import DenoiseNet, bf16_supported
from gencor.noise import DENOISE_SIGMA_MAX
from gencor.training.deblur import check_counts, load_checkpoint, psnr, save_checkpoint, split_files

#: Where the training photos are by default (relative to the repository root).
TRAIN_DIRS = (
    Path("../shared/data/train/BSDS500/train"),
    Path("../shared/data/train/BSDS500/test"),
    Path("../shared/data/train/Train400"),
)
#: Shares of the samples with signal-dependent noise, clipped to [0, 1], quantised to 8 bits and
#: JPEG-compressed (quality uniform in :data:`JPEG_QUALITY`).
SIGNAL_SHARE, CLIP_SHARE, QUANT_SHARE, JPEG_SHARE = 0.2, 0.25, 0.5, 0.15
JPEG_QUALITY = (60, 96)
#: Steps of the linear warm-up of the learning rate. At 1e-3 from the first step the 15-layer network
#: stayed the identity; warmed up to 5e-4 it learned slowly (22.7 dB at 25/255 after 1000 steps);
#: at 2e-4 it learned from the start (docs/MODEL_CARD.md).
WARMUP = 200
#: The loss weighs each crop by ``1 / (sigma^2 + LOSS_SIGMA_FLOOR^2)``: every level counts alike.
LOSS_SIGMA_FLOOR = 0.01
#: Largest gradient norm of a step (a safeguard against the occasional outlier batch).
GRAD_CLIP = 1.0
#: Validation noise levels (fractions of the range: 5, 15, 25 and 50 of 255).
VAL_SIGMAS = (5 / 255, 15 / 255, 25 / 255, 50 / 255)


@dataclass
class DenoiseTrainConfig:
    """Everything that determines the shipped denoiser weights."""

    data: tuple[Path, ...] = TRAIN_DIRS
    out: Path = Path("gencor_denoiser.pt")
    seed: int = 0
    width: int = 64
    depth: int = 15
    patch: int = 64
    batch: int = 64
    steps: int | None = None
    lr: float = 2e-4
    val_fraction: float = 0.05
    checkpoint_every: int = 500
    device: str = "cpu"
    #: "auto": bfloat16 autocast on a GPU or a CPU with bfloat16 units, else float32.
    precision: str = "auto"
    threads: int = 2
    quick: bool = False
    images: int | None = None

    def __post_init__(self) -> None:
        check_counts(self, "steps", "images", "width", "depth", "patch", "batch", "checkpoint_every")
        self.out = Path(self.out)
        if self.patch % 2:
            raise ValueError(f"the crop size must be even, not {self.patch}")
        if self.quick:
            self.width, self.depth, self.patch, self.batch, self.checkpoint_every, self.lr = 8, 4, 32, 8, 10, 3e-3
            self.images = self.images or 6
        if self.steps is None:
            self.steps = 20 if self.quick else (60000 if self.device == "cuda" else 12000)


@dataclass
class DenoiseTrainResult:
    losses: list[float] = field(default_factory=list)
    #: Validation PSNR of the network and of the noisy input at each of :data:`VAL_SIGMAS`.
    val_psnr: dict[float, float] = field(default_factory=dict)
    val_psnr_noisy: dict[float, float] = field(default_factory=dict)
    seconds: float = 0.0


def _load(files: list[Path], patch: int) -> list[np.ndarray]:
    """The photos in gray (``(1, H, W)`` uint8): color photos by their luma. Color photos are
    denoised in an opponent space, channel by channel, so the network only ever sees one plane."""
    gray = []
    for f in files:
        try:
            with Image.open(f) as im:
                lum = np.asarray(im.convert("L"))
        except OSError as exc:  # a cut or unreadable file
            raise ValueError(f"training photo {f}: {exc}") from None
        if min(lum.shape) < patch:
            raise ValueError(f"training photo {f}: {lum.shape[1]}x{lum.shape[0]} pixels, smaller than the {patch} px crops")
        gray.append(lum[None])
    return gray


def _crops(images: list[np.ndarray], n: int, patch: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random crops, flipped and turned at random, as float32 in [0, 1]."""
    out = []
    for k in rng.integers(0, len(images), size=n):
        img = images[k]
        i, j = int(rng.integers(0, img.shape[1] - patch + 1)), int(rng.integers(0, img.shape[2] - patch + 1))
        crop = np.rot90(img[:, i : i + patch, j : j + patch], int(rng.integers(4)), axes=(1, 2))
        out.append(crop[:, :, ::-1] if rng.uniform() < 0.5 else crop)
    return np.stack(out).astype(np.float32) / 255


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """``(C, H, W)`` in [0, 1] through JPEG at ``quality``."""
    buf = io.BytesIO()
    u8 = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    Image.fromarray(u8[0] if len(u8) == 1 else u8.transpose(1, 2, 0)).save(buf, format="JPEG", quality=quality)
    out = np.asarray(Image.open(buf), dtype=np.float32) / 255
    return out[None] if out.ndim == 2 else out.transpose(2, 0, 1)


def corrupt(clean: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noisy versions of the ``(N, C, H, W)`` batch ``clean`` at the levels ``sigma`` (``(N,)``),
    as a camera would give them (see the module's docstring)."""
    noisy = np.empty_like(clean)
    for n, (x, s) in enumerate(zip(clean, sigma, strict=True)):
        if rng.uniform() < SIGNAL_SHARE:
            # Shot noise proportional to the signal and read noise, with mean variance s**2.
            shot = rng.uniform(0.3, 1.0)
            var = s**2 * (shot * x / max(float(x.mean()), 1e-3) + (1 - shot))
            y = x + np.sqrt(var) * rng.standard_normal(x.shape, dtype=np.float32)
        else:
            y = x + s * rng.standard_normal(x.shape, dtype=np.float32)
        if rng.uniform() < CLIP_SHARE:
            y = np.clip(y, 0, 1)
        if rng.uniform() < JPEG_SHARE:
            y = _jpeg(y, int(rng.integers(*JPEG_QUALITY)))
        elif rng.uniform() < QUANT_SHARE:
            y = np.round(np.clip(y, 0, 1) * 255) / 255
        noisy[n] = y
    return noisy


def _validation(images: list[np.ndarray], cfg: DenoiseTrainConfig, seed: int) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Fixed Gaussian validation pairs ``(clean, noisy)`` per level of :data:`VAL_SIGMAS`."""
    rng = np.random.default_rng(seed)
    clean = _crops(images, 4 * cfg.batch if not cfg.quick else cfg.batch, cfg.patch, rng)
    return {s: (clean, clean + s * rng.standard_normal(clean.shape, dtype=np.float32)) for s in VAL_SIGMAS}


def _evaluate(net: DenoiseNet, pairs: dict[float, tuple[np.ndarray, np.ndarray]]) -> dict[float, float]:
    net.eval()
    out = {}
    with torch.inference_mode():
        for s, (clean, noisy) in pairs.items():
            pred = net(torch.from_numpy(noisy), torch.full((len(noisy),), s)).numpy()
            out[s] = psnr(pred, clean)
    net.train()
    return out


def train_denoiser(cfg: DenoiseTrainConfig, *, resume: bool = False, quiet: bool = False) -> DenoiseTrainResult:
    """Train on fresh noisy gray crops every batch; checkpoints to ``cfg.out``
    (atomic) every ``cfg.checkpoint_every`` steps."""
    assert cfg.steps is not None  # set by the config's __post_init__
    state = load_checkpoint(cfg.out, nets="net", width=cfg.width, steps=cfg.steps) if resume else {}
    _, train_files, val_files = split_files(cfg.data, cfg.images, cfg.seed, cfg.val_fraction)
    start = time.perf_counter()
    gray = _load(train_files, cfg.patch)
    val = _validation(_load(val_files, cfg.patch), cfg, cfg.seed + 1)
    device = torch.device(cfg.device)
    net = DenoiseNet(width=cfg.width, depth=cfg.depth)
    if state:
        net.load_state_dict(state["net"])
    net = net.to(device).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    if state:
        opt.load_state_dict(state["optimizer"])
    step = int(state.get("step", 0))
    total = cfg.steps
    # Linear warm-up, then a cosine decay to zero.
    for group in opt.param_groups:
        group.setdefault("initial_lr", cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / WARMUP) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total)), last_epoch=step - 1
    )
    batch_rng = np.random.default_rng(cfg.seed + 2 + step)
    bf16 = cfg.precision == "bfloat16" or (cfg.precision == "auto" and (device.type == "cuda" or bf16_supported()))
    result = DenoiseTrainResult()
    torch.set_num_threads(cfg.threads)
    bar = tqdm(total=cfg.steps, initial=step, desc="training denoiser", disable=True if quiet else None)
    while step < cfg.steps:
        opt.zero_grad(set_to_none=True)
        clean = _crops(gray, cfg.batch, cfg.patch, batch_rng)
        sigma = batch_rng.uniform(0, DENOISE_SIGMA_MAX, size=len(clean)).astype(np.float32)
        x = torch.from_numpy(corrupt(clean, sigma, batch_rng)).to(device).contiguous(memory_format=torch.channels_last)
        levels = torch.from_numpy(sigma).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            pred = net(x, levels)
        # Each crop's squared error relative to its noise energy: with the plain mean, the errors at
        # the high levels (up to 400x the energy) drowned the low ones, and the network learned to
        # leave noise of 5/255 nearly untouched (34.0 -> 34.2 dB on BSD68).
        errors = ((pred.float() - torch.from_numpy(clean).to(device)) ** 2).mean(dim=(1, 2, 3))
        weights = 1.0 / (levels.float() ** 2 + LOSS_SIGMA_FLOOR**2)
        loss = torch.sum(weights * errors) / torch.sum(weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), GRAD_CLIP)
        opt.step()
        sched.step()
        step += 1
        result.losses.append(loss.item())
        bar.update(1)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            net.cpu()
            result.val_psnr = _evaluate(net, val)
            net.to(device)
            bar.set_postfix_str(f"{result.val_psnr[VAL_SIGMAS[2]]:.2f} dB at 25/255")
            if quiet is False and bar.disable:
                print(f"step {step}: " + " ".join(f"{v:.2f}" for v in result.val_psnr.values()), flush=True)
            saved = {"net": {k: v.cpu() for k, v in net.state_dict().items()}, "width": cfg.width, "depth": cfg.depth, "step": step}
            # The finished weights are shipped as they are: without the optimizer's state (half the size).
            save_checkpoint(cfg, saved if step == cfg.steps else {**saved, "optimizer": opt.state_dict()})
    bar.close()
    result.val_psnr_noisy = {s: psnr(noisy, clean) for s, (clean, noisy) in val.items()}
    result.seconds = time.perf_counter() - start
    return result
