"""The Generator network: a residual CNN that maps a warm-start gradient map to a sharp one.

Seven convolutions with dilations 1-2-3-4-3-2-1 (an IRCNN-like receptive field of 33 px for
seven layers), batch normalisation and ReLU in between, and a residual connection: the network
predicts what to remove from its input. One network per gradient direction, as in the paper.
:func:`cnn_generator` is the Generator factory of the estimator: the shipped networks sharpen the
warm start, and the prior's shrinkage makes the proposal sparse before the Corrector tests it.
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gencor.propagation.gcm import Generator, LpPrior, ShrinkageGenerator

DILATIONS = (1, 2, 3, 4, 3, 2, 1)
#: What reading a missing, truncated or foreign weights file raises.
WEIGHT_ERRORS = (OSError, RuntimeError, KeyError, TypeError, pickle.UnpicklingError)
#: The shipped weights (see docs/MODEL_CARD.md), loaded offline.
WEIGHTS = Path(__file__).with_name("weights") / "generator.pt"
#: Where the networks propose: the runs ``CNN_LEVELS`` of the ``beta`` ladder (0 is the most
#: blurred latent) in the alternations ``CNN_ITERATIONS`` of every scale. Elsewhere the identity
#: (the Corrector alone) runs. Measured on Levin (`gencor bench ablation`): proposing in every
#: alternation gave mean error ratio 2.102 at 3.76 s per image, the first alternation only 2.092
#: at 2.65 s.
CNN_LEVELS = range(0, 1)
CNN_ITERATIONS = range(0, 1)


class ResidualCNN(nn.Module):
    """``x -> x - net(x)`` on ``(N, 1, H, W)`` gradient maps; the size is kept (padding = dilation)."""

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.body(x)


class CNNGenerator:
    """A :class:`~gencor.propagation.Generator` that runs one network per gradient direction.

    ``nets[d]`` processes ``u0[d]``; inference runs on the CPU under ``torch.inference_mode`` with
    ``threads`` threads.
    """

    def __init__(self, nets: tuple[ResidualCNN, ResidualCNN], *, threads: int | None = None) -> None:
        self.nets = tuple(net.eval() for net in nets)
        self.threads = threads

    def __call__(self, u0: np.ndarray, stage: int) -> np.ndarray:
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        with torch.inference_mode():
            out = [net(torch.from_numpy(np.ascontiguousarray(u0[d], dtype=np.float32))[None, None])[0, 0].numpy() for d, net in enumerate(self.nets)]
        return np.stack(out).astype(u0.dtype)


def load_nets(path: Path) -> tuple[ResidualCNN, ResidualCNN]:
    """The two direction networks of a checkpoint written by ``gencor train``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        nets = []
        for sd in state["nets"]:
            net = ResidualCNN(width=int(state["width"]))
            net.load_state_dict(sd)
            nets.append(net.eval())
    except WEIGHT_ERRORS as exc:
        raise ValueError(f"cannot read Generator weights {path}: {exc}") from None
    if len(nets) != 2:
        raise ValueError(f"cannot read Generator weights {path}: expected 2 networks, found {len(nets)}")
    return nets[0], nets[1]


@functools.cache
def shipped_generator() -> CNNGenerator:
    """The shipped networks (loaded once per process)."""
    return CNNGenerator(load_nets(WEIGHTS))


def cnn_generator(prior: LpPrior, gammas: tuple[float, ...], scale: int, iteration: int, level: int) -> Generator | None:
    """Estimator factory: shrinkage of the CNN output at the first levels of the ladder."""
    if level not in CNN_LEVELS or iteration not in CNN_ITERATIONS:
        return None
    return ShrinkageGenerator(prior, gammas, inner=shipped_generator())
