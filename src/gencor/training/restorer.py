"""Training the final stage's networks (``gencor train --task deblur``): the restoring Generator and
the blur score of ``Psi_D`` (see :mod:`gencor.models.restorer`).

Each sample is made as a photo would be: a gray crop of a training photo (BSDS500 train and test
splits, Train400; a random flip and quarter turn), a camera-shake kernel from gencor's trajectory
model (extent up to 75 px), clipped highlights on a share of the photos (the scene pushed above
white before the blur, the sensor clipping at 1), Gaussian noise up to 0.02, 8-bit quantisation,
and JPEG on a share. The photo is deconvolved as the pipeline would: with the true kernel or a
damaged one (resized, smoothed: the estimator's typical errors), the noise-based prior weight or
its conservative multiple. The Generator learns deconvolution -> sharp crop (L1); the blur score
learns sharp crop (0) against the blurred photo and the deconvolution (1). ``nu`` is then set on
the training samples: the smallest weight at which ``Psi_D`` ranks the sharp crop above the
deconvolution on :data:`NU_RANKED` of them. Validation: photos of scikit-image's samples, never
an evaluation set.
"""

from __future__ import annotations

import io
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from scipy import ndimage
from scipy.signal import fftconvolve
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from gencor.bench.synthetic import VALIDATION_PHOTOS, load_gray, photo_files, with_lights
from gencor.io import atomic_write
from gencor.kernels.postprocess import center_kernel
from gencor.kernels.trajectory import random_motion_kernel
from gencor.models.restorer import NOISE_SCALE, BlurScore, Restorer, RestorerNets, blur_score
from gencor.noise import estimate_noise
from gencor.propagation.final import FinalObjective
from gencor.tasks.deconv import CLIP_LEVEL, LAM_MAX, deconvolve, default_lam
from gencor.training.deblur import check_counts

#: Where the training photos are by default (relative to the repository root).
TRAIN_DIRS = (
    Path("../shared/data/train/BSDS500/train"),
    Path("../shared/data/train/BSDS500/test"),
    Path("../shared/data/train/Train400"),
)
#: Shares of the samples with clipped highlights, with JPEG, with a damaged kernel, and deconvolved
#: with the conservative prior weight (the pipeline's multiple, 8x).
SATURATED_SHARE, JPEG_SHARE, DAMAGED_SHARE, CONSERVATIVE_SHARE = 0.25, 0.3, 0.5, 0.25
CONSERVATIVE_LAM = 8.0
#: ``nu`` is the smallest of :data:`NU_GRID` at which ``Psi_D`` ranks the sharp crop first on this
#: share of the training samples deconvolved with the true kernel.
NU_RANKED = 0.9
NU_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


@dataclass
class RestorerTrainConfig:
    """Everything that determines the shipped weights. ``device="cuda"`` is the GPU recipe (more
    samples, steps and a larger batch); the CPU recipe is the same, smaller."""

    data: tuple[Path, ...] = TRAIN_DIRS
    out: Path = Path("gencor_restorer.pt")
    device: str = "cpu"
    seed: int = 0
    patch: int = 176
    crop: int = 96
    max_extent: float = 75.0
    max_noise: float = 0.02
    samples: int | None = None
    val_samples: int = 40
    steps: int | None = None
    batch: int | None = None
    lr: float = 5e-4
    clip: float = 1.0
    width: int = 32
    score_width: int = 24
    checkpoint_every: int = 250
    jobs: int = 2
    quick: bool = False
    images: int | None = None

    def __post_init__(self) -> None:
        check_counts(self, "steps", "images", "samples", "val_samples", "batch", "patch", "crop", "width", "score_width", "checkpoint_every", "jobs")
        gpu = self.device != "cpu"
        if self.quick:
            self.samples, self.val_samples, self.patch, self.crop, self.max_extent = self.samples or 24, 4, 64, 48, 15.0
            self.width, self.score_width, self.steps, self.batch = 8, 8, self.steps or 30, self.batch or 4
        self.samples = self.samples or (24000 if gpu else 3000)
        self.steps = self.steps or (12000 if gpu else 2000)
        self.batch = self.batch or (64 if gpu else 12)


