"""The Generator network: shape, residual form, and its place in the propagation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import shapes_image
from gencor.kernels import random_motion_kernel
from gencor.models import CNNGenerator, ResidualCNN
from gencor.models.generator import CNN_ITERATIONS, CNN_LEVELS, cnn_generator, load_nets, shipped_generator
from gencor.operators import Convolution, Gradient
from gencor.propagation import LpPrior, ShrinkageGenerator, SplitFidelity, propagate


def test_network_keeps_size_and_is_residual() -> None:
    torch.manual_seed(0)
    net = ResidualCNN(width=8).eval()
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
    gen = CNNGenerator((ResidualCNN(width=8), ResidualCNN(width=8)), threads=1)
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
    n = sum(p.numel() for p in ResidualCNN(width=width).parameters())
    assert n > 9 * width * width * 5


def test_shipped_weights_load_and_are_small() -> None:
    from gencor.models.generator import WEIGHTS

    assert WEIGHTS.stat().st_size < 5 * 2**20
    gen = shipped_generator()
    u = np.random.default_rng(0).normal(0, 0.05, (2, 30, 40))
    out = gen(u, 0)
    assert out.shape == u.shape and np.all(np.isfinite(out)) and not np.allclose(out, u)


def test_cnn_factory_runs_only_at_the_first_levels() -> None:
    prior, gammas = LpPrior(0.004, 0.0, group_axis=0), (0.032,)
    early = cnn_generator(prior, gammas, 0, CNN_ITERATIONS.start, CNN_LEVELS.start)
    assert isinstance(early, ShrinkageGenerator) and early.inner is shipped_generator()
    assert cnn_generator(prior, gammas, 3, CNN_ITERATIONS.start, CNN_LEVELS.stop) is None
    assert cnn_generator(prior, gammas, 3, CNN_ITERATIONS.stop, CNN_LEVELS.start) is None


def test_shrunk_cnn_proposal_is_sparse(rng: np.random.Generator) -> None:
    """The proposal is as sparse as the prior asks, so it can win the L0 test of the Corrector."""
    prior = LpPrior(0.004, 0.0, group_axis=0)
    u0 = rng.normal(0, 0.05, (2, 40, 40))
    out = ShrinkageGenerator(prior, (0.032,), inner=shipped_generator())(u0, 0)
    mag = np.hypot(*out)
    assert np.all((mag == 0) | (mag >= np.sqrt(2 * 0.004 / 0.032) - 1e-12))


def test_bad_weights_file_is_a_value_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "w.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read Generator weights"):
        load_nets(bad)
