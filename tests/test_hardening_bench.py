"""Issue #29, part A: the benches and ``gencor train`` on hostile arguments, the bounds of the
estimator settings, and the filter flow on kernels one pixel thick. Heavy work is replaced by
stand-ins (a partial run must not overwrite the full tables whatever the rows hold)."""

from __future__ import annotations

import argparse
import csv
import importlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from conftest import shapes_image
from gencor.cli import build_parser, main


def _save(path: Path, img: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.uint8(np.round(255 * img))).save(path)
    return path


def _serial(work: Any, items: Any, **_: Any) -> list[Any]:
    """``run_pool`` in this process, so that the stand-ins patched here are the ones called."""
    return [work(item) for item in items]


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


# --- A9: every --help prints clean text ---------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _subcommands(sub, [*prefix, name])
    return found


def test_every_help_text_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _subcommands(build_parser(), [])
    assert ["bench", "inpaint"] in commands and ["train"] in commands and len(commands) > 15
    for argv in commands:
        with pytest.raises(SystemExit) as stop:
            main([*argv, "--help"])
        assert stop.value.code == 0, argv
        text = capsys.readouterr().out
        assert text and "%(" not in text and "{'" not in text and "'dest':" not in text, argv


# --- A2: a partial bench run never overwrites the full tables -----------------------------------


def _real_set(root: Path, names: tuple[str, ...]) -> Path:
    for i, name in enumerate(names):
        _save(root / "blurry" / f"{name}.jpg", shapes_image(48, seed=i))
    return root


def _fake_real_row(seconds: float) -> Any:
    from gencor.bench.real import COLUMNS

    def one(job: tuple[Path, Path]) -> dict[str, Any]:
        path, _ = job
        row: dict[str, Any] = dict.fromkeys(COLUMNS, 1)
        row.update(photo=f"[{path.stem}](real/{path.stem}_sheet.jpg)", decision="deblurred", candidate="main", seconds=seconds)
        return row

    return one


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_real_only_merges_its_rows_into_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gencor.bench.real as real

    data, out = _real_set(tmp_path / "real_lai16", ("a", "b", "c")), tmp_path / "out"
    monkeypatch.setattr(real, "run_pool", _serial)
    monkeypatch.setattr(real, "_one", _fake_real_row(2.0))
    assert main(["bench", "real", "--data", str(data), "--out", str(out), "--quiet"]) == 0
    monkeypatch.setattr(real, "_one", _fake_real_row(7.0))
    assert main(["bench", "real", "--data", str(data), "--out", str(out), "--quiet", "--only", "b"]) == 0
    rows = _csv_rows(out / "real_index.csv")
    assert [r["photo"].split("]")[0] for r in rows] == ["[a", "[b", "[c"]
    assert [float(r["seconds"]) for r in rows] == [2.0, 7.0, 2.0]
    md = (out / "real_index.md").read_text()
    assert "3 photos" in md and "nan" not in md and md.count("| [") == 3
    # --limit is partial too: the first photo is replaced, the others kept.
    assert main(["bench", "real", "--data", str(data), "--out", str(out), "--quiet", "--limit", "1"]) == 0
    assert [float(r["seconds"]) for r in _csv_rows(out / "real_index.csv")] == [7.0, 7.0, 2.0]


