"""Training the Generator: synthetic camera shake on Train400, inputs collected from the propagation.

For each sharp training photo (augmented by flips and quarter turns *before* it is blurred, so
the two gradient directions stay consistent) we draw a camera-shake kernel, blur with real
content at the borders, add noise and quantise to 8 bits. Then, at every scale of the pyramid,
the latent step runs with the true kernel and a recording Generator keeps the warm starts
``u0`` that a Generator would receive; the target is the sharp image's gradient at that scale.
Stage-wise collection with the true kernel keeps inputs and targets aligned.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy.signal import fftconvolve
from skimage.transform import resize
from tqdm import tqdm

from gencor.io import atomic_write
from gencor.kernels.estimate import latent_gradients, pyramid_sizes
from gencor.kernels.postprocess import center_kernel
from gencor.kernels.trajectory import random_motion_kernel
from gencor.models.generator import GradientDenoiser
from gencor.operators.boundary import extend_periodic
from gencor.operators.convolution import Convolution
from gencor.operators.gradient import Gradient
from gencor.propagation.fidelity import SplitFidelity
from gencor.propagation.gcm import Generator, LpPrior


@dataclass
class TrainConfig:
    """Everything that determines the shipped weights."""

    data: Path = Path("../shared/data/train/Train400")
    out: Path = Path("gencor_generator.pt")
    seed: int = 0
    kernel_size: int = 31
    noise: tuple[float, float] = (0.002, 0.012)
    lam: float = 0.004
    val_fraction: float = 0.1
    patch: int = 35
    patches_per_pair: int = 4
    width: int = 32
    batch: int = 64
    steps: int | None = None
    lr: float = 1e-3
    checkpoint_every: int = 250
    quick: bool = False
    images: int | None = None

    def __post_init__(self) -> None:
        self.data, self.out = Path(self.data), Path(self.out)
        if self.quick:
            self.batch, self.width, self.checkpoint_every = 16, 8, 20
            self.images = self.images or 6
        if self.steps is None:
            self.steps = 40 if self.quick else 3000


class Recorder:
    """A Generator that returns its input and keeps a copy: it sees exactly what a network would."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray:
        self.seen.append(u0.copy())
        return u0


def _augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    img = np.rot90(img, int(rng.integers(4)))
    return np.ascontiguousarray(img[:, ::-1] if rng.uniform() < 0.5 else img)


