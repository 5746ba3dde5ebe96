"""The denoiser (issue #31): the shipped network denoises, its training runs, ``gencor denoise``
and the GCM deconvolution with it as the Generator keep ``Psi`` from rising whatever it returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import shapes_image
from gencor.cli import main
from gencor.io import Photo, read_image, write_image


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a - b) ** 2)))


def _noisy(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    return np.clip(clean + np.random.default_rng(seed).normal(0, sigma, clean.shape), 0, 1)


@pytest.mark.parametrize("sigma", [0.05, 0.1])
def test_shipped_denoiser_beats_the_noisy_input(sigma: float) -> None:
    from gencor import denoise

    clean = shapes_image(96)
    noisy = _noisy(clean, sigma)
    out = denoise(noisy, sigma=sigma).image
    gain = _psnr(out, clean) - _psnr(noisy, clean)
    # A trained network gains about 10 dB here; the identity gains 0, a smoothing of the wrong
    # strength a few dB.
    assert gain > 6.0
    # The estimated level is near the true one and gives nearly the same result.
    auto = denoise(noisy)
    assert abs(auto.sigma - sigma) < 0.3 * sigma
    assert _psnr(auto.image, clean) > _psnr(out, clean) - 1.0


def test_color_and_layouts() -> None:
    from gencor import denoise

    clean = np.stack([shapes_image(64, seed=s) for s in range(3)], axis=-1)
    noisy = _noisy(clean, 0.08)
    out = denoise(noisy, sigma=0.08, channel_axis=-1).image
    assert out.shape == clean.shape and out.min() >= 0 and out.max() <= 1
    assert _psnr(out, clean) > _psnr(noisy, clean) + 5
    first = denoise(np.moveaxis(noisy, -1, 0), sigma=0.08, channel_axis=0).image
    np.testing.assert_allclose(np.moveaxis(first, 0, -1), out, atol=1e-6)
    # RGBA: the alpha channel is kept as it is; odd sizes come back whole.
    rgba = np.concatenate([noisy[:63, :61], np.full((63, 61, 1), 0.5)], axis=-1)
    kept = denoise(rgba, sigma=0.08, channel_axis=-1).image
    assert kept.shape == rgba.shape and np.array_equal(kept[..., 3], rgba[..., 3])


def test_bad_input_is_refused() -> None:
    from gencor import denoise

    with pytest.raises(ValueError, match="sigma"):
        denoise(shapes_image(32), sigma=0.5)
    with pytest.raises(TypeError, match="sigma"):
        denoise(shapes_image(32), sigma="high")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        denoise(shapes_image(32) * 255)
    with pytest.raises(ValueError, match="precision"):
        denoise(shapes_image(32), precision="half")


def test_deconvolve_method_is_checked() -> None:
    from gencor import deconvolve

    box = np.full((3, 3), 1 / 9)
    with pytest.raises(TypeError, match="method must be a string"):
        deconvolve(shapes_image(32), box, method=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method must be one of"):
        deconvolve(shapes_image(32), box, method="wiener")


def test_cli(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "noisy.png"
    write_image(src, Photo(_noisy(shapes_image(80), 0.06), None, 8))
    out = tmp_path / "clean.png"
    assert main(["denoise", str(src), "-o", str(out)]) == 0
    assert "noise level" in capsys.readouterr().out
    assert read_image(out).pixels.shape == (80, 80)
    # A level in 8-bit units is refused with the fraction to give instead; the input is never the output.
    with pytest.raises(SystemExit) as stop:
        main(["denoise", str(src), "-o", str(tmp_path / "x.png"), "--sigma", "25"])
    assert stop.value.code == 2 and "0.098" in capsys.readouterr().err
    assert main(["denoise", str(src), "-o", str(src)]) == 2


def hostile(kind: str):  # type: ignore[no-untyped-def]
    """A Generator's denoiser that returns noise, NaN or the wrong shape."""

    def denoise(stack: np.ndarray, sigma: float) -> np.ndarray:
        if kind == "noise":
            return np.random.default_rng(0).uniform(-5, 5, stack.shape)
        if kind == "nan":
            return np.full(stack.shape, np.nan)
        return stack[..., 1:, :]

    return denoise