def test_real_refuses_to_merge_into_a_table_it_does_not_know(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import gencor.bench.real as real

    data, out = _real_set(tmp_path / "real_lai16", ("a",)), tmp_path / "out"
    out.mkdir()
    (out / "real_index.csv").write_text("photo,other\nx,1\n")
    monkeypatch.setattr(real, "run_pool", _serial)
    monkeypatch.setattr(real, "_one", _fake_real_row(2.0))
    assert main(["bench", "real", "--data", str(data), "--out", str(out), "--quiet", "--only", "a"]) == 2
    assert "real_index.csv" in _error_line(capsys)
    assert (out / "real_index.csv").read_text() == "photo,other\nx,1\n"


def _fake_local_row(job: tuple[Path, Path, Path | None]) -> dict[str, Any]:
    from gencor.bench.nonuniform import REAL_COLUMNS

    row: dict[str, Any] = dict.fromkeys(REAL_COLUMNS, "")
    row.update(photo=job[0].stem, blur="uniform", decision="deblurred", confidence=0.9, seconds=3.0, grid="1x1", trusted_windows=0)
    return row


def test_nonuniform_real_runs_every_photo_and_never_writes_nan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import gencor.bench.nonuniform as nonuniform

    monkeypatch.setattr(nonuniform, "run_pool", _serial)
    monkeypatch.setattr(nonuniform, "_real_one", _fake_local_row)
    data, out = _real_set(tmp_path / "real_lai16", ("a", "b")), tmp_path / "out"
    assert main(["bench", "nonuniform", "--real", str(data), "--out", str(out), "--quiet"]) == 0
    md = (out / "nonuniform_real.md").read_text()
    assert "2 photos" in md and "nan" not in md
    assert main(["bench", "nonuniform", "--real", str(data), "--out", str(out), "--quiet", "--only", "a"]) == 0
    assert [r["photo"] for r in _csv_rows(out / "nonuniform_real.csv")] == ["a", "b"]
    empty = tmp_path / "empty"
    (empty / "blurry").mkdir(parents=True)
    assert main(["bench", "nonuniform", "--real", str(empty), "--out", str(out), "--quiet"]) == 2
    assert "no blurry" in _error_line(capsys)
    assert main(["bench", "nonuniform", "--real", str(data), "--reports", str(tmp_path / "gone"), "--out", str(out), "--quiet"]) == 2
    assert "gone" in _error_line(capsys)


def test_limit_writes_beside_the_full_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gencor.bench.synthetic as synthetic

    def row(job: tuple[Any, Any]) -> dict[str, Any]:
        r: dict[str, Any] = dict.fromkeys(synthetic.COLUMNS, 1.0)
        r.update(image=job[0].name, decision="deblurred", saturated=False, final_stage="kept")
        return r

    monkeypatch.setattr(synthetic, "run_pool", _serial)
    monkeypatch.setattr(synthetic, "_one", row)
    out = tmp_path / "out"
    out.mkdir()
    (out / "validation.md").write_text("the full table\n")
    assert main(["bench", "validation", "--out", str(out), "--limit", "2", "--quiet"]) == 0
    assert (out / "validation.md").read_text() == "the full table\n"
    assert "2 images" in (out / "validation_first2.md").read_text()
    assert (out / "validation_first2.csv").exists() and (out / "validation_first2_er_cdf.png").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "levin", "--limit", "0"],
        ["bench", "levin", "--limit", "-1"],
        ["bench", "real", "--jobs", "0"],
        ["bench", "noisy", "--sigma", "-1"],
        ["bench", "noisy", "--seed", "-3"],
        ["bench", "speed", "--repeats", "0"],
        ["bench", "batch", "--photos", "0"],
        ["bench", "calibrate", "--per-photo", "0"],
        ["bench", "smooth", "--lam", "nan"],
        ["train", "--steps", "0"],
        ["train", "--steps", "-1"],
        ["train", "--images", "0"],
        ["train", "--seed", "-1"],
    ],
)
def test_counts_and_numbers_are_checked_before_any_work(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "error" in _error_line(capsys)


# --- A3: gencor train checks everything before training -----------------------------------------


def _photos(folder: Path, n: int, suffix: str = ".png", size: int = 120) -> Path:
    for i in range(n):
        _save(folder / f"p{i}{suffix}", shapes_image(size, seed=i))
    return folder


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any training started is a failure of the test."""
    import gencor.training.deblur as deblur
    import gencor.training.inpaint as inpaint
    import gencor.training.restorer as restorer

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("training started")

    for module, name in ((deblur, "build_dataset"), (inpaint, "_crops"), (restorer, "build_samples")):
        monkeypatch.setattr(module, name, forbidden)


@pytest.mark.parametrize("task", ["deblur", "kernel", "inpaint"])
def test_train_refuses_bad_outputs_before_training(task: str, tmp_path: Path, no_training: None, capsys: pytest.CaptureFixture[str]) -> None:
    data = _photos(tmp_path / "data", 3)
    a_file = tmp_path / "note.txt"
    a_file.write_text("x")
    photo = _save(tmp_path / "photo.png", shapes_image(32))
    for out, words in ((tmp_path, "folder"), (a_file / "w.pt", "not a folder"), (photo, ".pt")):
        assert main(["train", "--task", task, "--quick", "--data", str(data), "--out", str(out), "--quiet"]) == 2, out
        assert words in _error_line(capsys)
    assert photo.read_bytes() and a_file.read_text() == "x"


def test_train_resume_is_checked_before_training(tmp_path: Path, no_training: None, capsys: pytest.CaptureFixture[str]) -> None:
    data = _photos(tmp_path / "data", 3)
    assert main(["train", "--quick", "--data", str(data), "--out", str(tmp_path / "r.pt"), "--resume", "--quiet"]) == 2
    assert "--resume" in _error_line(capsys)
    for task in ("kernel", "inpaint"):
        assert main(["train", "--task", task, "--quick", "--data", str(data), "--out", str(tmp_path / "none.pt"), "--resume", "--quiet"]) == 2
        assert "no checkpoint" in _error_line(capsys)
        bogus = tmp_path / "bogus.pt"
        bogus.write_bytes(b"\x89PNG not a checkpoint")
        assert main(["train", "--task", task, "--quick", "--data", str(data), "--out", str(bogus), "--resume", "--quiet"]) == 2
        assert "bogus.pt" in _error_line(capsys)


def test_training_files_come_from_every_folder_and_format(tmp_path: Path) -> None:
    from gencor.training.deblur import split_files

    a = _photos(tmp_path / "a", 2)
    b = _photos(tmp_path / "b", 2, ".jpg")
    _photos(tmp_path / "b", 1, ".tif")
    (tmp_path / "b" / "notes.txt").write_text("not a photo")
    _, train, val = split_files((a, b), None, 0, 0.1)
    assert sorted(f.name for f in train + val) == ["p0.jpg", "p0.png", "p0.tif", "p1.jpg", "p1.png"]
    assert {f.parent for f in train + val} == {a, b}


def test_training_errors_name_the_file_and_the_cause(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gencor.training import deblur, inpaint, restorer

    one = _photos(tmp_path / "one", 1)
    assert main(["train", "--task", "kernel", "--quick", "--data", str(one), "--out", str(tmp_path / "g.pt"), "--quiet"]) == 2
    assert "at least 2" in _error_line(capsys)
    cut = _photos(tmp_path / "cut", 3)
    whole = (cut / "p1.png").read_bytes()
    (cut / "p1.png").write_bytes(whole[: len(whole) // 2])
    assert main(["train", "--task", "inpaint", "--quick", "--data", str(cut), "--out", str(tmp_path / "g.pt"), "--quiet"]) == 2
    assert "p1.png" in _error_line(capsys)
    with pytest.raises(ValueError, match=r"p1\.png"):
        deblur._one_image((cut / "p1.png", 0, deblur.TrainConfig(quick=True)))
    with pytest.raises(ValueError, match=r"p1\.png"):
        restorer.make_sample(cut / "p1.png", 0, restorer.RestorerTrainConfig(quick=True))
    tiny = _photos(tmp_path / "tiny", 1, size=20) / "p0.png"
    with pytest.raises(ValueError, match=r"p0\.png.*smaller"):
        inpaint._crops([tiny], np.random.default_rng(0), inpaint.InpaintTrainConfig())
    with pytest.raises(ValueError, match=r"p0\.png.*smaller"):
        restorer.make_sample(tiny, 0, restorer.RestorerTrainConfig(quick=True))
    assert not (tmp_path / "g.pt").exists()


def test_restorer_validation_never_touches_the_users_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The validation photos are made in memory: nothing is written beside --out or in the current
    folder, and a user's own camera.png there is never read."""
    import gencor.training.restorer as restorer

    seen: list[str] = []
    real_make = restorer.make_sample

    def spy(path: Any, seed: int, cfg: Any) -> Any:
        seen.append(str(path))
        return real_make(path, seed, cfg)

    monkeypatch.setattr(restorer, "make_sample", spy)
    monkeypatch.chdir(tmp_path)
    data = _photos(tmp_path / "data", 3, size=160)
    out_dir = tmp_path / "weights"
    mine = _save(out_dir / "camera.png", np.zeros((64, 64)))
    cfg = restorer.RestorerTrainConfig(data=(data,), out=out_dir / "r.pt", quick=True, steps=2, jobs=1)
    restorer.train_restorer(cfg, quiet=True)
    assert sorted(p.name for p in out_dir.iterdir()) == ["camera.png", "r.pt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "weights"]
    assert not any(str(mine) in s or s.endswith("camera.png") for s in seen)
    assert any(s.startswith("skimage:") for s in seen)


# --- A5: every setting of the estimators is bounded ---------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"beta_rate": 1.0000001},
        {"beta_max": 1e300},
        {"beta_rate": 1e300},
        {"lam": 1e-300},
        {"lam_min": 1e-300},
        {"lam": 1e6},
        {"eta": 1e300},
        {"gamma_ratio": 0.0},
        {"denoise": 1e300},
        {"denoise_above": 5.0},
        {"noise_threshold": -1.0},
        {"kernel_floor": 1.0},
        {"p": 2.0},
        {"lam_decay": 0.0},
        {"iterations": 10**4},
        {"beta_start": 1e300},
    ],
)
def test_estimator_settings_are_bounded(bad: dict[str, float]) -> None:
    from gencor.kernels.estimate import EstimatorConfig

    with pytest.raises(ValueError, match=f"invalid estimator settings: {next(iter(bad))}"):
        EstimatorConfig(**bad)  # type: ignore[arg-type]


