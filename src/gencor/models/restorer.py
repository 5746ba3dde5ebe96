"""The final stage's two networks: a Generator that restores a deconvolution, and a learned blur
score that enters ``Psi`` so that the Corrector can accept the restoration.

*Why two.* With the true kernel, ``Psi = f + phi`` ranks the non-blind MAP deconvolution above the
sharp photo (the MAP bias towards blur, Levin et al., CVPR 2009; ``scripts/experiments/psi_sharp_vs_map.py``):
a Corrector testing ``Psi`` rejects even a perfect proposal. Li, Pan, Lai, Gao, Sang and Yang
(CVPR 2018) add a classifier of sharp against blurred patches to the objective; with
``Psi_D = f + phi + nu D`` the sharp photo wins (``scripts/experiments/blur_prior_experiment.py``: 2 -> 40 of
40 held-out photos). The Generator, a residual CNN, maps the deconvolution (with the blurred
photo and the noise level beside it) to a sharper, cleaner image; the Corrector keeps it only if
``Psi_D`` does not increase (:func:`gencor.propagation.final.correct`).

Both run on the CPU by tiles (memory stays bounded on 12-megapixel photos), under
``torch.inference_mode``. Only this module and the training code import torch.
"""

from __future__ import annotations

import functools
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

#: What reading a missing, truncated or foreign weights file raises.
WEIGHT_ERRORS = (OSError, RuntimeError, KeyError, TypeError, ValueError, pickle.UnpicklingError)
#: The shipped weights (see docs/MODEL_CARD.md), loaded offline.
WEIGHTS = Path(__file__).with_name("weights") / "restorer.pt"
#: The Generator's noise channel is ``sigma / NOISE_SCALE`` (about 1 at the noisiest training photo).
NOISE_SCALE = 0.02
#: Dilations of the Generator's 3x3 convolutions: a receptive field of 31 px in seven layers.
DILATIONS = (1, 2, 4, 4, 2, 1, 1)
#: Side of the tiles the networks run on, and the context around each (beyond both receptive
#: fields; a multiple of the blur score's stride, so tiles see the same grid as the whole image).
TILE = 768
CONTEXT = 32
#: Slope of the Generator's activations below zero.
LEAK = 0.1
#: The blur score's stride (two stride-2 convolutions).
SCORE_STRIDE = 4


class Restorer(nn.Module):
    """``(deconvolution, blurred, noise) -> deconvolution + residual`` on ``(N, 3, H, W)``."""

    def __init__(self, width: int = 32, dilations: tuple[int, ...] = DILATIONS) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for i, d in enumerate(dilations):
            last = i == len(dilations) - 1
            out = 1 if last else width
            layers.append(nn.Conv2d(channels, out, 3, padding=d, dilation=d))
            if not last:
                # Leaky: with plain ReLUs a whole layer died in the first CPU run (validation PSNR
                # equal to the input's), and the network stayed the identity.
                layers.append(nn.LeakyReLU(LEAK, inplace=True))
            channels = out
        self.body = nn.Sequential(*layers)
        # Start as the identity: the last layer's output is zero until training moves it.
        last_conv = layers[-1]
        assert isinstance(last_conv, nn.Conv2d) and last_conv.bias is not None
        nn.init.zeros_(last_conv.weight)
        nn.init.zeros_(last_conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1] + self.body(x)


class BlurScore(nn.Module):
    """A "blurred" logit per ``SCORE_STRIDE`` x ``SCORE_STRIDE`` block of a gray image.

    The local mean is removed first, so the score reads structure, not brightness.
    """

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        c = [1, width, width, 2 * width, 2 * width, 2 * width]
        layers: list[nn.Module] = []
        for i in range(5):
            layers += [nn.Conv2d(c[i], c[i + 1], 3, stride=2 if i in (1, 3) else 1, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(2 * width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x - nn.functional.avg_pool2d(x, 9, stride=1, padding=4, count_include_pad=False)))


@dataclass(frozen=True)
class RestorerNets:
    """The two networks of a checkpoint and the weight ``nu`` of the blur score in ``Psi_D``."""

    restorer: Restorer
    score: BlurScore
    nu: float


def _tiles(h: int, w: int) -> list[tuple[slice, slice, slice, slice]]:
    """``(rows, cols)`` of each tile with context, and the tile inside that crop."""
    out = []
    for r0 in range(0, h, TILE):
        for c0 in range(0, w, TILE):
            r1, c1 = min(r0 + TILE, h), min(c0 + TILE, w)
            ra, ca = max(r0 - CONTEXT, 0), max(c0 - CONTEXT, 0)
            rb, cb = min(r1 + CONTEXT, h), min(c1 + CONTEXT, w)
            out.append((slice(ra, rb), slice(ca, cb), slice(r0 - ra, r1 - ra), slice(c0 - ca, c1 - ca)))
    return out


def _tensor(*planes: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.stack(planes), dtype=np.float32))[None]


def restore(nets: RestorerNets, deconvolved: np.ndarray, blurred: np.ndarray, sigma: float) -> np.ndarray:
    """The Generator's proposal for a gray ``(H, W)`` deconvolution of ``blurred`` (noise ``sigma``)."""
    h, w = deconvolved.shape
    out = np.empty((h, w), dtype=np.float64)
    noise = np.float32(sigma / NOISE_SCALE)
    with torch.inference_mode():
        for rows, cols, ri, ci in _tiles(h, w):
            d, b = deconvolved[rows, cols], blurred[rows, cols]
            pred = nets.restorer(_tensor(d, b, np.full_like(d, noise)))[0, 0].numpy()
            out[rows.start + ri.start : rows.start + ri.stop, cols.start + ci.start : cols.start + ci.stop] = pred[ri, ci]
    return out


def blur_score(nets: RestorerNets, image: np.ndarray) -> float:
    """``D(image)``: the sum over blocks of the probability that the block is blurred (gray image)."""
    h, w = image.shape
    total = 0.0
    with torch.inference_mode():
        for rows, cols, ri, ci in _tiles(h, w):
            logits = nets.score(_tensor(image[rows, cols]))[0, 0]
            s = SCORE_STRIDE
            block = logits[ri.start // s : -(-ri.stop // s), ci.start // s : -(-ci.stop // s)]
            total += float(torch.sigmoid(block).sum())
    return total


def load_nets(path: Path) -> RestorerNets:
    """The networks of a checkpoint written by ``gencor train --task deblur``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        restorer = Restorer(width=int(state["restorer_width"]))
        restorer.load_state_dict(state["restorer"])
        score = BlurScore(width=int(state["score_width"]))
        score.load_state_dict(state["score"])
        nu = float(state["nu"])
    except WEIGHT_ERRORS as exc:
        raise ValueError(f"cannot read the restorer weights {path}: {exc}") from None
    return RestorerNets(restorer.eval(), score.eval(), nu)


class LearnedFinalStage:
    """The shipped final stage as the pipeline calls it (:class:`gencor.propagation.final.FinalStage`)."""

    def __init__(self, nets: RestorerNets) -> None:
        self.nets = nets
        self.nu = nets.nu

    def propose(self, deconvolved: np.ndarray, blurred: np.ndarray, sigma: float) -> np.ndarray:
        return restore(self.nets, deconvolved, blurred, sigma)

    def score(self, image: np.ndarray) -> float:
        return blur_score(self.nets, image)


@functools.cache
def shipped_stage() -> LearnedFinalStage:
    """The shipped networks (loaded once per process)."""
    return LearnedFinalStage(load_nets(WEIGHTS))