def _files(dirs: tuple[Path, ...], images: int | None) -> list[Path]:
    """The training photos of every folder, every format gencor reads; the first ``images``."""
    files = sorted(photo_files(dirs, what="training photos"))
    return files[:images] if images else files


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.round(img * 255).astype(np.uint8)).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(buf), dtype=np.float64) / 255


def damaged(k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``k`` with an estimator's typical errors: resized by up to 15 %, smoothed, small taps cut."""
    zoomed = np.clip(ndimage.zoom(k, rng.uniform(0.85, 1.15), order=1), 0, None)
    zoomed = ndimage.gaussian_filter(zoomed, rng.uniform(0.0, 0.8))
    zoomed[zoomed < 0.05 * zoomed.max()] = 0
    size = max(zoomed.shape) | 1
    out = np.zeros((size, size))
    out[: zoomed.shape[0], : zoomed.shape[1]] = zoomed
    return center_kernel(out / out.sum())


@dataclass
class Sample:
    """One training pair: the deconvolution, the blurred photo, its noise, the sharp crop; and
    what ``Psi`` needs (the kernel used, the prior weight, whether the kernel was the true one)."""

    deconvolved: np.ndarray
    blurred: np.ndarray
    noise: float
    sharp: np.ndarray
    kernel: np.ndarray
    lam: float
    true_kernel: bool


def _gray(source: Path | str) -> np.ndarray:
    """A training photo, or a validation photo of scikit-image (``skimage:NAME``) as its 8-bit gray
    version, made in memory."""
    if str(source).startswith("skimage:"):
        return np.round(load_gray(str(source)) * 255) / 255
    try:
        return load_gray(str(source))
    except OSError as exc:  # a cut or unreadable file
        raise ValueError(f"training photo {source}: {exc}") from None


def make_sample(path: Path | str, seed: int, cfg: RestorerTrainConfig) -> Sample:
    """One synthetic sample from the photo at ``path`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    gray = _gray(path)
    p = cfg.patch
    if min(gray.shape) < p + 2:  # the crop and the smallest kernel
        raise ValueError(f"training photo {path}: {gray.shape[1]}x{gray.shape[0]} pixels, smaller than the {p + 2} px the samples are cut from")
    photo = np.rot90(gray, int(rng.integers(4)))
    photo = photo[:, ::-1] if rng.uniform() < 0.5 else photo
    room = min(min(photo.shape) - p, p // 2)  # the largest kernel the photo and the crop leave room for
    extent = min(3 + (cfg.max_extent - 3) * rng.uniform() ** 1.5, room - 2)
    size = max(int(np.ceil(extent)) + 2, 3) | 1
    k = center_kernel(random_motion_kernel(size, rng, extent=extent))
    big = p + size - 1
    top, left = (int(rng.integers(0, n - big + 1)) for n in photo.shape)
    scene = np.array(photo[top : top + big, left : left + big])
    if rng.uniform() < SATURATED_SHARE:
        scene = with_lights(scene, rng)
    r = size // 2
    sharp = np.clip(scene[r : r + p, r : r + p], 0, 1)
    sigma = 0.0 if rng.uniform() < 0.1 else float(np.exp(rng.uniform(np.log(0.001), np.log(cfg.max_noise))))
    blurred = np.clip(fftconvolve(scene, k, mode="valid") + sigma * rng.standard_normal((p, p)), 0, 1)
    blurred = _jpeg(blurred, int(rng.integers(75, 96))) if rng.uniform() < JPEG_SHARE else np.round(blurred * 255) / 255
    true_kernel = rng.uniform() >= DAMAGED_SHARE
    used = k if true_kernel else damaged(k, rng)
    if max(used.shape) > p // 2:  # the deconvolution needs the kernel within half the crop
        used, true_kernel = k, True
    noise = estimate_noise(blurred)
    lam = default_lam(noise) * (CONSERVATIVE_LAM if rng.uniform() < CONSERVATIVE_SHARE else 1.0)
    deconvolved = deconvolve(blurred, used, lam=min(lam, LAM_MAX), method="hyper-laplacian").image
    f32 = np.float32
    return Sample(deconvolved.astype(f32), blurred.astype(f32), noise, sharp.astype(f32), used, float(min(lam, LAM_MAX)), true_kernel)


def _sample_job(job: tuple[Path | str, int, RestorerTrainConfig]) -> Sample:
    with threadpool_limits(1):
        return make_sample(*job)


def build_samples(files: list[Path] | list[str], n: int, rng: np.random.Generator, cfg: RestorerTrainConfig, *, desc: str, quiet: bool) -> list[Sample]:
    jobs = [(files[int(rng.integers(len(files)))], int(rng.integers(2**31)), cfg) for _ in range(n)]
    if cfg.jobs <= 1:
        return [_sample_job(j) for j in tqdm(jobs, desc=desc, disable=True if quiet else None)]
    with ProcessPoolExecutor(cfg.jobs) as pool:
        return list(tqdm(pool.map(_sample_job, jobs, chunksize=8), total=n, desc=desc, disable=True if quiet else None))


#: The validation photos: scikit-image's samples (those of ``gencor bench validation``), read in
#: memory so that no file is written, and none of the user's is read.
VALIDATION_SOURCES = [f"skimage:{name}" for name in VALIDATION_PHOTOS]


def _stack(samples: list[Sample]) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs ``(N, 3, P, P)`` and targets ``(N, 1, P, P)``."""
    x = np.stack([np.stack([s.deconvolved, s.blurred, np.full_like(s.blurred, s.noise / NOISE_SCALE)]) for s in samples])
    return x.astype(np.float32), np.stack([s.sharp for s in samples])[:, None]


def _augment(x: np.ndarray, t: np.ndarray, rng: np.random.Generator, crop: int) -> tuple[np.ndarray, np.ndarray]:
    r, c = (int(v) for v in rng.integers(0, x.shape[-1] - crop + 1, 2))
    return x[..., r : r + crop, c : c + crop], t[..., r : r + crop, c : c + crop]


@dataclass
class RestorerTrainResult:
    losses: list[float] = field(default_factory=list)
    val_psnr: float = math.nan
    val_psnr_input: float = math.nan
    nu: float = math.nan
    ranked: dict[float, float] = field(default_factory=dict)
    val_accepted: float = math.nan
    seconds: float = 0.0


def _psnr(a: np.ndarray, b: np.ndarray, margin: int = 8) -> float:
    inner = (..., slice(margin, -margin), slice(margin, -margin))
    return float(10 * np.log10(1.0 / max(np.mean((a[inner] - b[inner]) ** 2), 1e-12)))


def choose_nu(nets: RestorerNets, samples: list[Sample]) -> tuple[float, dict[float, float]]:
    """The smallest ``nu`` of :data:`NU_GRID` at which ``Psi_D`` ranks the sharp crop above the
    deconvolution on :data:`NU_RANKED` of the true-kernel samples; and the share at every ``nu``."""
    pairs = []
    for s in samples:
        if not s.true_kernel:
            continue
        weight = (s.blurred < CLIP_LEVEL).astype(float)
        obj = FinalObjective(s.blurred.astype(float), s.kernel, s.lam, 1.0, lambda x: blur_score(nets, x), weight=weight)
        sharp, dec = obj.terms(s.sharp.astype(float)), obj.terms(s.deconvolved.astype(float))
        pairs.append((sharp[0] + sharp[1] - dec[0] - dec[1], dec[2] - sharp[2]))  # Psi's gap, D's gap
    gaps = np.array(pairs)
    shares = {nu: float(np.mean(gaps[:, 0] < nu * gaps[:, 1])) for nu in NU_GRID}
    chosen = next((nu for nu in NU_GRID if shares[nu] >= NU_RANKED), NU_GRID[-1])
    return chosen, shares


def save(cfg: RestorerTrainConfig, nets: RestorerNets, extra: dict[str, Any]) -> None:
    state = {
        "restorer": nets.restorer.state_dict(),
        "score": nets.score.state_dict(),
        "restorer_width": cfg.width,
        "score_width": cfg.score_width,
        "nu": nets.nu,
        **extra,
        "config": {k: str(v) for k, v in asdict(cfg).items()},
    }
    atomic_write(cfg.out, lambda tmp: torch.save(state, tmp))


def train_restorer(cfg: RestorerTrainConfig, *, quiet: bool = False) -> RestorerTrainResult:
    """Make the samples, train both networks, choose ``nu``, validate; weights go to ``cfg.out``."""
    start = time.perf_counter()
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but torch sees no GPU here; use --device cpu")
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    assert cfg.samples is not None and cfg.steps is not None and cfg.batch is not None  # set in __post_init__
    train_set = build_samples(_files(cfg.data, cfg.images), cfg.samples, rng, cfg, desc="samples (train)", quiet=quiet)
    val_set = build_samples(VALIDATION_SOURCES, cfg.val_samples, rng, cfg, desc="samples (validation)", quiet=quiet)
    x_tr, t_tr = _stack(train_set)
    restorer, score = Restorer(cfg.width).to(device), BlurScore(cfg.score_width).to(device)
    opt = torch.optim.Adam([*restorer.parameters(), *score.parameters()], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps)
    if device.type == "cpu":
        torch.set_num_threads(max(cfg.jobs, 1))
    result = RestorerTrainResult()
    bar = tqdm(total=cfg.steps, desc="training", disable=True if quiet else None)
    for step in range(1, cfg.steps + 1):
        idx = rng.integers(0, len(x_tr), cfg.batch)
        xb, tb = _augment(x_tr[idx], t_tr[idx], rng, cfg.crop)
        xb_t, tb_t = torch.from_numpy(np.ascontiguousarray(xb)).to(device), torch.from_numpy(np.ascontiguousarray(tb)).to(device)
        restore_loss = torch.mean(torch.abs(restorer(xb_t) - tb_t))
        # The blur score: sharp crops (0) against the blurred photos and the deconvolutions (1).
        images = torch.cat([tb_t, xb_t[:, 1:2], xb_t[:, :1]])
        labels = torch.cat([torch.zeros(len(tb_t)), torch.ones(2 * len(tb_t))]).to(device)
        logits = score(images).mean(dim=(1, 2, 3))
        weights = torch.cat([torch.full((len(tb_t),), 1.0), torch.full((2 * len(tb_t),), 0.5)]).to(device)
        score_loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, weight=weights)
        opt.zero_grad()
        (restore_loss + score_loss).backward()
        torch.nn.utils.clip_grad_norm_([*restorer.parameters(), *score.parameters()], cfg.clip)
        opt.step()
        sched.step()
        result.losses.append(float(restore_loss.item()))
        bar.update(1)
        if step % cfg.checkpoint_every == 0:
            bar.set_postfix_str(f"L1 {np.mean(result.losses[-50:]):.4f}, score {score_loss.item():.3f}")
    bar.close()
    restorer, score = restorer.cpu().eval(), score.cpu().eval()
    nets = RestorerNets(restorer, score, 1.0)
    nu, result.ranked = choose_nu(nets, train_set[: min(len(train_set), 300)])
    nets = RestorerNets(restorer, score, nu)
    result.nu = nu
    x_va, t_va = _stack(val_set)
    with torch.inference_mode():
        pred = restorer(torch.from_numpy(x_va)).numpy()
    result.val_psnr = float(np.mean([_psnr(p_, t_) for p_, t_ in zip(pred, t_va, strict=True)]))
    result.val_psnr_input = float(np.mean([_psnr(x_[:1], t_) for x_, t_ in zip(x_va, t_va, strict=True)]))
    accepted = []
    for s, p_ in zip(val_set, pred, strict=True):
        weight = (s.blurred < CLIP_LEVEL).astype(float)
        obj = FinalObjective(s.blurred.astype(float), s.kernel, s.lam, nu, lambda x: blur_score(nets, x), weight=weight)
        accepted.append(obj(np.clip(p_[0].astype(float), 0, 1)) <= obj(s.deconvolved.astype(float)))
    result.val_accepted = float(np.mean(accepted))
    result.seconds = time.perf_counter() - start
    save(
        cfg,
        nets,
        {"val_psnr": result.val_psnr, "val_psnr_input": result.val_psnr_input, "ranked": [[k, v] for k, v in result.ranked.items()], "seconds": result.seconds},
    )
    return result
