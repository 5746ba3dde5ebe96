"""The final stage: a restoring Generator checked by the Corrector on Psi_D (issue #20)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import convolve, gaussian_filter

from conftest import shapes_image
from gencor.propagation.final import FinalObjective, correct
from gencor.tasks.deconv import deconvolve

SHAKE = np.zeros((9, 9))
SHAKE[4, 1:8] = 1 / 7


def _blurred(rng: np.random.Generator, n: int = 96) -> tuple[np.ndarray, np.ndarray]:
    sharp = shapes_image(n)
    return sharp, np.clip(convolve(sharp, SHAKE, mode="reflect") + 0.005 * rng.standard_normal((n, n)), 0, 1)


def _edge_blur_score(image: np.ndarray) -> float:
    """A hand-made blur score for the tests: few strong gradients -> blurred."""
    g = np.hypot(*np.gradient(image))
    return float(np.sum(np.exp(-g / 0.05)))


@pytest.mark.parametrize("bad", ["noise", "nan", "inf", "shape"])
def test_corrector_never_lets_psi_increase(rng: np.random.Generator, bad: str) -> None:
    _, y = _blurred(rng)
    current = deconvolve(y, SHAKE, lam=2e-3).image
    objective = FinalObjective(y, SHAKE, 2e-3, 0.01, _edge_blur_score)
    proposal = {
        "noise": rng.uniform(size=y.shape),
        "nan": np.full(y.shape, np.nan),
        "inf": np.where(rng.uniform(size=y.shape) < 0.01, np.inf, current),
        "shape": current[:-1],
    }[bad]
    decision = correct(current, proposal, objective)
    assert not decision.accepted
    assert decision.image is current
    assert objective(decision.image) <= objective(current)


def test_blur_score_lets_a_sharper_proposal_pass(rng: np.random.Generator) -> None:
    """Without D the MAP solve beats the sharp image (the MAP bias); with D the sharp image wins."""
    texture = gaussian_filter(rng.uniform(size=(96, 96)), 1.5)  # fine texture, as in photos
    sharp = 0.1 + 0.8 * (texture - texture.min()) / np.ptp(texture)
    y = np.clip(convolve(sharp, SHAKE, mode="wrap") + 0.01 * rng.standard_normal(sharp.shape), 0, 1)
    lam = 2e-3  # the noise-based weight: 20 sigma^2
    current = deconvolve(y, SHAKE, lam=lam).image
    plain = FinalObjective(y, SHAKE, lam, 0.0, _edge_blur_score)
    with_d = FinalObjective(y, SHAKE, lam, 0.1, _edge_blur_score)
    assert plain(sharp) > plain(current)
    assert not correct(current, sharp, plain).accepted
    decision = correct(current, sharp, with_d)
    assert decision.accepted and decision.psi_proposal <= decision.psi_current
    # A blurrier proposal still loses.
    assert not correct(current, gaussian_filter(current, 2.0), with_d).accepted


def test_clipped_pixels_do_not_count_in_the_data_term(rng: np.random.Generator) -> None:
    _, y = _blurred(rng)
    weight = np.ones_like(y)
    weight[40:50, 40:50] = 0
    x = deconvolve(y, SHAKE, lam=2e-3).image
    y2 = y.copy()
    y2[42:48, 42:48] = 1.0  # the observation changes only under the mask
    a = FinalObjective(y, SHAKE, 2e-3, 0.0, _edge_blur_score, weight=weight)
    b = FinalObjective(y2, SHAKE, 2e-3, 0.0, _edge_blur_score, weight=weight)
    assert a(x) == pytest.approx(b(x))
    assert FinalObjective(y2, SHAKE, 2e-3, 0.0, _edge_blur_score)(x) > a(x)


class _Stage:
    """A stand-in final stage whose Generator returns what the test asks for."""

    def __init__(self, out: str) -> None:
        self.out, self.nu = out, 0.01

    def propose(self, deconvolved: np.ndarray, blurred: np.ndarray, sigma: float) -> np.ndarray:
        rng = np.random.default_rng(0)
        return {"nan": np.full_like(deconvolved, np.nan), "noise": rng.uniform(size=deconvolved.shape), "same": deconvolved}[self.out]

    def score(self, image: np.ndarray) -> float:
        return _edge_blur_score(image)


@pytest.mark.parametrize("out", ["nan", "noise"])
def test_pipeline_final_stage_rejects_a_broken_generator(monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator, out: str) -> None:
    import gencor.tasks.deblur.output as pipeline

    monkeypatch.setattr(pipeline, "final_stage", lambda: _Stage(out))
    _, y = _blurred(rng)
    rgb = np.stack([y, 0.9 * y, 0.8 * y], axis=-1)
    current = deconvolve(rgb, SHAKE, lam=2e-3, channel_axis=-1).image
    image, info = pipeline._final_stage(rgb, current, SHAKE, 2e-3, 0.005, True)
    assert info["proposed"] and not info["accepted"]
    assert np.array_equal(image, current)
    assert info["psi_deconvolution"] < info["psi_proposal"]
    # Without the Corrector (the Generator-only variant) the broken proposal goes through.
    image, info = pipeline._final_stage(rgb, current, SHAKE, 2e-3, 0.005, False)
    assert info["accepted"] and not np.array_equal(image, current)


def test_networks_run_by_tiles_as_on_the_whole_image(monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator) -> None:
    import torch

    import gencor.models.restorer as models

    torch.manual_seed(0)
    restorer, score = models.Restorer(width=8), models.BlurScore(width=8)
    torch.nn.init.normal_(restorer.body[-1].weight, std=0.05)  # not the identity, so the tiles matter
    nets = models.RestorerNets(restorer.eval(), score.eval(), 0.1)
    img = rng.uniform(size=(150, 130))
    whole = models.restore(nets, img, img, 0.01), models.blur_score(nets, img)
    monkeypatch.setattr(models, "TILE", 64)
    tiled = models.restore(nets, img, img, 0.01), models.blur_score(nets, img)
    assert not np.allclose(whole[0], img)
    np.testing.assert_allclose(tiled[0], whole[0], atol=1e-5)
    assert tiled[1] == pytest.approx(whole[1], rel=1e-5)


def test_restorer_starts_as_the_identity() -> None:
    import torch

    from gencor.models.restorer import Restorer

    x = torch.rand(2, 3, 40, 36)
    with torch.inference_mode():
        assert torch.equal(Restorer(width=8)(x), x[:, :1])


def test_unreadable_weights_are_a_value_error(tmp_path: Path) -> None:
    from gencor.models.restorer import load_nets

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read the restorer weights"):
        load_nets(bad)


def test_final_stage_is_opt_in(rng: np.random.Generator) -> None:
    from gencor.tasks.deblur import deblur

    _, y = _blurred(rng, 128)
    plain = deblur(y, kernel_size=9, force=True)
    assert plain.report.final_stage == {"proposed": False}
    staged = deblur(y, kernel_size=9, force=True, final_stage=True)
    info = staged.report.final_stage
    assert info["proposed"] and np.isfinite(info["psi_deconvolution"])
    # The Corrector's verdict is the one its objective gives: never a higher Psi_D kept.
    assert info["accepted"] == (info["psi_proposal"] <= info["psi_deconvolution"])
    assert np.array_equal(staged.kernel, plain.kernel)
    if not info["accepted"]:
        assert np.array_equal(staged.image, plain.image)
