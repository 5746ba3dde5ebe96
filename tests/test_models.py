"""The Generator network: shape, residual form, and its place in the propagation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gencor.kernels import random_motion_kernel
from gencor.models import CNNGenerator, GradientDenoiser
from gencor.operators import Convolution, Gradient
from gencor.propagation import LpPrior, SplitFidelity, propagate

from conftest import shapes_image


def test_network_keeps_size_and_is_residual() -> None:
    torch.manual_seed(0)
    net = GradientDenoiser(width=8).eval()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 7 and [c.dilation[0] for c in convs] == [1, 2, 3, 4, 3, 2, 1]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 5
    u = torch.randn(2, 1, 37, 29)
    assert net(u).shape == u.shape
    with torch.no_grad():
        convs[-1].weight.zero_()
        convs[-1].bias.zero_()
    assert torch.equal(net(u), u)  # a zero last layer is the identity: the residual form


def test_cnn_generator_inside_the_propagation(rng: np.random.Generator) -> None:
    torch.manual_seed(1)
    gen = CNNGenerator((GradientDenoiser(width=8), GradientDenoiser(width=8)), threads=1)
    x = shapes_image(40)
    k = random_motion_kernel(7, rng)
    y = Convolution(k, x.shape).forward(x)
    u0 = Gradient(x.shape).forward(y)
    out = gen(u0, 0)
    assert out.shape == u0.shape and out.dtype == u0.dtype
    run = propagate(SplitFidelity(Convolution(k, x.shape), y, 1.0), LpPrior(0.004, 0.0, group_axis=0), u0, gammas=[1.0] * 5, generator=gen)
    assert np.all(np.diff(run.psi) <= 1e-12 * run.psi[0])  # an untrained net cannot break the guarantee


def test_only_models_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, gencor.cli, gencor.tasks.deblur, gencor.bench.levin; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


@pytest.mark.parametrize("width", [16, 64])
def test_width_sets_parameter_count(width: int) -> None:
    n = sum(p.numel() for p in GradientDenoiser(width=width).parameters())
    assert n > 9 * width * width * 5
