"""The Generator network: a residual CNN that maps a warm-start gradient map to a sharp one.

Seven convolutions with dilations 1-2-3-4-3-2-1 (an IRCNN-like receptive field of 33 px for
seven layers), batch normalisation and ReLU in between, and a residual connection: the network
predicts what to remove from its input. One network per gradient direction, as in the paper.
Training it is a separate step; until weights ship, gencor's default Generator is the identity.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

DILATIONS = (1, 2, 3, 4, 3, 2, 1)


class GradientDenoiser(nn.Module):
    """``u -> u - net(u)`` on ``(N, 1, H, W)`` gradient maps; the size is kept (padding = dilation)."""

    def __init__(self, width: int = 64, dilations: tuple[int, ...] = DILATIONS) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for i, d in enumerate(dilations):
            last = i == len(dilations) - 1
            out = 1 if last else width
            layers.append(nn.Conv2d(channels, out, 3, padding=d, dilation=d, bias=last or i == 0))
            if not last:
                if i > 0:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU(inplace=True))
            channels = out
        self.body = nn.Sequential(*layers)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return u - self.body(u)


class CNNGenerator:
    """A :class:`~gencor.propagation.Generator` that runs one network per gradient direction.

    ``nets[d]`` processes ``u0[d]``; inference runs on the CPU under ``torch.inference_mode`` with
    ``threads`` threads.
    """

    def __init__(self, nets: tuple[GradientDenoiser, GradientDenoiser], *, threads: int = 2) -> None:
        self.nets = tuple(net.eval() for net in nets)
        self.threads = threads

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray:
        torch.set_num_threads(self.threads)
        with torch.inference_mode():
            out = [
                net(torch.from_numpy(np.ascontiguousarray(u0[d], dtype=np.float32))[None, None])[0, 0].numpy()
                for d, net in enumerate(self.nets)
            ]
        return np.stack(out).astype(u0.dtype)
