"""Training the Generator: synthetic camera shake on Train400, inputs collected from the estimator.

For each sharp training photo (augmented by flips and quarter turns *before* it is blurred, so
the two gradient directions stay consistent) we draw a camera-shake kernel, blur with real
content at the borders, add noise and quantise to 8 bits. Then the blind estimator runs on it
as it would at inference (with the identity Generator: the greedy first stage of a stage-wise
scheme), and a recording factory keeps the warm starts ``u0`` that the network would receive
at the first runs of every ``beta`` ladder, at every scale and alternation. The target is the
sharp image's gradient at that scale, aligned to the input by the best integer shift (the
estimated kernel may sit a pixel off the true one).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from scipy.signal import fftconvolve
from skimage.metrics import peak_signal_noise_ratio
from skimage.transform import resize
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from gencor.bench.synthetic import photo_files
from gencor.io import atomic_write
from gencor.kernels.estimate import estimate_kernel
from gencor.kernels.postprocess import center_kernel
from gencor.kernels.trajectory import random_motion_kernel
from gencor.models.generator import ResidualCNN
from gencor.operators.gradient import Gradient
from gencor.propagation.gcm import Generator, LpPrior


def check_counts(config: Any, *names: str) -> None:
    """A one-line error for a training config whose ``names`` are not whole numbers above zero
    (``None`` is a default) or whose seed is negative: checked before any work."""
    for name in names:
        value = getattr(config, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a whole number of 1 or more, got {value!r}")
    seed = config.seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number of 0 or more, got {seed!r}")


@dataclass
class TrainConfig:
    """Everything that determines the shipped weights. ``data``: one folder of sharp photos or several."""

    data: Path | tuple[Path, ...] = Path("../shared/data/train/Train400")
    out: Path = Path("gencor_generator.pt")
    seed: int = 0
    kernel_size: int = 31
    noise: tuple[float, float] = (0.002, 0.012)
    levels: int = 2
    per_scale: int = 3
    val_fraction: float = 0.1
    patch: int = 35
    patches_per_pair: int = 4
    width: int = 32
    batch: int = 64
    steps: int | None = None
    lr: float = 1e-3
    checkpoint_every: int = 250
    jobs: int = 2
    quick: bool = False
    images: int | None = None

    def __post_init__(self) -> None:
        check_counts(self, "steps", "images", "batch", "patch", "width", "checkpoint_every", "jobs")
        self.out = Path(self.out)
        if self.quick:
            self.batch, self.width, self.checkpoint_every = 16, 8, 20
            self.images = self.images or 6
        if self.steps is None:
            self.steps = 40 if self.quick else 4000


class Recorder:
    """A Generator factory that records the warm starts of the first ``levels`` runs per ladder."""

    def __init__(self, levels: int) -> None:
        self.levels = levels
        self.seen: dict[int, list[np.ndarray]] = {}

    def __call__(self, prior: LpPrior, gammas: tuple[float, ...], scale: int, iteration: int, level: int) -> Generator | None:
        if level >= self.levels:
            return None

        def record(u0: np.ndarray, stage: int) -> np.ndarray:
            self.seen.setdefault(scale, []).append(u0.copy())
            return u0

        return record


def augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random quarter turn, then a horizontal flip with probability 1/2."""
    img = np.rot90(img, int(rng.integers(4)))
    return np.ascontiguousarray(img[:, ::-1] if rng.uniform() < 0.5 else img)


def _align(u0: np.ndarray, target: np.ndarray, reach: int = 3) -> np.ndarray:
    """``target`` rolled by the integer shift (within ``reach``) that best matches ``u0``'s edges."""
    a, b = np.hypot(*u0), np.hypot(*target)
    best, shift = -np.inf, (0, 0)
    for di in range(-reach, reach + 1):
        for dj in range(-reach, reach + 1):
            score = float(np.sum(a * np.roll(b, (di, dj), axis=(0, 1))))
            if score > best:
                best, shift = score, (di, dj)
    return np.roll(target, shift, axis=(1, 2))


