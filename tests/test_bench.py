"""The benchmark machinery on a tiny Levin-format set the test writes itself."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat
from scipy.ndimage import convolve
from scipy.signal import correlate2d

from conftest import shapes_image
from gencor.bench.levin import run_levin
from gencor.kernels import random_motion_kernel


def _levin_set(data: Path, n: int = 2) -> Path:
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        big = shapes_image(80, seed=i)
        f = random_motion_kernel(7, rng, extent=5)
        y = correlate2d(big, f, mode="valid")[:72, :72]  # Levin's convention: correlation
        savemat(data / f"im0{i}_flit01.mat", {"x": big[3:75, 3:75], "y": y, "f": f})
    return data


def test_levin_bench_writes_tables_and_plot(tmp_path: Path) -> None:
    data = _levin_set(tmp_path / "levin")
    out = tmp_path / "out"
    summary = run_levin(data, out_dir=out, kernel_size=9, jobs=1, limit=None, quiet=True)
    assert summary["images"] == 2
    assert 0 <= summary["er<=3"] <= 1 and summary["median_er"] > 0
    assert summary["mean_psnr_true_kernel"] > 25
    for name in ("levin_9.md", "levin_9.csv", "levin_9_er_cdf.png"):
        assert (out / name).stat().st_size > 100
    assert (out / "levin_9.csv").read_text().count("\n") == 5  # header, 2 images, mean, true kernel


#: The shared data folder (read-only benchmarks), as the README says; tests that need it skip without it.
DATA = Path(os.environ.get("GENCOR_DATA", "../shared/data"))


def test_levin_first_image_with_default_options() -> None:
    """Levin's first image (im05, kernel 1), default options: deblurred with error ratio <= 3."""
    from gencor.bench.levin import COLUMNS, levin_case
    from gencor.tasks.deblur.families import FAMILIES

    path = DATA / "levin09" / "im05_flit01.mat"
    if not path.exists():
        pytest.skip(f"Levin's set is not at {path.parent} (set GENCOR_DATA)")
    row = levin_case(path, "auto")
    assert row["decision"] == "deblurred" and row["error_ratio"] <= 3, row
    # The row says which family's kernel was chosen (the family counts of docs/bench/speed.md).
    assert set(COLUMNS) <= set(row) and row["candidate"].removesuffix(" conservative") in FAMILIES, row


def test_synthetic_cases_blur_with_real_borders() -> None:
    from gencor.bench.synthetic import make_case, validation_cases

    cases = validation_cases(seed=0, sigma=0.0)
    assert len(cases) == 20 and len({c.seed for c in cases}) == 20
    sharp, blurred, k = make_case(cases[0])
    assert sharp.shape == blurred.shape == (255, 255)
    assert k.shape == (27, 27) and abs(k.sum() - 1) < 1e-12
    assert np.allclose(blurred * 255, np.round(blurred * 255))  # 8-bit
    again = make_case(cases[0])
    assert np.array_equal(again[1], blurred)  # deterministic under the seed


def test_ablation_bench_compares_three_variants(tmp_path: Path) -> None:
    from gencor.bench.ablation import VARIANTS, levin_ablation

    out = tmp_path / "out"
    summaries = levin_ablation(_levin_set(tmp_path / "levin"), out_dir=out, kernel_size=9, jobs=1, images=1, limit=None, quiet=True)
    assert set(summaries) == set(VARIANTS) and all(s["images"] == 2 for s in summaries.values())
    text = (out / "ablation.md").read_text()
    assert "never increases in the long run: True" in text
    assert (out / "ablation_stages.png").stat().st_size > 1000
    assert (out / "ablation.csv").read_text().count("\n") == 4
    assert "## The Corrector's decisions" in text
    # Generator only takes every proposal; Corrector only never has a network's proposal to test.
    rows = [line.split("|")[1:-1] for line in text.split("## The Corrector's decisions")[1].split("## Levin table")[0].splitlines() if line.startswith("| ")]
    by_variant = {v: [r for r in rows if r[0].strip() == v] for v in VARIANTS}
    assert all(r[3].strip() in ("1.000", "") for r in by_variant["Generator only"])
    assert all(r[2].strip() == "0" for r in by_variant["Corrector only"])
    assert any(int(r[2]) > 0 for r in by_variant["GCM"])


