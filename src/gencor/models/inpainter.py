"""The inpainting Generator: a small U-Net that sees the warm start and the mask.

Three resolutions (full, 1/2, 1/4) with skip connections, dilated convolutions at the coarsest
one, and a residual output over the warm start: holes of text and strokes are wider than the
33 px reach of the deblurring network's seven convolutions, and the coarse levels see across
them at a fraction of the cost. The mask is a second input channel so the network knows which
pixels to invent. One gray network is shared by the color channels. Trained by
:func:`gencor.training.inpaint.train_inpainter` on Train400 with synthetic masks (random
drop-outs, text, strokes and blocks); inputs are what the propagation's first stage sees.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gencor.models.generator import WEIGHT_ERRORS

WEIGHTS = Path(__file__).with_name("weights") / "inpainter.pt"
#: Dilations of the convolutions at 1/4 resolution (after the first, strided one there).
COARSE_DILATIONS = (1, 2, 4, 1)
#: The two halvings of the U-Net: inputs are padded to a multiple of this.
STRIDE = 4


def _conv(cin: int, cout: int, *, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation)


class InpaintUNet(nn.Module):
    """``(N, 2, H, W)`` (warm start, observed mask) -> ``(N, 1, H, W)``, ``H`` and ``W`` multiples
    of :data:`STRIDE`; channel widths ``width``, ``2 width``, ``4 width`` from fine to coarse."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w1, w2, w3 = width, 2 * width, 4 * width
        relu = nn.ReLU(inplace=True)
        self.fine = nn.Sequential(_conv(2, w1), relu, _conv(w1, w1), relu)
        self.middle = nn.Sequential(_conv(w1, w2, stride=2), relu, _conv(w2, w2), relu)
        coarse: list[nn.Module] = [_conv(w2, w3, stride=2), relu]
        for d in COARSE_DILATIONS:
            coarse += [_conv(w3, w3, dilation=d), relu]
        self.coarse = nn.Sequential(*coarse)
        self.up_middle = nn.ConvTranspose2d(w3, w2, 2, stride=2)
        self.merge_middle = nn.Sequential(_conv(2 * w2, w2), relu, _conv(w2, w2), relu)
        self.up_fine = nn.ConvTranspose2d(w2, w1, 2, stride=2)
        self.merge_fine = nn.Sequential(_conv(2 * w1, w1), relu, _conv(w1, 1))
        # Start as the identity on the warm start, so that training only adds corrections.
        for param in self.merge_fine[-1].parameters():
            nn.init.zeros_(param)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fine = self.fine(x)
        middle = self.middle(fine)
        middle = self.merge_middle(torch.cat([self.up_middle(self.coarse(middle)), middle], 1))
        return x[:, :1] + self.merge_fine(torch.cat([self.up_fine(middle), fine], 1))


class Inpainter:
    """Runs the network on ``(C, H, W)`` stacks; :meth:`bind` fixes the mask of one problem."""

    def __init__(self, net: InpaintUNet) -> None:
        self.net = net.eval()

    def __call__(self, u: np.ndarray, observed: np.ndarray, *, ensemble: int = 1) -> np.ndarray:
        """The network's output on ``(..., H, W)``; ``ensemble`` > 1 averages it over that many
        quarter turns of the input (held-out Train400 crops: +0.09 dB with 2, +0.13 dB with 4)."""
        h, w = u.shape[-2:]
        stack = u.reshape(-1, h, w).astype(np.float32)
        m = np.broadcast_to(observed.astype(np.float32), stack.shape)
        pad = ((0, 0), (0, 0), (0, -h % STRIDE), (0, -w % STRIDE))
        x = np.pad(np.stack([stack, m], axis=1), pad, mode="reflect")
        out = np.zeros(x.shape[:1] + x.shape[2:], dtype=np.float32)
        with torch.inference_mode():
            for turn in range(ensemble):
                rotated = np.ascontiguousarray(np.rot90(x, turn, axes=(-2, -1)))
                out += np.rot90(self.net(torch.from_numpy(rotated))[:, 0].numpy(), -turn, axes=(-2, -1))
        return (out[:, :h, :w] / ensemble).reshape(u.shape).astype(u.dtype)

    def bind(self, observed: np.ndarray, *, ensemble: int = 1) -> BoundInpainter:
        return BoundInpainter(self, observed, ensemble)


@dataclass(frozen=True)
class BoundInpainter:
    """A :class:`~gencor.propagation.Generator`: the network's fill in the holes, the warm start
    elsewhere."""

    inpainter: Inpainter
    observed: np.ndarray
    ensemble: int = 1

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray:
        return np.where(self.observed, u0, self.inpainter(u0, self.observed, ensemble=self.ensemble))


def load_inpainter(path: Path) -> Inpainter:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net = InpaintUNet(width=int(state["width"]))
        net.load_state_dict(state["net"])
    except WEIGHT_ERRORS as exc:
        raise ValueError(f"cannot read inpainting weights {path}: {exc}") from None
    return Inpainter(net)


@functools.cache
def shipped_inpainter() -> Inpainter:
    return load_inpainter(WEIGHTS)
