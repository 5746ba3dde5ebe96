"""The denoiser: a noise-conditional CNN (FFDNet-like) for gray and color photos.

The image is pixel-unshuffled to a half-resolution stack (4 channels for gray, 12 for color) and
the noise level enters as a constant map beside it, so one network serves every level from 0 to
0.2 of the range and costs a quarter of a full-resolution one. A gray head and a color head (one
convolution each) share a body of 3x3 convolutions with batch normalisation and ReLU; the output
is the noise, subtracted from the input (residual learning). Trained by
:func:`gencor.training.denoise.train_denoiser` on BSDS500 (train and test splits) and Train400
with synthetic Gaussian, signal-dependent, clipped and JPEG-compressed noise (docs/MODEL_CARD.md).

On CPUs with bfloat16 matrix units (AMX, AVX-512 BF16) inference runs in bfloat16 autocast with
channels-last tensors: about 8x faster on the development machine, within 0.01 dB
(docs/bench/denoise.md).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gencor.models.generator import WEIGHT_ERRORS
from gencor.noise import DENOISE_SIGMA_MAX

WEIGHTS = Path(__file__).with_name("weights") / "denoiser.pt"
#: Pixel-unshuffle factor: the body works at half the resolution in each direction.
SHUFFLE = 2
#: Tiles of this many pixels (a multiple of ``SHUFFLE``) bound the memory of large photos, with
#: :data:`TILE_OVERLAP` pixels of context on each side (more than the body's reach).
TILE, TILE_OVERLAP = 768, 48
CHANNELS = (1, 3)


class DenoiseNet(nn.Module):
    """``(x, sigma) -> x - noise``: ``x`` is ``(N, C, H, W)`` with ``C`` 1 or 3 and ``H``, ``W``
    even; ``sigma`` is ``(N,)``, the noise level of each image as a fraction of the range."""

    def __init__(self, width: int = 64, depth: int = 15) -> None:
        super().__init__()
        s2 = SHUFFLE * SHUFFLE
        self.heads = nn.ModuleDict({str(c): nn.Conv2d(c * s2 + 1, width, 3, padding=1) for c in CHANNELS})
        body: list[nn.Module] = [nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            body += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*body)
        self.tails = nn.ModuleDict({str(c): nn.Conv2d(width, c * s2, 3, padding=1) for c in CHANNELS})
        # Start as the identity, so that training only learns the noise.
        for tail in self.tails.values():
            nn.init.zeros_(tail.weight)
            nn.init.zeros_(tail.bias)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.forward_many([(x, sigma)])[0]

    def forward_many(self, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> list[torch.Tensor]:
        """:meth:`forward` of gray and color batches together: their features share one pass of the
        body, so batch normalisation sees both kinds at every training step (alternating steps of
        one kind each left its running statistics fit to neither)."""
        features = []
        for x, sigma in batches:
            z = F.pixel_unshuffle(x, SHUFFLE)
            level = sigma.to(z.dtype).view(-1, 1, 1, 1).expand(z.shape[0], 1, *z.shape[2:])
            features.append(self.heads[str(x.shape[1])](torch.cat([z, level], 1)))
        body = self.body(torch.cat(features, 0)) if len(features) > 1 else self.body(features[0])
        out, start = [], 0
        for (x, _), f in zip(batches, features, strict=True):
            noise = self.tails[str(x.shape[1])](body[start : start + len(f)])
            out.append(x - F.pixel_shuffle(noise, SHUFFLE).to(x.dtype))
            start += len(f)
        return out


def bf16_supported() -> bool:
    """Whether this CPU has bfloat16 matrix units, where bfloat16 inference is the fast path."""
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


class Denoiser:
    """Runs :class:`DenoiseNet` on NumPy stacks, tile by tile; ``precision`` "auto" picks
    bfloat16 where :func:`bf16_supported`, else float32."""

    def __init__(self, net: DenoiseNet, *, precision: str = "auto") -> None:
        if precision not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"precision must be 'auto', 'float32' or 'bfloat16', not {precision!r}")
        self.net = net.eval().to(memory_format=torch.channels_last)
        self.bf16 = precision == "bfloat16" or (precision == "auto" and bf16_supported())

    def __call__(self, image: np.ndarray, sigma: float) -> np.ndarray:
        """Denoise ``(C, H, W)`` (``C`` 1 or 3, values in about [0, 1]) at noise level ``sigma``."""
        c, h, w = image.shape
        if c not in CHANNELS:
            raise ValueError(f"the denoiser takes 1 or 3 channels, not {c}")
        level = float(np.clip(sigma, 0.0, DENOISE_SIGMA_MAX))
        out = np.empty((c, h, w), dtype=np.float32)
        step = TILE - 2 * TILE_OVERLAP
        for i in range(0, h, step):
            for j in range(0, w, step):
                i0, j0 = max(i - TILE_OVERLAP, 0), max(j - TILE_OVERLAP, 0)
                i1, j1 = min(i + step + TILE_OVERLAP, h), min(j + step + TILE_OVERLAP, w)
                tile = self._run(image[:, i0:i1, j0:j1], level)
                out[:, i : min(i + step, h), j : min(j + step, w)] = tile[:, i - i0 : i - i0 + step, j - j0 : j - j0 + step]
        return out

    def _run(self, tile: np.ndarray, level: float) -> np.ndarray:
        h, w = tile.shape[1:]
        pad = ((0, 0), (0, h % SHUFFLE), (0, w % SHUFFLE))
        mode = "reflect" if min(h, w) > 1 else "edge"
        x = torch.from_numpy(np.pad(tile.astype(np.float32), pad, mode=mode)[None]).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            y = self.net(x, torch.tensor([level]))
        return y[0, :, :h, :w].float().numpy()


def load_denoiser(path: Path, *, precision: str = "auto") -> Denoiser:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net = DenoiseNet(width=int(state["width"]), depth=int(state["depth"]))
        net.load_state_dict(state["net"])
    except WEIGHT_ERRORS as exc:
        raise ValueError(f"cannot read denoiser weights {path}: {exc}") from None
    return Denoiser(net, precision=precision)


@functools.cache
def shipped_denoiser(precision: str = "auto") -> Denoiser:
    return load_denoiser(WEIGHTS, precision=precision)
