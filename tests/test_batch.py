"""Folders of photos: files, folders and globs into an output folder, worker processes, Dask, a
failing photo that does not stop the others, --skip-existing and report.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import shapes_image
from gencor.cli import batch, main
from gencor.cli.batch import REPORT, SOME_FAILED, expand, is_batch, plan
from gencor.io import read_image


def _photos(folder: Path, n: int = 3, *, bad: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        rgb = np.stack([shapes_image(64, seed=i + c) for c in range(3)], axis=-1)
        path = folder / f"photo{i}.png"
        Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(path)
        paths.append(path)
    if bad:
        (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a JPEG")
    return paths


def _report(out: Path) -> dict[str, dict[str, str]]:
    with open(out / REPORT, newline="") as f:
        return {Path(row["input"]).name: row for row in csv.DictReader(f)}


def test_a_folder_with_a_broken_photo_in_two_processes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = _photos(tmp_path / "in")
    out = tmp_path / "out"
    assert main(["smooth", str(tmp_path / "in"), "-o", f"{out}/", "--jobs", "2", "--quiet"]) == SOME_FAILED
    rows = _report(out)
    assert {name: row["status"] for name, row in rows.items()} == {"photo0.png": "ok", "photo1.png": "ok", "photo2.png": "ok", "broken.jpg": "failed"}
    assert rows["broken.jpg"]["error"] and rows["photo0.png"]["width"] == "64"
    for p in photos:
        assert read_image(out / p.name).pixels.shape == (64, 64, 3)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gencor: error: broken.jpg:")


def test_files_and_globs_skip_existing_and_format(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "in", bad=False)
    out = tmp_path / "out"
    args = ["sketch", str(photos[0]), str(tmp_path / "in" / "photo[12].png"), "-o", str(out) + "/", "--format", "jpg", "--quiet"]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["photo0.jpg", "photo1.jpg", "photo2.jpg", REPORT]
    before = (out / "photo1.jpg").stat().st_mtime_ns
    (out / "photo0.jpg").unlink()
    assert main([*args, "--skip-existing"]) == 0
    rows = _report(out)
    assert [rows[f"photo{i}.png"]["status"] for i in range(3)] == ["ok", "skipped", "skipped"]
    assert (out / "photo1.jpg").stat().st_mtime_ns == before
    assert (out / "photo0.jpg").exists()


def test_deblur_batch_reports_what_the_estimator_found(tmp_path: Path) -> None:
    _photos(tmp_path / "in", n=1, bad=False)
    out = tmp_path / "out"
    assert main(["deblur", str(tmp_path / "in"), "-o", str(out), "--kernel-size", "7", "--generator", "none", "--quiet"]) == 0
    row = _report(out)["photo0.png"]
    assert row["kernel_size"] == "7" and row["decision"] in ("deblurred", "conservative", "tentative", "unchanged")
    assert 0.0 <= float(row["confidence"]) <= 1.0 and float(row["seconds"]) > 0


def test_dask_local_cluster_with_two_workers(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    photos = _photos(tmp_path / "in")
    out = tmp_path / "shared"
    assert main(["smooth", str(tmp_path / "in"), "-o", f"{out}/", "--dask", "--jobs", "2", "--quiet"]) == SOME_FAILED
    rows = _report(out)
    assert sum(r["status"] == "ok" for r in rows.values()) == len(photos) and rows["broken.jpg"]["status"] == "failed"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left
    expected = read_image(out / "photo1.png").pixels
    assert main(["smooth", str(photos[1]), "-o", str(tmp_path / "one.png"), "--quiet"]) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "one.png").pixels, expected)


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(batch, "DASK_CONNECT", "1s")
    _photos(tmp_path / "in", n=1, bad=False)
    assert main(["smooth", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--dask", "tcp://127.0.0.1:9", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Dask scheduler" in err[0]


def test_batch_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _photos(tmp_path / "in", n=1, bad=False)
    assert main(["deblur", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--save-kernel", "k.npy"]) == 2
    assert "for one photo" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["deblur", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--format", "gif"])
    assert "invalid choice" in capsys.readouterr().err


def test_single_photo_refuses_batch_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = _photos(tmp_path / "in", n=1, bad=False)[0]
    assert main(["smooth", str(photo), "-o", str(tmp_path / "o.png"), "--jobs", "2"]) == 2
    assert "for batches" in capsys.readouterr().err


def test_a_stopped_pool_gives_ctrl_c_back(tmp_path: Path) -> None:
    """The pool ignores Ctrl-C while it stops its workers, then puts the handler back: a program
    that runs batches in-process (and each process it starts later, which inherits an ignored
    signal) must still stop on Ctrl-C (issue #29: a test's subprocess could not be interrupted)."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    jobs = [batch.PhotoJob("smooth", str(tmp_path / f"missing{i}.png"), str(tmp_path / f"out{i}.png"), {}, 10**6, 95) for i in range(3)]
    outcomes = batch._in_pool(jobs, 2)
    assert next(outcomes).status == "failed"
    outcomes.close()  # the consumer stops early: the pool's clean-up runs
    assert signal.getsignal(signal.SIGINT) is before


def test_planning(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "x.png").write_bytes(b"")
    (a / "notes.txt").write_text("not a photo")
    assert expand([str(a)]) == [a / "x.png"]
    with pytest.raises(ValueError, match="no file matches"):
        expand([str(tmp_path / "*.tif")])
    with pytest.raises(ValueError, match="would both be written"):
        plan([a / "x.png", b / "x.png"], tmp_path / "out", None)
    with pytest.raises(ValueError, match="overwritten"):
        plan([a / "x.png"], a, None)
    assert plan([a / "x.png"], tmp_path, ".jpg") == [(a / "x.png", tmp_path / "x.jpg")]
    assert plan([tmp_path / "y.webp"], tmp_path / "o", None)[0][1].suffix == ".png"
    assert is_batch(["one.png"], "out/") and is_batch([str(a)], "o.png") and not is_batch(["one.png"], "o.png")


def test_quality_reaches_every_jpeg_output(tmp_path: Path) -> None:
    from gencor.cli.options import JPEG_QUALITY
    from gencor.io import JPEG_QUALITY as IO_QUALITY

    assert JPEG_QUALITY == IO_QUALITY
    photo = _photos(tmp_path / "in", n=1, bad=False)[0]
    sizes = {}
    for q in (30, 95):
        assert main(["smooth", str(photo), "-o", str(tmp_path / f"q{q}.jpg"), "--quality", str(q), "--quiet"]) == 0
        assert main(["sketch", str(tmp_path / "in"), "-o", str(tmp_path / f"b{q}"), "--format", "jpg", "--quality", str(q), "--quiet"]) == 0
        sizes[q] = ((tmp_path / f"q{q}.jpg").stat().st_size, (tmp_path / f"b{q}" / "photo0.jpg").stat().st_size)
    assert sizes[30][0] < sizes[95][0] and sizes[30][1] < sizes[95][1]
    with pytest.raises(SystemExit):
        main(["smooth", str(photo), "-o", str(tmp_path / "x.jpg"), "--quality", "101"])


def test_version_and_exit_statuses_are_documented(capsys: pytest.CaptureFixture[str]) -> None:
    import gencor

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"gencor {gencor.__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "1 some photos of a batch failed" in capsys.readouterr().out.replace("\n", " ").replace("  ", " ")


def test_hostile_batches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = _photos(tmp_path / "in", n=2, bad=False)
    (tmp_path / "in" / "._photo0.png").write_bytes(b"resource fork")  # hidden: left out
    out = tmp_path / "out"
    # the same photo spelt two ways, a huge --jobs: processed once, at most one worker per photo
    same = [str(photos[0]), str(tmp_path / "in" / ".." / "in" / "photo0.png"), str(photos[1])]
    assert main(["smooth", *same, "-o", f"{out}/", "--jobs", "100000", "--quiet"]) == 0
    assert main(["smooth", str(tmp_path / "in"), "-o", f"{out}/", "--quiet"]) == 0
    assert set(_report(out)) == {"photo0.png", "photo1.png"}
    # --skip-existing: a cut-short output is redone, a whole one keeps its earlier row
    (out / "photo1.png").write_bytes((out / "photo1.png").read_bytes()[:100])
    assert main(["smooth", str(tmp_path / "in"), "-o", f"{out}/", "--skip-existing", "--quiet"]) == 0
    rows = _report(out)
    assert rows["photo0.png"]["status"] == "skipped" and rows["photo0.png"]["width"] == "64"
    assert rows["photo1.png"]["status"] == "ok" and read_image(out / "photo1.png").pixels.shape == (64, 64, 3)
    # usage errors are one line before any work
    assert main(["smooth", str(photos[0]), "-o", ""]) == 2
    (tmp_path / "file").write_text("x")
    assert main(["smooth", *map(str, photos), "-o", str(tmp_path / "file" / "sub")]) == 2
    (tmp_path / "o2" / REPORT).mkdir(parents=True)
    assert main(["smooth", *map(str, photos), "-o", str(tmp_path / "o2")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 3 and all(line.startswith("gencor: error:") for line in err)


@pytest.mark.parametrize(("mode", "delay"), [(["--jobs", "2"], 3.0), (["--dask", "--jobs", "2"], 3.0)], ids=["processes", "dask"])
def test_ctrl_c_stops_the_workers_and_keeps_the_report_true(tmp_path: Path, mode: list[str], delay: float) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(12):
        Image.fromarray(np.round(shapes_image(800, seed=i) * 255).astype(np.uint8)).save(folder / f"p{i}.png")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gencor", "smooth", str(folder), "-o", f"{out}/", *mode, "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # A test suite started in the background (`make test &`, nohup) ignores Ctrl-C, and so would
        # the batch, rightly (nohup's convention): give it the terminal's default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    if "--dask" in mode:
        pytest.importorskip("dask.distributed")
    time.sleep(delay)  # during the start-up or the first photos (12 take well over 3 s)
    os.killpg(proc.pid, signal.SIGINT)
    start = time.perf_counter()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and time.perf_counter() - start < 10
    assert err.strip().splitlines()[-1] == "gencor: interrupted" and "Traceback" not in err, err
    written = sorted(p.name for p in out.iterdir() if p.suffix == ".png")
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert sorted(_report(out)) == written  # every photo written is in the report, and only those


def test_stale_temporaries_are_only_atomic_writes_leftovers(tmp_path: Path) -> None:
    from gencor.io import stale_temporaries

    target = tmp_path / "p0.png"
    for name in (".p0.abcd1234.png", ".p0.png", ".p0.abcd1234.jpg", ".p01.abcd1234.png", "p0.png"):
        (tmp_path / name).write_bytes(b"x")
    assert stale_temporaries(target) == [tmp_path / ".p0.abcd1234.png"]
