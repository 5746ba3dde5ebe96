"""Issue #29, part A: what a hostile pass found in the deblurring pipeline and the API keywords,
each reproduced on a small synthetic image."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from scipy.ndimage import convolve

import gencor
from gencor.kernels.estimate import EstimatorConfig
from gencor.tasks.deconv_local import deconvolve_local


def _photo(n: int = 64, seed: int = 0) -> np.ndarray:
    return np.kron(np.random.default_rng(seed).uniform(0.1, 0.9, size=(n // 8, n // 8)), np.ones((8, 8)))


def _kernel() -> np.ndarray:
    k = np.zeros((5, 5))
    k[2, :] = 0.2
    return k


#: One call per public task with every option at a good value; each case below changes one.
CALLS: dict[str, Any] = {
    "deblur": lambda **kw: gencor.deblur(_photo(), **{"generator": "none", "kernel_size": 5, **kw}),
    "deconvolve": lambda **kw: gencor.deconvolve(_photo(), _kernel(), **kw),
    "deconvolve_local": lambda **kw: deconvolve_local(_photo(), [_kernel(), _kernel()], (1, 2), **kw),
    "inpaint": lambda **kw: gencor.inpaint(_photo(), _photo() > 0.3, **{"generator": "none", **kw}),
    "smooth": lambda **kw: gencor.smooth(_photo(), **kw),
    "sketch": lambda **kw: gencor.sketch(_photo(), **{"smoothing": None, **kw}),
}

BAD: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("deblur", {"force": "no"}, TypeError),
    ("deblur", {"force": 1}, TypeError),
    ("deblur", {"final_stage": "no"}, TypeError),
    ("deblur", {"corrector": "yes"}, TypeError),
    ("deblur", {"corrector": None}, TypeError),
    ("deblur", {"config": {"iterations": 2}}, TypeError),
    ("deblur", {"config": EstimatorConfig}, TypeError),
    ("deblur", {"lam": True}, TypeError),
    ("deblur", {"lam": "0.01"}, TypeError),
    ("deblur", {"lam": float("nan")}, ValueError),
    ("deblur", {"blur": ["local"]}, ValueError),
    ("deblur", {"generator": 3}, ValueError),
    ("deblur", {"progress": "bar"}, TypeError),
    ("deconvolve", {"lam": True}, TypeError),
    ("deconvolve", {"lam": np.bool_(True)}, TypeError),
    ("deconvolve", {"p": "0.8"}, TypeError),
    ("deconvolve", {"p": float("nan")}, ValueError),
    ("deconvolve", {"p": 2.0}, ValueError),
    ("deconvolve_local", {"lam": True}, TypeError),
    ("deconvolve_local", {"p": -1.0}, ValueError),
    ("inpaint", {"lam": -1.0}, ValueError),
    ("inpaint", {"lam": True}, TypeError),
    ("inpaint", {"p": float("inf")}, ValueError),
    ("inpaint", {"gamma": float("nan")}, ValueError),
    ("inpaint", {"stages": 2.0}, TypeError),
    ("inpaint", {"stages": True}, TypeError),
    ("inpaint", {"generator": None}, ValueError),
    ("smooth", {"lam": True}, TypeError),
    ("smooth", {"lam": "0.02"}, TypeError),
    ("smooth", {"stages": 1.5}, TypeError),
    ("smooth", {"workers": 0}, ValueError),
    ("smooth", {"workers": 10**9}, ValueError),
    ("smooth", {"beta_rate": 1.0000001}, ValueError),
    ("smooth", {"beta_max": 1e300}, ValueError),
    ("smooth", {"progress": 3}, TypeError),
    ("sketch", {"color": "no"}, TypeError),
    ("sketch", {"smoothing": True}, TypeError),
    ("sketch", {"smoothing": float("inf")}, ValueError),
    ("sketch", {"smoothing": 1e12}, ValueError),
    ("sketch", {"seed": 1.5}, TypeError),
    ("sketch", {"seed": -1}, ValueError),
]


@pytest.mark.parametrize(("task", "keywords", "error"), BAD, ids=[f"{t}-{next(iter(k))}" for t, k, _ in BAD])
def test_wrong_keywords_are_one_clear_error(task: str, keywords: dict[str, Any], error: type[Exception]) -> None:
    """A6: a wrong keyword is a TypeError or ValueError whose one line names it, never taken for
    another value (``force="no"`` forced, ``lam=True`` was 1) nor an AttributeError."""
    with pytest.raises(error) as info:
        CALLS[task](**keywords)
    message = str(info.value)
    assert "\n" not in message and len(message) < 200
    assert next(iter(keywords)) in message, message


def test_numpy_scalars_are_numbers() -> None:
    """A6: NumPy integers and floats are accepted where Python's are, with the same result."""
    photo = convolve(_photo(), _kernel(), mode="reflect")
    a = gencor.deconvolve(photo, _kernel(), lam=np.float32(0.01), p=np.float64(0.8))
    b = gencor.deconvolve(photo, _kernel(), lam=float(np.float32(0.01)), p=0.8)
    np.testing.assert_array_equal(a.image, b.image)
    result = gencor.deblur(photo, kernel_size=np.int64(5), lam=np.float32(0.01), generator="none", force=np.bool_(False))
    assert result.kernel.shape == (5, 5)
    smooth = gencor.smooth(photo, lam=np.float32(0.02), stages=np.int64(1), workers=np.int32(1))
    assert smooth.image.shape == photo.shape


