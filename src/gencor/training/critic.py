"""Training the critic (:mod:`gencor.models.critic`) on synthetic camera shake.

Each sample is a gray crop of a BSDS500 training photo (a random quarter turn and flip), blurred by
a random camera-shake path of 9-75 px with real content at the borders, sometimes with clipped
highlights (the photo brightened up to 2x before the blur), Gaussian noise of sigma 0.001-0.02
(log-uniform), then 8-bit quantisation or a JPEG of quality 60-95. It is then deconvolved the way
the deblurring does it, with the prior weight of the measured noise (or 8x that, as the
conservative candidates do), by the true kernel and by kernels damaged the ways a blind estimator
fails. The target of a patch is its PSNR gain over the blurred patch, the restoration aligned to
the sharp crop by its best whole-pixel shift.
"""

from __future__ import annotations

import io
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from scipy import ndimage
from scipy.signal import fftconvolve
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from gencor.kernels.postprocess import center_kernel
from gencor.kernels.size import crop_kernel
from gencor.kernels.trajectory import random_motion_kernel
from gencor.layout import luminance
from gencor.models.critic import PATCH, WIDTH, Critic
from gencor.noise import estimate_noise
from gencor.tasks.deconv import LAM_MAX, deconvolve, default_lam
from gencor.training.deblur import resume_state, save_checkpoint

#: How the candidate kernels of a sample are made: the true kernel (twice as likely) and the
#: failures of blind estimators (see :func:`damage`).
KINDS = ("true", "true", "rotate", "scale", "other", "half", "smooth", "spurious", "small", "mirror")
#: Side of the crop kept per sample; patches are drawn inside it.
SIDE = 192
#: Kernel sizes drawn (odd), noise levels (log-uniform), JPEG qualities.
SIZES = (9, 75)
NOISE = (0.001, 0.02)
JPEG_QUALITY = (60, 95)
#: Shares of samples with clipped highlights, saved as JPEG, and candidates at the conservative weight.
CLIP_SHARE, JPEG_SHARE, CONSERVATIVE_SHARE = 0.3, 0.5, 0.4
#: The conservative candidates' prior weight, relative to the noise's (as in the deblurring).
CONSERVATIVE_LAM = 8.0
#: Mean squared error floor (so flat patches get a gain near 0) and the target's range, in dB.
MSE_FLOOR = (1 / 255) ** 2
GAIN_CLIP = 10.0
#: Whole-pixel shifts searched when the restoration is aligned to the sharp crop.
REACH = 6


@dataclass
class CriticTrainConfig:
    """Everything that determines the shipped critic."""

    data: Path = Path("../shared/data/train/BSDS500/train")
    out: Path = Path("gencor_critic.pt")
    seed: int = 0
    samples_per_image: int = 5
    candidates: int = 6
    val_fraction: float = 0.1
    width: int = WIDTH
    batch: int = 64
    steps: int | None = None
    lr: float = 1e-3
    checkpoint_every: int = 250
    jobs: int = 2
    quick: bool = False
    images: int | None = None

    def __post_init__(self) -> None:
        self.data, self.out = Path(self.data), Path(self.out)
        if self.quick:
            self.batch, self.width, self.checkpoint_every, self.samples_per_image = 8, 4, 10, 1
            self.images = self.images or 6
        if self.steps is None:
            self.steps = 20 if self.quick else 3000


def damage(k: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``k`` as a failing estimator might return it (``kind`` from :data:`KINDS`), same size, sum 1."""
    size = k.shape[0]
    if kind == "true":
        out = k
    elif kind == "rotate":
        out = ndimage.rotate(k, rng.uniform(20, 180) * rng.choice([-1, 1]), reshape=False, order=1)
    elif kind == "scale":
        zoom = ndimage.zoom(k, rng.choice([rng.uniform(0.35, 0.75), rng.uniform(1.3, 2.0)]), order=1)
        out = crop_kernel(np.clip(zoom, 0, None) / zoom.sum(), size)
    elif kind == "other":
        out = center_kernel(random_motion_kernel(size, rng))
    elif kind == "half":
        c = (size - 1) / 2
        yy, xx = np.mgrid[:size, :size]
        angle = rng.uniform(0, 2 * np.pi)
        kept = k * (((yy - c) * np.sin(angle) + (xx - c) * np.cos(angle)) > rng.uniform(-2, 2))
        out = center_kernel(kept / kept.sum()) if kept.sum() > 0.1 else k
    elif kind == "smooth":
        out = ndimage.gaussian_filter(k, rng.uniform(1, 3))
    elif kind == "spurious":
        out = k.copy()
        for _ in range(int(rng.integers(1, 4))):
            out[rng.integers(size), rng.integers(size)] += rng.uniform(0.05, 0.25)
    elif kind == "small":
        out = np.zeros((size, size))
        out[size // 2, size // 2] = 1.0
        out = ndimage.gaussian_filter(out, rng.uniform(0.5, 1.5))
    elif kind == "mirror":
        out = 0.5 * (k + k[::-1, ::-1]) if rng.uniform() < 0.5 else k.T
    else:
        raise ValueError(f"unknown kind of damage {kind!r}")
    out = np.clip(out, 0, None)
    return out / out.sum()


@dataclass
class Sample:
    """A blurred crop, its sharp original and the candidate restorations, ``(SIDE, SIDE)`` each."""

    blurred: np.ndarray
    sharp: np.ndarray
    restored: np.ndarray  # (candidates, SIDE, SIDE), as the deconvolution gave them: the critic's input
    aligned: np.ndarray  # the same, each shifted onto ``sharp``: the target's


def _observe(x: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Blurred (valid part, noisy, 8-bit or JPEG) and sharp images of the same frame."""
    if rng.uniform() < CLIP_SHARE:
        x = x * rng.uniform(1.2, 2.0)
    r = k.shape[0] // 2
    y = fftconvolve(x, k, mode="valid")
    sigma = math.exp(rng.uniform(math.log(NOISE[0]), math.log(NOISE[1])))
    y = np.clip(y + sigma * rng.standard_normal(y.shape), 0, 1)
    if rng.uniform() < JPEG_SHARE:
        buf = io.BytesIO()
        Image.fromarray(np.uint8(np.round(y * 255))).save(buf, format="JPEG", quality=int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)))
        y = np.asarray(Image.open(buf), dtype=float) / 255
    else:
        y = np.round(y * 255) / 255
    return y, np.clip(x[r:-r, r:-r], 0, 1)


