"""A learned blur score in Psi (issue #20, first measurement): would the Corrector then prefer the
sharp image to the MAP deconvolution?

The MAP bias (Levin et al., CVPR 2009; ``scripts/experiments/psi_sharp_vs_map.py``): with the true kernel, Psi
ranks the sharp photo *above* (worse than) the hyper-Laplacian MAP deconvolution, so the Corrector
would reject even a perfect Generator. Li, Pan, Lai, Gao, Sang and Yang (CVPR 2018) add a learned
classifier of sharp against blurred patches to the objective. Here a small fully convolutional
classifier (five 3x3 convolutions, two of stride 2, a 1x1 head: a "blurred" logit per position)
is trained on 64 px patches of the critic experiment's synthetic set (``scripts/experiments/critic_experiment.py
synth``: BSDS500 train): sharp crops against their blurred versions and their true-kernel MAP
deconvolutions. D(u) is the sum of its sigmoid over positions. It is then measured on 40 held-out
photos (BSDS500 test split, every 5th, 192 px, true kernel 11-29 px, noise 0.005-0.02): how often
Psi + nu D ranks the sharp image first.

    python scripts/experiments/critic_experiment.py synth --split train --reps 5 --out /tmp/critic/train.npz
    python scripts/experiments/blur_prior_experiment.py --train /tmp/critic/train.npz --steps 1500

Measured 2026-11-28 (x86_64, 2 cores, 5 min of training): Psi ranks the sharp image first on 2 of
40; D scores the sharp image as less blurred than the MAP result on 40 of 40 (median gap 469, Psi's
median gap 2.0); Psi + nu D ranks the sharp image first on 6, 27, 40 and 40 of 40 at nu = 1e-3,
1e-2, 3e-2 and 1e-1. Not yet used by the solver.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy.signal import fftconvolve
from torch import nn

from gencor.kernels.postprocess import center_kernel
from gencor.kernels.trajectory import random_motion_kernel
from gencor.layout import luminance
from gencor.noise import estimate_noise
from gencor.tasks.deconv import deconvolve_plane, default_lam

PATCH = 64
SIDE = 192
HELD_OUT = Path("../shared/data/train/BSDS500/test")
NUS = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1)


class BlurScore(nn.Module):
    """A "blurred" logit per position of a gray image (mean removed)."""

    def __init__(self, w: int = 24) -> None:
        super().__init__()
        c = [1, w, w, 2 * w, 2 * w, 2 * w]
        layers: list[nn.Module] = []
        for i in range(5):
            layers += [nn.Conv2d(c[i], c[i + 1], 3, stride=2 if i in (1, 3) else 1, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(2 * w, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x - x.mean(dim=(2, 3), keepdim=True)))


def batch(data: tuple[np.ndarray, ...], rng: np.random.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Half sharp patches (label 0), a quarter blurred, a quarter true-kernel MAP results (label 1)."""
    x, y, t, true = data
    patches, labels = [], []
    for _ in range(n):
        i = int(rng.integers(len(x)))
        r, c = (int(v) for v in rng.integers(0, SIDE - PATCH, 2))
        u = rng.uniform()
        maps = np.nonzero(true[i])[0]
        if u < 0.5:
            img, label = x[i], 0.0
        elif u < 0.75 or len(maps) == 0:
            img, label = y[i], 1.0
        else:
            img, label = t[i, rng.choice(maps)], 1.0
        patches.append(np.rot90(np.asarray(img[r : r + PATCH, c : c + PATCH], dtype=np.float32), int(rng.integers(4))).copy())
        labels.append(label)
    return torch.from_numpy(np.stack(patches)[:, None]), torch.tensor(labels)


def blur_score(net: BlurScore, img: np.ndarray) -> float:
    with torch.no_grad():
        return float(torch.sigmoid(net(torch.from_numpy(img[None, None].astype(np.float32)))).sum())


def psi(u: np.ndarray, y: np.ndarray, k: np.ndarray, lam: float, margin: int) -> float:
    """Data term plus hyper-Laplacian prior (p = 0.8) on the interior."""
    inner = (slice(margin, -margin), slice(margin, -margin))
    res = fftconvolve(u, k, mode="same")[inner] - y[inner]
    gx, gy = np.diff(u, axis=1)[inner], np.diff(u, axis=0)[inner]
    return 0.5 * float(np.sum(res**2)) + lam * float(np.sum(np.abs(gx) ** 0.8) + np.sum(np.abs(gy) ** 0.8))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, required=True, help="the critic experiment's synthetic set (train.npz)")
    ap.add_argument("--steps", type=int, default=1500)
    a = ap.parse_args()
    torch.set_num_threads(2)
    z = np.load(a.train)
    data = (z["x"], z["y"], z["t"], z["kinds"] == "true")
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    net = BlurScore()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    start = time.time()
    for s in range(a.steps):
        xb, lb = batch(data, rng, 64)
        loss = nn.functional.binary_cross_entropy_with_logits(net(xb).mean(dim=(1, 2, 3)), lb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if s % 200 == 0:
            print(f"{s} loss {loss.item():.3f} {time.time() - start:.0f} s", flush=True)
    net.eval()
    rng = np.random.default_rng(5)
    rows = []
    for f in sorted(HELD_OUT.glob("*.jpg"))[::5][:40]:
        x = luminance(np.asarray(Image.open(f).convert("RGB"), dtype=float) / 255)[:SIDE, :SIDE]
        sigma = float(rng.choice([0.005, 0.01, 0.02]))
        k = center_kernel(random_motion_kernel(31, rng, extent=rng.uniform(11, 29)))
        y = np.round(np.clip(fftconvolve(x, k, mode="same") + sigma * rng.standard_normal(x.shape), 0, 1) * 255) / 255
        lam = default_lam(estimate_noise(y))
        u = np.clip(deconvolve_plane(y, k, lam=lam), 0, 1)
        rows.append((psi(x, y, k, lam, 31), psi(u, y, k, lam, 31), blur_score(net, x), blur_score(net, u)))
    r = np.array(rows)
    first, less = int((r[:, 0] < r[:, 1]).sum()), int((r[:, 2] < r[:, 3]).sum())
    print(f"Psi ranks the sharp image first on {first} of {len(r)}; D scores it less blurred than MAP on {less}")
    for nu in NUS:
        print(f"nu {nu:g}: Psi + nu D ranks the sharp image first on {int((r[:, 0] + nu * r[:, 2] < r[:, 1] + nu * r[:, 3]).sum())} of {len(r)}")
    print(f"median gaps: Psi {np.median(r[:, 0] - r[:, 1]):.2f}, D {np.median(r[:, 3] - r[:, 2]):.1f}")


if __name__ == "__main__":
    main()