@pytest.mark.parametrize(("photo", "n"), [("blank", 400), ("blank", 256), ("ramp", 400), ("ramp 8 bit", 300)])
def test_a_photo_without_edges_is_unchanged_with_no_blur(photo: str, n: int) -> None:
    """A4: a blank photo at 400x400 was "deblurred, confidence 1.00" (at 256x256 "no blur"); a
    flat gradient warned that the blur may be longer than 83 px."""
    image = np.full((n, n), 0.5) if photo.startswith("blank") else np.tile(np.linspace(0.2, 0.8, n), (n, 1))
    if photo.endswith("8 bit"):
        image = np.round(image * 255).astype(np.uint8)
    result = gencor.deblur(image)
    report = result.report
    assert (report.decision, report.withheld, report.confidence) == ("unchanged", "no blur", 0.0)
    np.testing.assert_allclose(result.image, image if image.dtype != np.uint8 else image / 255)
    assert any("no edges" in w for w in report.warnings) and not any("longer than" in w for w in report.warnings)


def test_a_withheld_photo_reports_no_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """A4: photos withheld as "cut" reported confidences of 0.97-0.998."""
    import gencor.tasks.deblur.families as families

    monkeypatch.setattr(families, "touches_border", lambda k: True)
    report = gencor.deblur(convolve(_photo(96), _kernel(), mode="reflect"), generator="none").report
    assert report.withheld == "cut" and report.confidence == 0.0
    assert max(c["confidence"] for c in report.candidates.values()) > 0  # the scores are kept


def test_what_a_tiny_photo_does_not_measure_is_null(tmp_path: Any) -> None:
    """A4: on 17x17 photos agreement, stability and consensus were reported as 1.0 unmeasured."""
    from gencor.cli import main

    rng = np.random.default_rng(3)
    report = gencor.deblur(rng.uniform(0.2, 0.8, size=(17, 17)), generator="none").report
    for measures in [report.evidence, *report.candidates.values()]:
        assert all(measures[name] is None for name in ("agreement", "stability", "consensus"))
        assert all(isinstance(measures[name], float) for name in ("ringing", "residual", "spread"))
    assert any("not measured" in w for w in report.warnings)
    text = json.dumps(report.as_dict(), allow_nan=False)  # no NaN token
    assert '"agreement": null' in text
    from PIL import Image

    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.uint8(255 * rng.uniform(0.2, 0.8, size=(17, 17)))).save(folder / "tiny.png")
    assert main(["deblur", str(folder / "tiny.png"), "-o", str(tmp_path / "o.png"), "--report", str(tmp_path / "r.json"), "--generator", "none"]) == 0
    assert json.loads((tmp_path / "r.json").read_text(), parse_constant=lambda c: math.nan)["evidence"]["agreement"] is None
    assert main(["deblur", str(folder), "-o", str(tmp_path / "out"), "--generator", "none"]) == 0
    csv_text = (tmp_path / "out" / "report.csv").read_text()
    assert "nan" not in csv_text.lower() and "tiny.png" in csv_text