def test_estimator_ladder_stays_bounded_at_the_extremes() -> None:
    from gencor.kernels.estimate import MAX_BETA_STEPS, EstimatorConfig, beta_steps

    assert beta_steps(EstimatorConfig()) <= MAX_BETA_STEPS
    assert EstimatorConfig(lam=np.float32(0.004), iterations=np.int64(3)).iterations == 3  # numpy numbers are numbers
    with pytest.raises(ValueError, match="steps"):
        EstimatorConfig(beta_rate=1.1, beta_max=1e8, lam_min=1e-8)
    with pytest.raises(TypeError, match="lam"):
        EstimatorConfig(lam="0.1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [
        {"beta_rate": 1.0000001},
        {"beta_max": 1e300},
        {"lam_grad": -1.0},
        {"lam_dark": 1e300},
        {"lam_min": 0.0},
        {"dark_patch": 0},
        {"dark_patch": 10**6},
        {"iterations": 0},
        {"eta": float("inf")},
        {"per_bin": 0.0},
        {"cut": 1.5},
        {"cg_iterations": 10**7},
        {"denoise": -1.0},
        {"lam_decay": 2.0},
    ],
)
def test_l0_settings_are_bounded(bad: dict[str, float]) -> None:
    from gencor.kernels.l0 import L0Config

    with pytest.raises(ValueError, match=f"invalid L0 settings: {next(iter(bad))}"):
        L0Config(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="iterations must be a whole number"):
        L0Config(iterations=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cut"):
        L0Config(cut=None)  # type: ignore[arg-type]


def test_training_configs_are_checked() -> None:
    from gencor.training.deblur import TrainConfig
    from gencor.training.inpaint import InpaintTrainConfig
    from gencor.training.restorer import RestorerTrainConfig

    for config in (TrainConfig, InpaintTrainConfig, RestorerTrainConfig):
        for bad in ({"steps": 0}, {"steps": -1}, {"seed": -1}):
            with pytest.raises(ValueError, match=next(iter(bad))):
                config(**bad)  # type: ignore[arg-type]


# --- A7: the filter flow on thin kernels; one-line errors of calibrate --------------------------


def test_filter_flow_takes_kernels_one_pixel_thick() -> None:
    from gencor.operators.filterflow import FilterFlow, grid_hats
    from gencor.tasks.deconv_local import deconvolve_local

    x = np.random.default_rng(0).uniform(size=(16, 24))
    flow = FilterFlow([np.full((1, 5), 0.2), np.full((5, 1), 0.2)], grid_hats(16, 1), grid_hats(24, 2))
    y = flow.forward(x)
    z = np.random.default_rng(1).uniform(size=x.shape)
    assert np.isclose(np.sum(y * z), np.sum(x * flow.adjoint(z)))  # the adjoint is the adjoint
    assert np.isclose(y.sum(), x.sum())  # kernels that sum to one keep the mean
    sharp = np.kron(np.random.default_rng(0).uniform(size=(8, 8)), np.ones((8, 8)))
    assert deconvolve_local(sharp, [np.full((1, 5), 0.2), np.full((5, 1), 0.2)], (1, 2), lam=1e-3).shape == (64, 64)


def test_calibrate_tables_with_wrong_contents_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import gencor.bench.calibrate as calibrate

    monkeypatch.setattr(calibrate, "run_pool", lambda *a, **k: pytest.fail("the synthetic run started"))
    empty, wrong = tmp_path / "empty.csv", tmp_path / "wrong.csv"
    empty.write_text("")
    wrong.write_text("a,b\n1,2\n")
    out = ["--out", str(tmp_path / "out"), "--quiet"]
    for table in (empty, wrong, tmp_path / "gone.csv"):
        assert main(["bench", "calibrate", "--from-table", str(table), *out]) == 2
        assert table.name in _error_line(capsys)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "a.json").write_text('{"candidates": {}}')
    assert main(["bench", "calibrate", "--real-labels", str(wrong), "--real-reports", str(reports), *out]) == 2
    assert "wrong.csv" in _error_line(capsys)


