"""The denoiser: a noise-conditional CNN (FFDNet-like) for gray and color photos.

The image is pixel-unshuffled to a half-resolution stack of 4 channels and the noise level enters
as a constant map beside it, so one network serves every level from 0 to 0.2 of the range and
costs a quarter of a full-resolution one: 3x3 convolutions with batch normalisation and ReLU; the
output is the noise, subtracted from the input (residual learning). Color photos are denoised in
an opponent color space, channel by channel (:data:`OPPONENT`), as color BM3D does. Trained by
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
from gencor.noise import DENOISE_PRECISIONS, DENOISE_SIGMA_MAX

WEIGHTS = Path(__file__).with_name("weights") / "denoiser.pt"
#: Pixel-unshuffle factor: the body works at half the resolution in each direction.
SHUFFLE = 2
#: Tiles of this many pixels (a multiple of ``SHUFFLE``) bound the memory of large photos, with
#: :data:`TILE_OVERLAP` pixels of context on each side (more than the body's reach).
TILE, TILE_OVERLAP = 2048, 48


class DenoiseNet(nn.Module):
    """``(x, sigma) -> x - noise``: ``x`` is ``(N, 1, H, W)`` with ``H``, ``W`` even; ``sigma`` is
    ``(N,)``, the noise level of each image as a fraction of the range."""

    def __init__(self, width: int = 64, depth: int = 15) -> None:
        super().__init__()
        s2 = SHUFFLE * SHUFFLE
        layers: list[nn.Module] = [nn.Conv2d(s2 + 1, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        tail = nn.Conv2d(width, s2, 3, padding=1)
        # Start as the identity, so that training only learns the noise.
        nn.init.zeros_(tail.weight)
        if tail.bias is not None:
            nn.init.zeros_(tail.bias)
        self.layers = nn.Sequential(*layers, tail)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        z = F.pixel_unshuffle(x, SHUFFLE)
        level = sigma.to(z.dtype).view(-1, 1, 1, 1).expand(z.shape[0], 1, *z.shape[2:])
        noise = self.layers(torch.cat([z, level], 1))
        return x - F.pixel_shuffle(noise, SHUFFLE).to(x.dtype)


#: An orthogonal color transform whose rows, scaled to keep each channel in [0, 1] (with
#: :data:`OPPONENT_OFFSET`), leave white noise white: channel ``c`` then has noise
#: ``sigma * OPPONENT_NOISE[c]``, and the gray network denoises each (as color BM3D does).
OPPONENT = np.array([[1 / 3, 1 / 3, 1 / 3], [1 / 2, 0, -1 / 2], [1 / 4, -1 / 2, 1 / 4]])
OPPONENT_INVERSE = np.linalg.inv(OPPONENT)
OPPONENT_OFFSET = np.array([0.0, 0.5, 0.5])
OPPONENT_NOISE = np.sqrt(np.sum(OPPONENT**2, axis=1))


def bf16_supported() -> bool:
    """Whether this CPU has bfloat16 matrix units, where bfloat16 inference is the fast path."""
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


class Denoiser:
    """Runs :class:`DenoiseNet` on NumPy stacks, tile by tile; ``precision`` "auto" picks
    bfloat16 where :func:`bf16_supported`, else float32."""

    def __init__(self, net: DenoiseNet, *, precision: str = "auto") -> None:
        if precision not in DENOISE_PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(DENOISE_PRECISIONS)}, not {precision!r}")
        self.net = net.eval().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.bf16 = precision == "bfloat16" or (precision == "auto" and bf16_supported())

    def __call__(self, image: np.ndarray, sigma: float) -> np.ndarray:
        """Denoise ``(C, H, W)`` (values in about [0, 1]) at noise level ``sigma``: one plane as it
        is, three in the opponent space of :data:`OPPONENT`, other counts plane by plane."""
        c = image.shape[0]
        level = float(np.clip(sigma, 0.0, DENOISE_SIGMA_MAX))
        if c == 3:
            opp = np.tensordot(OPPONENT, image, axes=1) + OPPONENT_OFFSET[:, None, None]
            clean = self._planes(opp.astype(np.float32), level * OPPONENT_NOISE)
            return np.tensordot(OPPONENT_INVERSE, clean - OPPONENT_OFFSET[:, None, None].astype(np.float32), axes=1).astype(np.float32)
        return self._planes(image.astype(np.float32), np.full(c, level))

    def _planes(self, planes: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """Each plane of ``(C, H, W)`` denoised at its own level, tile by tile, in one batch."""
        c, h, w = planes.shape
        out = np.empty((c, h, w), dtype=np.float32)
        step = TILE - 2 * TILE_OVERLAP
        for i in range(0, h, step):
            for j in range(0, w, step):
                i0, j0 = max(i - TILE_OVERLAP, 0), max(j - TILE_OVERLAP, 0)
                i1, j1 = min(i + step + TILE_OVERLAP, h), min(j + step + TILE_OVERLAP, w)
                tile = self._run(planes[:, i0:i1, j0:j1], levels)
                out[:, i : min(i + step, h), j : min(j + step, w)] = tile[:, i - i0 : i - i0 + step, j - j0 : j - j0 + step]
        return out

    def _run(self, tile: np.ndarray, levels: np.ndarray) -> np.ndarray:
        h, w = tile.shape[1:]
        pad = ((0, 0), (0, h % SHUFFLE), (0, w % SHUFFLE))
        padded = np.pad(tile, pad, mode="reflect") if min(h, w) > 1 else np.pad(tile, pad, mode="edge")
        x = torch.from_numpy(padded[:, None]).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            y = self.net(x, torch.from_numpy(np.asarray(levels, dtype=np.float32)))
        return y[:, 0, :h, :w].float().numpy()


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
