"""`gencor train --quick`: the pipeline runs, the loss falls, checkpoints resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from conftest import shapes_image
from gencor.cli import main
from gencor.io import Photo, write_image
from gencor.training.deblur import TrainConfig, collect_pairs, train


def _photos(folder: Path, n: int = 6) -> Path:
    folder.mkdir()
    for i in range(n):
        write_image(folder / f"p{i}.png", Photo(shapes_image(120, seed=i), None, 8))
    return folder


def test_pairs_are_aligned_warm_starts(rng: np.random.Generator) -> None:
    cfg = TrainConfig(kernel_size=15)
    pairs = collect_pairs(shapes_image(120), rng, cfg)
    assert len(pairs) >= 6
    for u0, target in pairs:
        assert u0.shape == target.shape and u0.shape[0] == 2
        assert np.all(np.isfinite(u0))


def test_quick_training_lowers_the_loss_and_resumes(tmp_path: Path) -> None:
    data = _photos(tmp_path / "train")
    out = tmp_path / "gen.pt"
    cfg = TrainConfig(data=data, out=out, quick=True, kernel_size=15)
    result = train(cfg, quiet=True)
    assert np.mean(result.losses[-5:]) < 0.5 * np.mean(result.losses[:5])
    assert np.isfinite(result.val_psnr)
    state = torch.load(out, weights_only=False)
    assert state["step"] == cfg.steps and len(state["nets"]) == 2
    more = TrainConfig(data=data, out=out, quick=True, kernel_size=15, steps=50)
    again = train(more, resume=True, quiet=True)
    assert len(again.losses) == 10  # only the steps after the checkpoint
    assert torch.load(out, weights_only=False)["step"] == 50


def test_train_cli(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = _photos(tmp_path / "train")
    assert main(["train", "--task", "kernel", "--quick", "--data", str(data), "--out", str(tmp_path / "g.pt"), "--quiet"]) == 0
    assert "validation gradient PSNR" in capsys.readouterr().out
    assert main(["train", "--task", "kernel", "--quick", "--data", str(tmp_path / "nothing"), "--quiet"]) == 2
    assert main(["train", "--task", "kernel", "--device", "cuda", "--quick", "--data", str(data), "--quiet"]) == 2


def test_restorer_training_writes_weights_the_pipeline_reads(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from gencor.models.restorer import load_nets
    from gencor.training.restorer import NU_GRID

    data = _photos(tmp_path / "train")
    out = tmp_path / "r.pt"
    assert main(["train", "--quick", "--data", str(data), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "validation PSNR" in text and "nu " in text
    nets = load_nets(out)
    assert nets.nu in NU_GRID
    state = torch.load(out, weights_only=True)
    assert np.isfinite(state["val_psnr"]) and len(state["ranked"]) == len(NU_GRID)
    assert main(["train", "--quick", "--data", str(tmp_path / "nothing"), "--quiet"]) == 2


def test_damaged_kernels_stay_kernels(rng: np.random.Generator) -> None:
    from gencor.kernels.trajectory import random_motion_kernel
    from gencor.training.restorer import damaged

    for _ in range(5):
        k = damaged(random_motion_kernel(21, rng), rng)
        assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
        assert abs(k.sum() - 1) < 1e-9 and k.min() >= 0


def test_inpainter_starts_as_the_identity() -> None:
    from gencor.models.inpainter import InpaintUNet

    x = torch.rand(2, 2, 24, 32)
    with torch.inference_mode():
        assert torch.equal(InpaintUNet(width=8)(x), x[:, :1])


def test_quick_inpainter_training(tmp_path: Path) -> None:
    from gencor.models.inpainter import load_inpainter
    from gencor.training.inpaint import InpaintTrainConfig, random_mask, train_inpainter

    data = _photos(tmp_path / "train")
    cfg = InpaintTrainConfig(data=data, out=tmp_path / "inp.pt", quick=True)
    result = train_inpainter(cfg, quiet=True)
    # The U-Net starts as the identity on its warm start; 40 steps of a width-8 network move it
    # off that without making the held-out fill worse (the loss itself varies with each mask).
    assert len(result.losses) == cfg.steps and np.all(np.isfinite(result.losses))
    assert result.val_psnr > result.val_psnr_fill - 0.05
    assert torch.count_nonzero(torch.load(cfg.out, weights_only=False)["net"]["merge_fine.2.weight"]) > 0
    observed = random_mask((40, 40), np.random.default_rng(0))
    out = load_inpainter(cfg.out).bind(observed)(shapes_image(40), 0)
    assert out.shape == (40, 40) and np.array_equal(out[observed], shapes_image(40)[observed])
    averaged = load_inpainter(cfg.out).bind(observed, ensemble=4)(shapes_image(40), 0)
    assert np.array_equal(averaged[observed], out[observed]) and not np.allclose(averaged, out)
    # Sizes that are not multiples of the U-Net's stride are padded and cropped back.
    for h, w in ((37, 29), (3, 5), (1, 2)):
        odd = load_inpainter(cfg.out).bind(observed[:h, :w], ensemble=2)(shapes_image(40)[:h, :w], 0)
        assert odd.shape == (h, w) and np.all(np.isfinite(odd))