# --- A8: calibrate's folders are checked before the run -----------------------------------------


def test_calibrate_folders_are_checked_and_read_in_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import gencor.bench.calibrate as calibrate

    monkeypatch.setattr(calibrate, "run_pool", lambda *a, **k: pytest.fail("the synthetic run started"))
    out = ["--out", str(tmp_path / "out"), "--quiet"]
    (tmp_path / "labels.csv").write_text("photo,candidate,verdict\n")
    for option in ("--photos", "--real", "--real-reports"):
        extra = ["--real-labels", str(tmp_path / "labels.csv")] if option == "--real-reports" else []
        assert main(["bench", "calibrate", option, str(tmp_path / "gone"), *extra, *out]) == 2
        assert "gone" in _error_line(capsys)
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    assert main(["bench", "calibrate", "--photos", str(nothing), *out]) == 2
    assert "nothing" in _error_line(capsys)
    photos = _photos(tmp_path / "pngs", 2)
    _photos(photos, 1, ".jpeg")
    got: dict[str, Any] = {}
    monkeypatch.setattr(calibrate, "run_calibrate", lambda **kw: got.update(kw))
    assert main(["bench", "calibrate", "--photos", str(photos), "--max-photos", "2", *out]) == 0
    assert [p.name for p in got["photos"]] == ["p0.jpeg", "p0.png"]