def test_real_ablation_makes_blind_sheets_and_counts_verdicts(tmp_path: Path) -> None:
    from gencor.bench.ablation import VARIANTS, run_real_ablation, summarize_real
    from gencor.io import Photo, write_image

    blurry = tmp_path / "real" / "blurry"
    blurry.mkdir(parents=True)
    shake = np.zeros((9, 9))
    shake[4, 1:8] = 1 / 7
    for i in range(4):  # every third by name: photos 0 and 3
        rgb = np.stack([convolve(shapes_image(128, seed=i), shake, mode="reflect")] * 3, axis=-1)
        write_image(blurry / f"p{i}.jpg", Photo(rgb, None, 8))
    out = tmp_path / "out"
    labels = out / "labels.csv"
    table = run_real_ablation(tmp_path / "real", out_dir=out, jobs=1, limit=None, quiet=True, labels=labels)
    assert [r["photos"] for r in table] == [2, 2, 2]
    assert sorted(p.name for p in (out / "ablation_real").iterdir()) == ["p0_sheet.jpg", "p3_sheet.jpg"]
    rows = (out / "ablation_real.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * len(VARIANTS)
    # The letters hide the variants: each photo uses A, B and C once.
    head = rows[0].split(",")
    letters = {}
    for line in rows[1:]:
        r = dict(zip(head, line.split(","), strict=True))
        letters.setdefault(r["photo"], set()).add(r["letter"])
    assert all(v == {"A", "B", "C"} for v in letters.values())
    labels.write_text("photo,variant,verdict\np0,GCM,better\np3,GCM,worse\np0,Corrector only,same\np3,Corrector only,same\n")
    table = {r["variant"]: r for r in summarize_real(out, labels=labels, quiet=True)}
    assert (table["GCM"]["better (eye)"], table["GCM"]["worse (eye)"], table["Corrector only"]["same (eye)"]) == (1, 1, 2)
    assert table["Generator only"]["better (eye)"] == ""  # not judged
    labels.write_text("photo,variant,verdict\np0,GCM,fine\n")
    with pytest.raises(ValueError, match="not one of"):
        summarize_real(out, labels=labels, quiet=True)


def _beyond_data(root: Path) -> Path:
    from gencor.io import Photo, write_image

    kodak = root / "test" / "Kodak24"
    rtv = root / "examples" / "rtv"
    ex = root / "examples" / "inpainting"
    for d in (kodak, rtv, ex):
        d.mkdir(parents=True)
    rgb = np.stack([shapes_image(260, seed=s) for s in range(3)], axis=-1)
    write_image(kodak / "kodim01.png", Photo(rgb, None, 8))
    write_image(ex / "kate.png", Photo(rgb, None, 8))
    mask = np.ones((260, 260))
    mask[100:110, 20:200] = 0
    write_image(ex / "kate_mask.png", Photo(mask, None, 8))
    write_image(rtv / "tex.jpg", Photo(rgb[:96, :96], None, 8))
    return root


def test_beyond_benches_write_tables_and_figures(tmp_path: Path) -> None:
    from gencor.bench.inpaint import run_inpaint
    from gencor.bench.sketch import run_sketch
    from gencor.bench.smooth import run_smooth

    data = _beyond_data(tmp_path / "data")
    out = tmp_path / "out"
    means = run_inpaint(data, out_dir=out, seed=0, limit=None, quiet=True)
    assert means["random 60% / gencor (GCM)"]["psnr"] > 20
    assert {"text / OpenCV Telea", "text / scikit-image biharmonic", "own mask / OpenCV FSR (fast)"} <= set(means)
    assert (out / "inpaint.csv").read_text().count("\n") == 1 + 3 * 6
    rows = run_smooth(data, out_dir=out, lam=0.02, quiet=True)
    assert len(rows) == 1 and rows[0]["psi_gencor"] > 0 and rows[0]["psi_opencv"] > 0
    run_sketch(data, out_dir=out, quiet=True)
    for name in ("inpaint_examples.png", "smooth_examples.png", "sketch_examples.png", "smooth.md", "inpaint.md"):
        assert (out / name).stat().st_size > 100


def test_batch_bench_times_three_modes(tmp_path: Path) -> None:
    from gencor.bench.batch import MODES, run_batch_bench

    rows = run_batch_bench(out_dir=tmp_path, photos=2, megapixels=(0.02, 0.03), quiet=True)
    assert [r["mode"] for r in rows] == [m for m, _ in MODES]
    assert all(r["wall_s"] > 0 and r["failed"] == 0 and r["same_decisions"] for r in rows)
    assert "photos_per_min" in (tmp_path / "batch.md").read_text()


def test_detection_matching_and_scores() -> None:
    from gencor.bench.detect import iou, match, scores

    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    truth = [(0, 0, 10, 10), (50, 50, 10, 10)]
    # one good match, one box that overlaps too little, one duplicate of the matched box
    assert match([(1, 1, 10, 10), (55, 50, 10, 10), (0, 0, 10, 10)], truth) == 1
    s = scores(1, 3, 2)
    assert s["recall"] == 0.5 and s["precision"] == pytest.approx(1 / 3) and s["f1"] == pytest.approx(0.4)
    assert scores(0, 0, 0)["f1"] == 1.0


def test_offline_detectors_find_the_astronaut_and_nothing_on_a_blank_page() -> None:
    pytest.importorskip("cv2")
    from skimage import data

    from gencor.bench.detect import detectors, iou

    sharp = data.astronaut() / 255.0
    found = {name: detect(sharp) for name, detect in detectors().items()}
    assert len(found["Haar faces"]) == 1 and len(found["HOG people"]) >= 1
    face = found["Haar faces"][0]
    assert iou(face, (170, 60, 105, 105)) > 0.5  # her face lies at about x 170-275, y 60-165
    assert all(detect(np.full((256, 256, 3), 0.5)) == [] for detect in detectors().values())


def test_ablation_on_the_noisy_set(tmp_path: Path) -> None:
    from gencor.bench.ablation import VARIANTS, noisy_ablation

    folder = tmp_path / "test" / "Set12"
    folder.mkdir(parents=True)
    Image.fromarray(np.round(shapes_image(232, seed=3) * 255).astype(np.uint8)).save(folder / "01.png")
    rows, table = noisy_ablation(tmp_path / "test", sigmas=(0.01,), jobs=1, limit=1, quiet=True)
    assert [r["variant"] for r in table] == list(VARIANTS) and all(r["images"] == 1 for r in table)
    assert next(r for r in table if r["variant"] == "Corrector only")["worse_than_corrector_0.2db"] == 0
    assert len(rows) == len(VARIANTS) and all(np.isfinite(r["error_ratio"]) for r in rows)


def test_calibration_folds_never_split_a_photo() -> None:
    from gencor.bench.calibrate import photo_folds

    cases = [f"{p}#{j}" for p in ("camera", "coins", "moon", "100075", "2092", "brick", "rocket") for j in range(3)]
    folds = photo_folds(cases, 5)
    by_photo: dict[str, set[int]] = {}
    for c, f in zip(cases, folds, strict=True):
        by_photo.setdefault(c.split("#")[0], set()).add(int(f))
    assert all(len(f) == 1 for f in by_photo.values())  # every crop of a photo in one fold
    assert set(folds.tolist()) == set(range(5))  # and every fold holds out some photo
    assert np.array_equal(folds, photo_folds(cases, 5))  # deterministic


def test_real_labels_feed_the_fit_and_the_decisions(tmp_path: Path) -> None:
    import json

    from gencor.assess import FEATURES, Evidence
    from gencor.bench.calibrate import labelled_rows, real_decision_line

    ev = Evidence(agreement=0.8, stability=0.9, ringing=1.5, overshoot=0.0, residual=1.0, spread=2.0, consensus=0.7).as_dict()
    reports = tmp_path / "real"
    reports.mkdir()
    for photo, withheld in (("a", ""), ("b", "confidence"), ("c", "cut")):
        cands = {"fine": {"confidence": 0.5, "lam": 1e-3, **ev}, "dark": {"confidence": 0.5, "lam": 1e-3, **ev}}
        (reports / f"{photo}.json").write_text(json.dumps({"withheld": withheld, "candidates": cands}))
    labels = tmp_path / "labels.csv"
    labels.write_text("photo,candidate,verdict\na,fine,better\na,dark,worse\nb,fine,better\nb,dark,same\nc,fine,better\n")
    rows = labelled_rows(reports, labels)
    assert [(r["case"], r["candidate"], r["verdict"]) for r in rows] == [
        ("real:a#0", "fine", "better"), ("real:a#0", "dark", "worse"), ("real:b#0", "fine", "better"),
        ("real:b#0", "dark", "same"), ("real:c#0", "fine", "better"),
    ]  # fmt: skip
    assert all(len([r[f] for f in FEATURES]) == len(FEATURES) for r in rows)
    # Trust the fine candidates of a and b: both better; c stays unchanged because its kernel was cut.
    conf = np.array([0.9, 0.1, 0.9, 0.1, 0.9])
    cells = [c.strip() for c in real_decision_line(0.7, conf, rows, "t").split("|")[1:-1]]
    assert cells[2:] == ["2 (67%)", "0", "0", "1", "0", "3"]
    # Below the threshold, a and b are missed gains; c is not (a rule withheld it, not the confidence).
    cells = [c.strip() for c in real_decision_line(0.95, conf, rows, "t").split("|")[1:-1]]
    assert cells[2:] == ["0 (0%)", "0", "0", "3", "2", "3"]
    # Trusting the worse candidate of a counts as worse.
    cells = [c.strip() for c in real_decision_line(0.7, np.array([0.9, 0.95, 0.9, 0.1, 0.9]), rows, "t").split("|")[1:-1]]
    assert cells[2:5] == ["1 (33%)", "0", "1"]
    labels.write_text("photo,candidate,verdict\na,fine,great\n")
    with pytest.raises(ValueError, match="unknown verdicts"):
        labelled_rows(reports, labels)


def test_nonuniform_bench_compares_uniform_and_local(tmp_path: Path) -> None:
    """The bench on one photo of its own: rolled-camera blur, both paths, the true-kernel reference
    and the kernel sheet; and the real-photo part on one small JPEG (too small for a grid)."""
    from gencor.bench.nonuniform import MARGIN, cases, make_case, run_nonuniform, run_real_local

    data = tmp_path / "test"
    (data / "Kodak24").mkdir(parents=True)
    Image.fromarray(np.uint8(255 * shapes_image(2 * MARGIN + 140, seed=3))).save(data / "Kodak24" / "kodim99.png")
    (data / "Set12").mkdir()
    Image.fromarray(np.uint8(255 * shapes_image(256, seed=4))).save(data / "Set12" / "01.png")  # too small: left out
    assert [c.name for c in cases(data)] == ["Kodak24/kodim99"]
    sharp, blurred, _, sigma = make_case(cases(data)[0])
    assert sharp.shape == blurred.shape == (140, 140) and 0.005 <= sigma <= 0.01
    assert np.mean(np.abs(sharp - blurred)) > 0.01  # really blurred
    rows = run_nonuniform(data, out_dir=tmp_path / "out", jobs=1, limit=None, quiet=True)
    assert len(rows) == 1 and rows[0]["grid"] == "1x1" and rows[0]["auto"] == "uniform"
    assert rows[0]["psnr_auto"] == rows[0]["psnr_uniform"]
    assert (tmp_path / "out" / "nonuniform.md").read_text().count("kodim99") == 1
    assert (tmp_path / "out" / "nonuniform" / "Kodak24_kodim99_kernels.png").stat().st_size > 100
    real = tmp_path / "real"
    (real / "blurry").mkdir(parents=True)
    Image.fromarray(np.uint8(255 * blurred)).save(real / "blurry" / "small.jpg")
    with pytest.raises(ValueError, match="no such photos"):
        run_real_local(real, ["missing"], reports=None, out_dir=tmp_path / "out", jobs=1, quiet=True)
    rows = run_real_local(real, ["small"], reports=None, out_dir=tmp_path / "out", jobs=1, quiet=True)
    assert rows[0]["blur"] == "uniform" and (tmp_path / "out" / "nonuniform_real" / "small.json").exists()