@pytest.mark.parametrize("kind", ["noise", "nan", "shape", "network"])
def test_psi_never_increases_with_the_denoiser_as_generator(kind: str) -> None:
    from gencor.models.denoiser import shipped_denoiser
    from gencor.tasks.deconv_gcm import deconvolve_gcm

    sharp = shapes_image(64)
    k = np.ones((1, 7)) / 7
    from scipy.ndimage import convolve

    y = np.clip(convolve(sharp, k, mode="wrap") + np.random.default_rng(1).normal(0, 0.02, sharp.shape), 0, 1)
    denoise = shipped_denoiser() if kind == "network" else hostile(kind)
    out, run = deconvolve_gcm(y[None], k, denoise, sigma=0.02)
    assert out.shape == (1, 64, 64) and np.all(np.isfinite(out))
    assert np.all(np.diff(run.psi) <= 1e-9 * run.psi[0])
    if kind != "network":
        assert not run.accepted.any()


def test_quick_denoiser_training(tmp_path: Path) -> None:
    import torch

    from gencor.models.denoiser import load_denoiser
    from gencor.training.denoise import DenoiseTrainConfig, train_denoiser

    data = tmp_path / "train"
    data.mkdir()
    for i in range(4):
        write_image(data / f"g{i}.png", Photo(shapes_image(72, seed=i), None, 8))
        color = np.stack([shapes_image(72, seed=10 * i + c) for c in range(3)], axis=-1)
        write_image(data / f"c{i}.png", Photo(color, None, 8))
    cfg = DenoiseTrainConfig(data=(data,), out=tmp_path / "d.pt", quick=True, steps=40)
    result = train_denoiser(cfg, quiet=True)
    assert len(result.losses) == 40 and np.all(np.isfinite(result.losses))
    # The network starts as the identity; 40 steps of the tiny network move it towards a denoiser
    # on held-out crops at the high levels, and make no level worse.
    gains = {s: result.val_psnr[s] - result.val_psnr_noisy[s] for s in result.val_psnr}
    assert min(gains.values()) > -0.01 and gains[max(gains)] > 0.02
    state = torch.load(cfg.out, weights_only=False)
    assert "optimizer" not in state and state["step"] == 40
    net = load_denoiser(cfg.out, precision="float32")
    assert net(np.zeros((3, 9, 7), np.float32), 0.1).shape == (3, 9, 7)
    assert main(["train", "--task", "denoise", "--quick", "--data", str(tmp_path / "nothing"), "--quiet"]) == 2


def test_deconv_ablation_and_denoise_bench(tmp_path: Path) -> None:
    from gencor.bench.ablation_deconv import VARIANTS, run_deconv_ablation
    from gencor.bench.denoise import run_denoise
    from test_bench import _levin_set

    test = tmp_path / "test"
    (test / "Set12").mkdir(parents=True)
    (test / "Kodak24").mkdir()
    (test / "BSD68").mkdir()
    for i in range(2):
        Image.fromarray(np.round(shapes_image(400, seed=i) * 255).astype(np.uint8)).save(test / "Set12" / f"{i:02d}.png")
        Image.fromarray(np.round(shapes_image(96, seed=i) * 255).astype(np.uint8)).save(test / "BSD68" / f"{i:02d}.png")
    rgb = np.stack([shapes_image(96, seed=s) for s in range(3)], axis=-1)
    Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(test / "Kodak24" / "k.png")
    table = run_deconv_ablation(test, _levin_set(tmp_path / "levin", n=1), out_dir=tmp_path / "out", sigmas=(0.02,), jobs=1, limit=2, quiet=True)
    assert [r["variant"] for r in table] == list(VARIANTS) * 2  # the noisy set at 0.02, then Levin
    assert all(r["psi_rose"] == 0 for r in table)
    gcm = next(r for r in table if r["variant"] == "GCM")
    # The denoiser carries weight: GCM beats the Corrector alone, whose warm starts keep the noise
    # (on the photo without clipped lights: on the other, the MAP solve answers for every variant).
    assert gcm["gain_over_corrector_only_db"] > 0.5 and 0 < gcm["proposals_kept"] <= 1
    assert (tmp_path / "out" / "ablation_deconv_first2.md").exists()
    rows = run_denoise(tmp_path, out_dir=tmp_path / "out", sigmas=[25], sets=["BSD68", "Kodak24"], with_bm3d=False, limit=None, quiet=True)
    assert [(r["set"], r["images"]) for r in rows] == [("BSD68", 2), ("Kodak24", 1)]
    assert all(r["psnr_gencor"] > r["psnr_input"] + 5 for r in rows)