def synthesize(path: Path, seed: int, candidates: int) -> Sample | None:
    """One sample from the photo at ``path`` (``None`` when the photo is too small for the kernel)."""
    rng = np.random.default_rng(seed)
    with Image.open(path) as im:
        x = luminance(np.asarray(im.convert("RGB"), dtype=float) / 255)
    x = np.rot90(x, int(rng.integers(4)))
    x = x[:, ::-1] if rng.uniform() < 0.5 else x
    size = int(rng.choice(np.arange(SIZES[0], SIZES[1] + 1, 2)))
    k = center_kernel(random_motion_kernel(size, rng))
    y, sharp = _observe(x, k, rng)
    h, w = y.shape
    if min(h, w) < SIDE:
        return None
    top, left = int(rng.integers(0, h - SIDE + 1)), int(rng.integers(0, w - SIDE + 1))
    # Deconvolve the crop with one kernel size of context, as inside a larger photo.
    t0, l0 = max(top - size, 0), max(left - size, 0)
    region = y[t0 : top + SIDE + size, l0 : left + SIDE + size]
    inner = (slice(top - t0, top - t0 + SIDE), slice(left - l0, left - l0 + SIDE))
    base = default_lam(estimate_noise(y))
    restored = []
    for kind in rng.choice(KINDS, size=candidates, replace=False):
        lam = min(base * (CONSERVATIVE_LAM if rng.uniform() < CONSERVATIVE_SHARE else 1.0), LAM_MAX)
        restored.append(deconvolve(region, damage(k, str(kind), rng), lam=lam).image[inner])
    crop = (slice(top, top + SIDE), slice(left, left + SIDE))
    restored_arr = np.array(restored, dtype=np.float32)
    return Sample(y[crop].astype(np.float32), sharp[crop].astype(np.float32), restored_arr, align(restored_arr, sharp[crop]))


def align(restored: np.ndarray, sharp: np.ndarray, reach: int = REACH) -> np.ndarray:
    """Each restoration rolled by the whole-pixel shift (within ``reach``) that best matches ``sharp``."""
    out = np.empty_like(restored)
    inner = (slice(reach, -reach), slice(reach, -reach))
    for i, t in enumerate(restored):
        shifts = [(a, b) for a in range(-reach, reach + 1) for b in range(-reach, reach + 1)]
        errors = [np.mean((np.roll(t, s, (0, 1))[inner] - sharp[inner]) ** 2) for s in shifts]
        out[i] = np.roll(t, shifts[int(np.argmin(errors))], (0, 1))
    return out


def patch_gain(blurred: np.ndarray, restored: np.ndarray, sharp: np.ndarray) -> np.ndarray:
    """PSNR gain (dB, clipped to +-GAIN_CLIP) of ``restored`` over ``blurred``, over the last two axes."""
    before = np.mean((blurred - sharp) ** 2, axis=(-2, -1))
    after = np.mean((restored - sharp) ** 2, axis=(-2, -1))
    return np.clip(10 * np.log10((before + MSE_FLOOR) / (after + MSE_FLOOR)), -GAIN_CLIP, GAIN_CLIP)


def _one(job: tuple[Path, int, int]) -> Sample | None:
    with threadpool_limits(1):
        return synthesize(*job)