def _local_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any photo take the local path on a 1x2 grid cheaply: two trusted windows, both kernels
    the frame's line, confidence 0.9."""
    import gencor.tasks.deblur.decision as decision
    import gencor.tasks.deblur.families as families
    from gencor.kernels.local import LocalKernels
    from gencor.tasks.deblur.local import LocalPlan

    halves = [(slice(None), slice(0, 32)), (slice(None), slice(32, 64))]
    monkeypatch.setattr(families, "local_grid", lambda shape, size: (1, 2))
    monkeypatch.setattr(families, "local_plan", lambda plan, grid, trial, size: LocalPlan(grid, halves, [], np.ones(2), [], [], []))
    monkeypatch.setattr(
        decision,
        "choose_kernels",
        lambda kernels, frame, **kw: LocalKernels((1, 2), halves, [frame, frame], [True, True], [1.0, 1.0], [0.9, 0.9], [0.5, 0.5], 0.5),
    )


def test_the_local_path_says_what_it_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    """A8: on the local path, --final-stage was skipped without a word."""
    _local_path(monkeypatch)
    blurred = convolve(_photo(), _kernel(), mode="reflect")
    report = gencor.deblur(blurred, kernel_size=9, generator="none", blur="local", final_stage=True, force=True).report
    assert report.blur == "local" and any("no final stage" in w for w in report.warnings)


def test_local_on_a_photo_too_small_for_a_grid_says_so() -> None:
    """A8: --blur local on a photo too small for a grid ran uniform without saying so."""
    report = gencor.deblur(convolve(_photo(), _kernel(), mode="reflect"), kernel_size=5, generator="none", blur="local").report
    assert report.blur == "uniform" and any("too small for a grid" in w for w in report.warnings)


def test_the_cli_saves_the_local_kernels_and_names_the_local_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: Any) -> None:
    """A8: --save-kernel wrote only the frame's kernel and the summary line did not say "local"."""
    from PIL import Image

    from gencor.cli import main

    _local_path(monkeypatch)
    src = tmp_path / "in.png"
    Image.fromarray(np.uint8(255 * convolve(_photo(), _kernel(), mode="reflect"))).save(src)
    args = ["deblur", str(src), "-o", str(tmp_path / "o.png"), "--kernel-size", "9", "--generator", "none", "--blur", "local", "--force"]
    assert main([*args, "--save-kernel", str(tmp_path / "k.npy"), "--save-kernel", str(tmp_path / "k.png")]) == 0
    assert np.load(tmp_path / "k.npy").shape == (9, 9)
    grid = np.load(tmp_path / "k_local.npy")
    assert grid.shape == (1, 2, 9, 9) and np.allclose(grid.sum(axis=(2, 3)), 1)
    assert np.asarray(Image.open(tmp_path / "k_local.png")).shape == (9, 19)
    assert "local 1x2 grid" in capsys.readouterr().out


def test_the_batch_report_has_a_blur_column(tmp_path: Any) -> None:
    """A8: the batch report.csv had no blur column."""
    import csv

    from PIL import Image

    from gencor.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.uint8(255 * convolve(_photo(), _kernel(), mode="reflect"))).save(folder / "a.png")
    assert main(["deblur", str(folder), "-o", str(tmp_path / "out"), "--kernel-size", "5", "--generator", "none", "--quiet"]) == 0
    with open(tmp_path / "out" / "report.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["blur"] == "uniform"


@pytest.mark.parametrize(("side", "size", "message"), [(12, "auto", "too small"), (64, "4", "odd"), (64, "41", "too large")])
def test_errors_come_before_the_progress_bar(tmp_path: Any, capsys: Any, side: int, size: str, message: str) -> None:
    """A9: an empty progress bar was printed before the "too small" and "kernel size must be odd" errors."""
    from PIL import Image

    from gencor.cli import main

    src = tmp_path / "in.png"
    Image.fromarray(np.uint8(255 * _photo(64)[:side, :side])).save(src)
    assert main(["deblur", str(src), "-o", str(tmp_path / "o.png"), "--kernel-size", size]) == 2
    err = capsys.readouterr().err
    assert message in err and "step" not in err and len(err.strip().splitlines()) == 1, err