def collect_pairs(sharp: np.ndarray, rng: np.random.Generator, cfg: TrainConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(u0, target)`` gradient pairs, ``(2, h, w)`` each, from every scale of one photo."""
    k_full = center_kernel(random_motion_kernel(cfg.kernel_size, rng))
    r = cfg.kernel_size // 2
    blurred = fftconvolve(sharp, k_full, mode="valid")
    x = sharp[r:-r, r:-r]
    blurred = np.round(np.clip(blurred + rng.uniform(*cfg.noise) * rng.standard_normal(blurred.shape), 0, 1) * 255) / 255
    recorder = Recorder(cfg.levels)
    estimate = estimate_kernel(blurred, cfg.kernel_size, generator=recorder)
    pairs = []
    for s_idx, record in enumerate(estimate.scales):
        seen = recorder.seen.get(s_idx, [])
        if not seen:
            continue
        h, w = record.image_shape
        xs = resize(x, (h, w), order=1, anti_aliasing=h < x.shape[0]) if (h, w) != x.shape else x
        target = Gradient((h, w)).forward(xs)[:, :-1, :-1]  # drop the wrapped last row/column
        for i in rng.choice(len(seen), size=min(cfg.per_scale, len(seen)), replace=False):
            u0 = seen[i][:, : h - 1, : w - 1]
            pairs.append((u0, _align(u0, target)))
    return pairs


def _patches(pairs: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Random ``patch x patch`` crops of each pair (maps smaller than a patch are skipped)."""
    inputs, targets = [], []
    for u0, tgt in pairs:
        h, w = tgt.shape[1:]
        if min(h, w) < cfg.patch:
            continue
        for _ in range(cfg.patches_per_pair):
            i, j = int(rng.integers(0, h - cfg.patch + 1)), int(rng.integers(0, w - cfg.patch + 1))
            inputs.append(u0[:, i : i + cfg.patch, j : j + cfg.patch])
            targets.append(tgt[:, i : i + cfg.patch, j : j + cfg.patch])
    return np.asarray(inputs, dtype=np.float32).reshape(-1, 2, cfg.patch, cfg.patch), np.asarray(targets, dtype=np.float32).reshape(-1, 2, cfg.patch, cfg.patch)


def _one_image(job: tuple[Path, int, TrainConfig]) -> tuple[np.ndarray, np.ndarray]:
    path, seed, cfg = job
    rng = np.random.default_rng(seed)
    try:
        with Image.open(path) as im:
            sharp = np.asarray(im.convert("L"), dtype=float) / 255.0
        with threadpool_limits(1):
            return _patches(collect_pairs(augment(sharp, rng), rng, cfg), rng, cfg)
    except (OSError, ValueError) as exc:  # a cut or unreadable file, a photo too small for the kernel
        raise ValueError(f"training photo {path}: {exc}") from None


def build_dataset(files: list[Path], rng: np.random.Generator, cfg: TrainConfig, *, desc: str, quiet: bool) -> tuple[np.ndarray, np.ndarray]:
    """Patches from every file, collected in ``cfg.jobs`` processes; each file has its own seed."""
    jobs = [(f, int(s), cfg) for f, s in zip(files, rng.integers(0, 2**32, size=len(files)), strict=True)]
    if cfg.jobs > 1:
        with ProcessPoolExecutor(max_workers=cfg.jobs) as pool:
            parts = list(tqdm(pool.map(_one_image, jobs), total=len(jobs), desc=desc, disable=True if quiet else None, leave=False))
    else:
        parts = [_one_image(j) for j in tqdm(jobs, desc=desc, disable=True if quiet else None, leave=False)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _batches(n: int, batch: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch + 1, batch):
            yield order[start : start + batch]


def psnr(pred: np.ndarray, target: np.ndarray) -> float:
    """PSNR with peak 1 (images in [0, 1], and gradient maps of them)."""
    return float(peak_signal_noise_ratio(target, pred, data_range=1.0))


#: Photos a training run needs at the least: one for validation, one to train on.
MIN_PHOTOS = 2


def split_files(data: Path | Sequence[Path], images: int | None, seed: int, val_fraction: float) -> tuple[np.random.Generator, list[Path], list[Path]]:
    """The training photos of every folder of ``data`` (every format gencor reads) split into
    training and validation files by ``seed``; the returned generator carries on the run's random
    stream (and torch is seeded too)."""
    folders = [Path(data)] if isinstance(data, (str, Path)) else [Path(d) for d in data]
    files = photo_files(folders, what="training photos")
    files = files[:images] if images else files
    if len(files) < MIN_PHOTOS:
        raise ValueError(f"need at least {MIN_PHOTOS} training photos (one is kept for validation), found {len(files)} in {', '.join(map(str, folders))}")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    order = rng.permutation(len(files))
    n_val = max(1, int(round(val_fraction * len(files))))
    return rng, [files[i] for i in order[n_val:]], [files[i] for i in order[:n_val]]


def load_checkpoint(path: Path, *, nets: str, width: int, steps: int) -> dict[str, Any]:
    """The checkpoint of ``gencor train`` at ``path`` to resume from, read before any work: a one-line
    error when there is none, when it is not one (or holds no ``nets``), when its network width
    differs from ``width``, or when it already reached ``steps``."""
    if not path.is_file():
        raise ValueError(f"--resume: no checkpoint at {path}; train without --resume first")
    try:
        state = torch.load(path, weights_only=False, map_location="cpu")
        keys = ("optimizer", "step", "width", nets)
        if not isinstance(state, dict) or any(k not in state for k in keys):
            raise ValueError(f"it lacks {', '.join(k for k in keys if not isinstance(state, dict) or k not in state)}")
    except Exception as exc:  # torch raises whatever its unpickler meets in a file that is not a checkpoint
        raise ValueError(
            f"--resume: {path} is not a checkpoint of this training ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    if state["width"] != width:
        raise ValueError(f"--resume: {path} holds networks of width {state['width']}, this run trains width {width} (--quick or not?)")
    if int(state["step"]) >= steps:
        raise ValueError(f"--resume: {path} is already at step {state['step']}; give --steps above it to train further")
    return state


def resume_state(state: dict[str, Any], opt: torch.optim.Optimizer, total: int) -> tuple[int, torch.optim.lr_scheduler.LRScheduler]:
    """The step of the checkpoint ``state`` (0 when empty) and the cosine schedule over ``total``
    steps positioned at that step; the optimizer state is restored."""
    if state:
        opt.load_state_dict(state["optimizer"])
    step = int(state.get("step", 0))
    return step, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, last_epoch=step - 1 if step else -1)


def save_checkpoint(cfg: Any, state: dict[str, Any]) -> None:
    """``state`` plus the config dataclass (as strings), written atomically to ``cfg.out``."""
    full = {**state, "config": {k: str(v) for k, v in asdict(cfg).items()}}
    atomic_write(cfg.out, lambda tmp: torch.save(full, tmp))


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    val_psnr: float = math.nan
    val_psnr_identity: float = math.nan
    seconds: float = 0.0


def train(cfg: TrainConfig, *, resume: bool = False, quiet: bool = False) -> TrainResult:
    """Train the two direction networks; checkpoints go to ``cfg.out`` (atomic), ``resume`` continues."""
    assert cfg.steps is not None  # set by the config's __post_init__
    state = load_checkpoint(cfg.out, nets="nets", width=cfg.width, steps=cfg.steps) if resume else {}
    rng, train_files, val_files = split_files(cfg.data, cfg.images, cfg.seed, cfg.val_fraction)
    start = time.perf_counter()
    x_tr, t_tr = build_dataset(train_files, rng, cfg, desc="collecting (train)", quiet=quiet)
    x_va, t_va = build_dataset(val_files, rng, cfg, desc="collecting (validation)", quiet=quiet)
    if len(x_tr) < cfg.batch or not len(x_va):
        raise ValueError(
            f"only {len(x_tr)} training and {len(x_va)} validation patches from {len(train_files) + len(val_files)} photos; "
            f"use more or larger photos (at least {cfg.batch} patches to train, one to validate)"
        )
    nets = [ResidualCNN(width=cfg.width) for _ in range(2)]
    opt = torch.optim.Adam([p for n in nets for p in n.parameters()], lr=cfg.lr)
    step, sched = resume_state(state, opt, cfg.steps)
    for net, sd in zip(nets, state.get("nets", []), strict=False):
        net.load_state_dict(sd)
    result = TrainResult()
    batches = _batches(len(x_tr), cfg.batch, np.random.default_rng(cfg.seed + step))
    torch.set_num_threads(2)
    bar = tqdm(total=cfg.steps, initial=step, desc="training", disable=True if quiet else None)
    while step < cfg.steps:
        idx = next(batches)
        loss = 0.0
        opt.zero_grad()
        for d, net in enumerate(nets):
            net.train()
            pred = net(torch.from_numpy(x_tr[idx, d : d + 1]))
            part = torch.mean((pred - torch.from_numpy(t_tr[idx, d : d + 1])) ** 2)
            part.backward()
            loss += part.item()
        opt.step()
        sched.step()
        step += 1
        result.losses.append(loss)
        bar.update(1)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            result.val_psnr = evaluate(nets, x_va, t_va)
            bar.set_postfix_str(f"loss {loss:.2e}, val gradient PSNR {result.val_psnr:.2f} dB")
            save_checkpoint(cfg, {"nets": [n.state_dict() for n in nets], "width": cfg.width, "optimizer": opt.state_dict(), "step": step})
    bar.close()
    result.val_psnr = evaluate(nets, x_va, t_va)
    result.val_psnr_identity = psnr(x_va, t_va)
    result.seconds = time.perf_counter() - start
    return result


def evaluate(nets: list[ResidualCNN], x: np.ndarray, t: np.ndarray) -> float:
    with torch.inference_mode():
        pred = np.concatenate([net.eval()(torch.from_numpy(x[:, d : d + 1])).numpy() for d, net in enumerate(nets)], axis=1)
    return psnr(pred, t)