def build_samples(files: list[Path], rng: np.random.Generator, cfg: CriticTrainConfig, *, desc: str, quiet: bool) -> list[Sample]:
    """``cfg.samples_per_image`` samples per file, made in ``cfg.jobs`` processes, each with its own seed."""
    jobs = [(f, int(rng.integers(2**32)), cfg.candidates) for _ in range(cfg.samples_per_image) for f in files]
    if cfg.jobs > 1:
        with ProcessPoolExecutor(max_workers=cfg.jobs) as pool:
            made = list(tqdm(pool.map(_one, jobs, chunksize=4), total=len(jobs), desc=desc, disable=quiet, leave=False))
    else:
        made = [_one(j) for j in tqdm(jobs, desc=desc, disable=quiet, leave=False)]
    return [s for s in made if s is not None]


def draw(samples: list[Sample], rng: np.random.Generator, n: int, *, augment: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` random patches: blurred, restored, target gain."""
    blurred, restored, gains = [], [], []
    for _ in range(n):
        s = samples[int(rng.integers(len(samples)))]
        j = int(rng.integers(len(s.restored)))
        r, c = (int(v) for v in rng.integers(REACH, SIDE - PATCH - REACH + 1, size=2))
        win = (slice(r, r + PATCH), slice(c, c + PATCH))
        b, t = s.blurred[win], s.restored[j][win]
        gains.append(patch_gain(b, s.aligned[j][win], s.sharp[win]))
        if augment:
            turns, flip = int(rng.integers(4)), rng.uniform() < 0.5
            b, t = np.rot90(b, turns), np.rot90(t, turns)
            b, t = (b[:, ::-1], t[:, ::-1]) if flip else (b, t)
        blurred.append(b)
        restored.append(t)
    as_t = lambda a: torch.from_numpy(np.ascontiguousarray(np.array(a, dtype=np.float32))[:, None])  # noqa: E731
    return as_t(blurred), as_t(restored), torch.tensor(np.array(gains, dtype=np.float32))


@dataclass
class CriticTrainResult:
    losses: list[float] = field(default_factory=list)
    #: Correlation of predicted and true patch gains on the held-out photos.
    val_correlation: float = math.nan
    val_mae: float = math.nan
    seconds: float = 0.0


def _validate(net: Critic, batches: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> tuple[float, float]:
    with torch.inference_mode():
        pred = torch.cat([net.eval()(b, t) for b, t, _ in batches]).numpy()
    true = torch.cat([g for *_, g in batches]).numpy()
    return float(np.corrcoef(pred, true)[0, 1]), float(np.mean(np.abs(pred - true)))


def _split(cfg: CriticTrainConfig) -> tuple[np.random.Generator, list[Path], list[Path]]:
    files = sorted(p for p in cfg.data.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not files:
        raise ValueError(f"no JPEG or PNG training images in {cfg.data}")
    files = files[: cfg.images] if cfg.images else files
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    order = rng.permutation(len(files))
    n_val = max(1, int(round(cfg.val_fraction * len(files))))
    return rng, [files[i] for i in order[n_val:]], [files[i] for i in order[:n_val]]


def train_critic(cfg: CriticTrainConfig, *, resume: bool = False, quiet: bool = False) -> CriticTrainResult:
    """Train the critic; checkpoints go to ``cfg.out`` (atomic), ``resume`` continues."""
    rng, train_files, val_files = _split(cfg)
    start = time.perf_counter()
    train_set = build_samples(train_files, rng, cfg, desc="synthesizing (train)", quiet=quiet)
    val_set = build_samples(val_files, rng, cfg, desc="synthesizing (validation)", quiet=quiet)
    if not train_set or not val_set:
        raise ValueError("no training samples: the photos are smaller than the crops")
    val_batches = [draw(val_set, np.random.default_rng(cfg.seed + 1), 4 * cfg.batch, augment=False) for _ in range(4)]
    net = Critic(width=cfg.width)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    assert cfg.steps is not None  # set by the config's __post_init__
    state, step, sched = resume_state(cfg.out, opt, cfg.steps, resume=resume)
    if "net" in state:
        net.load_state_dict(state["net"])
    draws = np.random.default_rng(cfg.seed + 2 + step)
    result = CriticTrainResult()
    torch.set_num_threads(2)
    bar = tqdm(total=cfg.steps, initial=step, desc="training", disable=quiet)
    while step < cfg.steps:
        net.train()
        blurred, restored, gain = draw(train_set, draws, cfg.batch)
        loss = torch.nn.functional.smooth_l1_loss(net(blurred, restored), gain)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        result.losses.append(float(loss.item()))
        bar.update(1)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            result.val_correlation, result.val_mae = _validate(net, val_batches)
            bar.set_postfix_str(f"loss {loss.item():.3f}, validation correlation {result.val_correlation:.3f}")
            save_checkpoint(cfg, _state(net, cfg, opt, step))
    bar.close()
    result.val_correlation, result.val_mae = _validate(net, val_batches)
    result.seconds = time.perf_counter() - start
    return result


def _state(net: Critic, cfg: CriticTrainConfig, opt: torch.optim.Optimizer, step: int) -> dict[str, Any]:
    return {"net": net.state_dict(), "width": cfg.width, "optimizer": opt.state_dict(), "step": step}