def collect_pairs(sharp: np.ndarray, rng: np.random.Generator, cfg: TrainConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(u0, target)`` gradient pairs, ``(2, h, w)`` each, from every scale of one photo."""
    k_full = center_kernel(random_motion_kernel(cfg.kernel_size, rng))
    r = cfg.kernel_size // 2
    blurred = fftconvolve(sharp, k_full, mode="valid")
    x = sharp[r:-r, r:-r]
    blurred = np.round(np.clip(blurred + rng.uniform(*cfg.noise) * rng.standard_normal(blurred.shape), 0, 1) * 255) / 255
    pairs = []
    for s_idx, (scale, ks) in enumerate(pyramid_sizes(cfg.kernel_size)):
        shape = (max(int(round(x.shape[0] * scale)), 2 * ks), max(int(round(x.shape[1] * scale)), 2 * ks))
        # Downsampling a thin trajectory needs anti-aliasing, or it can miss every tap.
        k = np.clip(resize(k_full, (ks, ks), order=1, anti_aliasing=True), 0, None) if ks != cfg.kernel_size else k_full
        k = k / k.sum()
        y = resize(blurred, shape, order=1, anti_aliasing=scale < 1)
        xs = resize(x, shape, order=1, anti_aliasing=scale < 1)
        y_ext = extend_periodic(y, ks)
        g = Gradient(y_ext.shape).forward(y_ext)
        recorder = Recorder()

        def factory(prior: LpPrior, gammas: tuple[float, ...], scale: int) -> Generator:
            return recorder

        lam = cfg.lam * float(rng.uniform(0.1, 1.0))
        latent_gradients(
            SplitFidelity(Convolution(k, y_ext.shape), y_ext, 1.0), LpPrior(lam, 0.0, group_axis=0), g,
            beta_start=8.0, beta_max=1e5, beta_rate=2.0, gamma_ratio=1.0, generator=factory, scale=s_idx, corrector=True,
        )
        target = Gradient(shape).forward(xs)[:, :-1, :-1]  # drop the wrapped last row/column
        picks = rng.choice(len(recorder.seen), size=min(3, len(recorder.seen)), replace=False)
        pairs += [(recorder.seen[i][:, : shape[0] - 1, : shape[1] - 1], target) for i in picks]
    return pairs


def _patches(pairs: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Random ``patch x patch`` crops of each pair (smaller maps are used whole... if large enough)."""
    inputs, targets = [], []
    for u0, tgt in pairs:
        h, w = tgt.shape[1:]
        if min(h, w) < cfg.patch:
            continue
        for _ in range(cfg.patches_per_pair):
            i, j = int(rng.integers(0, h - cfg.patch + 1)), int(rng.integers(0, w - cfg.patch + 1))
            inputs.append(u0[:, i : i + cfg.patch, j : j + cfg.patch])
            targets.append(tgt[:, i : i + cfg.patch, j : j + cfg.patch])
    return np.asarray(inputs, dtype=np.float32), np.asarray(targets, dtype=np.float32)


def build_dataset(files: list[Path], rng: np.random.Generator, cfg: TrainConfig, *, desc: str, quiet: bool) -> tuple[np.ndarray, np.ndarray]:
    pairs = []
    for f in tqdm(files, desc=desc, disable=quiet, leave=False):
        with Image.open(f) as im:
            sharp = np.asarray(im.convert("L"), dtype=float) / 255.0
        pairs += collect_pairs(_augment(sharp, rng), rng, cfg)
    return _patches(pairs, rng, cfg)


def _batches(n: int, batch: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch + 1, batch):
            yield order[start : start + batch]


def gradient_psnr(pred: np.ndarray, target: np.ndarray) -> float:
    """PSNR of gradient maps with peak 1 (the range of a gradient of a [0, 1] image)."""
    return float(10 * np.log10(1.0 / max(np.mean((pred - target) ** 2), 1e-12)))


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    val_psnr: float = math.nan
    val_psnr_identity: float = math.nan
    seconds: float = 0.0


def train(cfg: TrainConfig, *, resume: bool = False, quiet: bool = False) -> TrainResult:
    """Train the two direction networks; checkpoints go to ``cfg.out`` (atomic), ``resume`` continues."""
    files = sorted(cfg.data.glob("*.png"))
    if not files:
        raise ValueError(f"no PNG training images in {cfg.data}")
    files = files[: cfg.images] if cfg.images else files
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    order = rng.permutation(len(files))
    n_val = max(1, int(round(cfg.val_fraction * len(files))))
    val_files = [files[i] for i in order[:n_val]]
    train_files = [files[i] for i in order[n_val:]]
    start = time.perf_counter()
    x_tr, t_tr = build_dataset(train_files, rng, cfg, desc="collecting (train)", quiet=quiet)
    x_va, t_va = build_dataset(val_files, rng, cfg, desc="collecting (validation)", quiet=quiet)
    if len(x_tr) < cfg.batch:
        raise ValueError(f"only {len(x_tr)} training patches; use more images or a smaller --batch")
    nets = [GradientDenoiser(width=cfg.width) for _ in range(2)]
    opt = torch.optim.Adam([p for n in nets for p in n.parameters()], lr=cfg.lr)
    step = 0
    if resume and cfg.out.exists():
        state = torch.load(cfg.out, weights_only=False)
        for net, sd in zip(nets, state["nets"]):
            net.load_state_dict(sd)
        opt.load_state_dict(state["optimizer"])
        step = int(state["step"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps, last_epoch=step - 1 if step else -1)
    result = TrainResult()
    batches = _batches(len(x_tr), cfg.batch, np.random.default_rng(cfg.seed + step))
    torch.set_num_threads(2)
    bar = tqdm(total=cfg.steps, initial=step, desc="training", disable=quiet)
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
            save(nets, opt, step, cfg)
    bar.close()
    result.val_psnr = evaluate(nets, x_va, t_va)
    result.val_psnr_identity = gradient_psnr(x_va, t_va)
    result.seconds = time.perf_counter() - start
    return result


def evaluate(nets: list[GradientDenoiser], x: np.ndarray, t: np.ndarray) -> float:
    with torch.inference_mode():
        pred = np.concatenate([net.eval()(torch.from_numpy(x[:, d : d + 1])).numpy() for d, net in enumerate(nets)], axis=1)
    return gradient_psnr(pred, t)


def save(nets: list[GradientDenoiser], opt: torch.optim.Optimizer, step: int, cfg: TrainConfig) -> None:
    state = {"nets": [n.state_dict() for n in nets], "optimizer": opt.state_dict(), "step": step, "config": {k: str(v) for k, v in asdict(cfg).items()}}
    atomic_write(cfg.out, lambda tmp: torch.save(state, tmp))
