"""The critic: a small CNN that judges a restoration against its blurred input, as an eye would.

The confidence's hand-made measures (ringing, overshoot, residual...) separate good from bad
kernels on synthetic blur but not on real photos (docs/bench/calibration_real.md): a person sees
ghost edges, ringing and amplified noise that no single statistic captures. The critic sees the
pair itself. It is trained on synthetic camera shake only (BSDS500 train split; true kernels and
kernels damaged the ways estimators fail: rotated, rescaled, cut in half, smoothed, with spurious
taps, another path), to predict the PSNR gain in dB of each 96 px patch of the restoration over
the blurred patch (the restoration aligned by its best whole-pixel shift, as the eye ignores a
shift). Its verdict on a window is the mean over patches on a regular grid.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gencor.models.generator import WEIGHT_ERRORS

#: Side of the square patches the critic judges, and the step of the grid that tiles a window.
PATCH = 96
STRIDE = 48
#: Channels of the first stage (doubled after the second downsampling).
WIDTH = 32
#: The shipped weights (see docs/MODEL_CARD.md), loaded offline.
WEIGHTS = Path(__file__).with_name("weights") / "critic.pt"


class Critic(nn.Module):
    """``(blurred, restored) -> predicted gain in dB``, on ``(N, 1, PATCH, PATCH)`` pairs.

    Six 3x3 convolutions (three of stride 2: each feature sees 29 px, enough for the ripples of
    ringing and the second copy of a ghost edge), a mean over positions and one linear layer. The input is the blurred
    patch less its mean and the change the restoration made, so brightness does not matter.
    """

    def __init__(self, width: int = WIDTH) -> None:
        super().__init__()
        chans = (2, width, width, width, 2 * width, 2 * width, 2 * width)
        layers: list[nn.Module] = []
        for i in range(len(chans) - 1):
            layers += [nn.Conv2d(chans[i], chans[i + 1], 3, stride=2 if i % 2 else 1, padding=1), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1], 1)

    def forward(self, blurred: torch.Tensor, restored: torch.Tensor) -> torch.Tensor:
        z = torch.cat([blurred - blurred.mean(dim=(2, 3), keepdim=True), restored - blurred], dim=1)
        return self.head(self.body(z).mean(dim=(2, 3)))[:, 0]


def grid(shape: tuple[int, int], patch: int = PATCH, stride: int = STRIDE) -> list[tuple[int, int]]:
    """Top-left corners of the patches that tile ``shape`` (one patch, cropped, if it is smaller)."""
    rows = range(0, max(shape[0] - patch, 0) + 1, stride)
    cols = range(0, max(shape[1] - patch, 0) + 1, stride)
    return [(r, c) for r in rows for c in cols]


def load_critic(path: Path) -> Critic:
    """The network of a checkpoint written by ``gencor train --task critic``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net = Critic(width=int(state["width"]))
        net.load_state_dict(state["net"])
    except WEIGHT_ERRORS as exc:
        raise ValueError(f"cannot read critic weights {path}: {exc}") from None
    return net.eval()


@functools.cache
def shipped_critic() -> Critic:
    """The shipped critic (loaded once per process)."""
    return load_critic(WEIGHTS)


def predicted_gain(blurred: np.ndarray, restored: np.ndarray, *, net: Critic | None = None) -> float:
    """The critic's mean predicted gain (dB) of ``restored`` over ``blurred``, gray ``(H, W)`` in [0, 1]."""
    net = shipped_critic() if net is None else net
    corners = grid(blurred.shape)
    side = min(PATCH, *blurred.shape)
    cut = lambda a: np.stack([a[r : r + side, c : c + side] for r, c in corners])[:, None].astype(np.float32)  # noqa: E731
    with torch.inference_mode():
        return float(net(torch.from_numpy(cut(blurred)), torch.from_numpy(cut(restored))).mean())