# --- the hostile pass of issue #29 over `gencor bench` and `gencor train` -----------------------

#: Each must be refused in one line with exit status 2 before any work (files made by the fixture).
HOSTILE = [
    "bench real --data gone",
    "bench real --data file.txt",
    "bench real --data real --only zzz",
    "bench real --data real --out file.txt",
    "bench real --data real --out file.txt/sub",
    "bench real --data real --limit 1e9",
    "bench nonuniform --data empty",
    "bench nonuniform --only a",
    "bench nonuniform --real file.txt",
    "bench nonuniform --real empty",
    "bench nonuniform --real real --reports file.txt",
    "bench nonuniform --real real --only zzz",
    "bench levin --data empty",
    "bench levin --kernel-size 4",
    "bench levin --kernel-size -5",
    "bench noisy --sigma 2",
    "bench noisy --sigma inf",
    "bench validation --kernel-size 1",
    "bench validation --out file.txt/x",
    "bench ablation --parts bogus",
    "bench ablation --parts noisy --sigmas abc",
    "bench ablation --parts noisy --sigmas -1",
    "bench ablation --parts noisy --sigmas 0.01,",
    "bench ablation --parts real --real empty",
    "bench ablation --summarize --out empty",
    "bench ablation --summarize --out abl",
    "bench ablation --summarize --out abl2 --labels bin.csv",
    "bench detect --limit -2",
    "bench calibrate --from-table bin.csv",
    "bench calibrate --from-table empty",
    "bench calibrate --photos file.txt",
    "bench calibrate --real empty",
    "bench calibrate --real-labels labels.csv",
    "bench calibrate --real-labels bin.csv --real-reports empty",
    "bench calibrate --max-photos 0 --photos pngs",
    "bench smooth --lam inf",
    "train --steps 1.5",
    "train --steps 1e99",
    "train --out .",
    "train --out gone/w.pt",
    "train --out w.npy",
    "train --task kernel --resume --out pngs/a.png",
    "train --task kernel --resume --out file.txt",
    "train --task kernel --device cuda",
    "train --data file.txt",
    "train --data empty",
    "train --task kernel --data gone",
    "train --task kernel --data pngs",
    "train --task inpaint --data empty pngs",
    "train --task kernel --data pngs real/blurry --images 1",
]


@pytest.mark.parametrize("line", HOSTILE)
def test_hostile_arguments_are_refused_before_any_work(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_training: None
) -> None:
    for name in ("real", "nonuniform", "levin", "synthetic", "calibrate", "ablation", "detect"):
        monkeypatch.setattr(importlib.import_module(f"gencor.bench.{name}"), "run_pool", lambda *a, **k: pytest.fail("the bench started"))
    monkeypatch.chdir(tmp_path)
    _real_set(tmp_path / "real", ("a",))
    _photos(tmp_path / "pngs", 1)
    for folder in ("empty", "abl", "abl2"):
        (tmp_path / folder).mkdir()
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "labels.csv").write_text("photo,candidate,verdict\n")
    (tmp_path / "abl" / "ablation_real.csv").write_text("x,y\n1,2\n")
    (tmp_path / "abl2" / "ablation_real.csv").write_text("photo,variant,letter,decision,confidence,kernel_size,final_stage,seconds,final_stage_seconds\n")
    try:
        status = main([*line.split(), "--quiet"])
    except SystemExit as stop:
        status = int(stop.code or 0)
    assert status == 2
    assert "error" in _error_line(capsys)
