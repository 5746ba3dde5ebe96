"""``gencor bench peers`` (issue #30): the harness's table parses, its arguments are checked before
any build, and its scoring is right on a small case with stand-in programs (no peer, no data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy.signal import fftconvolve

from conftest import shapes_image
from gencor.bench.partial import existing_rows
from gencor.bench.peer_cases import PeerCase, odd_extent
from gencor.bench.peer_programs import debug_scales
from gencor.bench.peer_scales import SCALE_COLUMNS, dump_case, scale_summary
from gencor.bench.peers import COLUMNS, Outcome, read_markdown_rows, run_case, summary, write_report
from gencor.cli import main
from gencor.tasks.deconv import deconvolve


def _case(n: int = 96) -> PeerCase:
    sharp = shapes_image(n, seed=3)
    k = np.zeros((9, 9))
    k[4, 1:8] = 1.0  # a 7 px horizontal streak
    k[5, 6:8] = 1.0
    k /= k.sum()
    rng = np.random.default_rng(0)
    blurred = np.clip(fftconvolve(np.pad(sharp, 4, mode="reflect"), k, mode="valid") + 0.005 * rng.standard_normal(sharp.shape), 0, 1)
    return PeerCase("noisy0.01", "shapes", sharp, blurred, k, 0.005)


def _rows() -> list[dict[str, object]]:
    base = {"set": "levin", "kind": "peer", "kernel_extent": 17, "kernel_size": 17, "psnr_blurred": 23.5, "note": ""}
    return [
        {**base, "photo": "levin/im05_flit01", "program": "hn", "chosen_size": 17, "similarity": 0.7081234, "error_ratio": 1.94401,
         "psnr": 28.95912, "gain_db": 5.45912, "seconds": 10.0661},
        {**base, "photo": "levin/im05_flit01", "program": "gencor-auto", "kind": "pipeline", "chosen_size": 13, "similarity": 0.5, "error_ratio": 4.5,
         "psnr": 23.4, "gain_db": -0.1, "seconds": 11.5, "note": "deblurred"},
        {"photo": "levin/im05_flit02", "set": "levin", "program": "hn", "kind": "peer", "note": "failed: the high-noise peer's deblur failed (exit 1): no"},
    ]  # fmt: skip


def test_the_harness_table_parses_back_to_the_same_numbers(tmp_path: Path) -> None:
    rows = _rows()
    md = write_report(tmp_path, "peers", rows, "# header", totals={"levin": 32})
    back = existing_rows(tmp_path, "peers", COLUMNS)
    assert [r["photo"] for r in back] == [r["photo"] for r in rows]
    for got, want in zip(back, rows, strict=True):
        for key, value in want.items():
            assert got[key] == value, key
        assert all(got[c] == "" for c in COLUMNS if c not in want)
    parsed = read_markdown_rows((tmp_path / "peers.md").read_text())
    assert md == (tmp_path / "peers.md").read_text()
    for got, want in zip(parsed, rows, strict=True):
        for key, value in want.items():
            assert got[key] == pytest.approx(value, abs=1e-3) if isinstance(value, float) else got[key] == value, key
    assert "levin 2 of 32" in md
    assert (tmp_path / "peers_er_cdf_levin.png").stat().st_size > 0


def test_the_summary_counts_only_cases_with_numbers() -> None:
    got = {r["program"]: r for r in summary(_rows())}
    assert got["hn"]["cases"] == 1 and got["hn"]["er<=3"] == 1.0 and got["hn"]["median_er"] == pytest.approx(1.94401)
    assert got["gencor-auto"]["er<=3"] == 0.0 and got["gencor-auto"]["median_size/extent"] == pytest.approx(13 / 17)
    assert got["gencor-auto"]["worst_gain_db"] == pytest.approx(-0.1)


def _sources(tmp: Path) -> tuple[Path, Path]:
    ipol, hn = tmp / "ipol", tmp / "hn"
    for f in (ipol / "Makefile", ipol / "src/estimate_kernel.cpp", ipol / "src/deconv.cpp", hn / "kernel-estimation/Makefile",
              hn / "nonblind-deconvolution/CMakeLists.txt", hn / "ffdnet-denoiser/test_ffdnet_ipol.py"):  # fmt: skip
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("")
    return ipol, hn


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--ipol-src", "{tmp}/nowhere", "--hn-src", "{tmp}/hn"], "--ipol-src"),
        (["--ipol-src", "{tmp}/ipol", "--hn-src", "{tmp}/ipol"], "does not hold"),
        (["--ipol-src", "{tmp}/ipol", "--hn-src", "{tmp}/hn", "--sets", "noisy,levin"], "--sets"),
        (["--ipol-src", "{tmp}/ipol", "--hn-src", "{tmp}/hn", "--variants", "gencor,nope"], "--variants"),
        (["--ipol-src", "{tmp}/ipol", "--hn-src", "{tmp}/hn", "--peers", "matlab"], "--peers"),
    ],
)
def test_bad_arguments_are_one_line_errors_before_any_build(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str) -> None:
    _sources(tmp_path)
    build = tmp_path / "build"
    argv = ["bench", "peers", *(a.format(tmp=tmp_path) for a in args), "--build", str(build), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1 and words in err, err
    assert not build.exists() and not (tmp_path / "out").exists()


def test_scoring_with_stand_in_programs(tmp_path: Path) -> None:
    case = _case()
    assert odd_extent(case.kernel) == (7, 7)

    def fails(y: np.ndarray, size: int, sigma: float) -> Outcome:
        raise ValueError("the peer's estimate-kernel failed (exit 1): boom")

    own = deconvolve(case.blurred, case.kernel, lam=1e-3, method="hyper-laplacian").image
    progs = {
        "truth": ("peer", lambda y, n, s: Outcome(case.kernel, own)),
        "delta": ("estimator", lambda y, n, s: Outcome(np.pad(np.ones((1, 1)), n // 2))),
        "broken": ("peer", fails),
        "zero": ("peer", lambda y, n, s: Outcome(np.zeros((n, n)))),  # a kernel no deconvolution takes
    }
    rows, outcomes = run_case(case, progs)
    got = {r["program"]: r for r in rows}
    assert got["truth"]["similarity"] == pytest.approx(1.0) and got["truth"]["error_ratio"] == pytest.approx(1.0)
    assert got["truth"]["gain_db"] > 1.0  # its own output, the true kernel's deconvolution
    assert got["delta"]["error_ratio"] > 1.5 and got["delta"]["similarity"] < 0.7
    assert got["delta"]["chosen_size"] == 7 and got["delta"]["kernel_size"] == 7
    # An estimator's output is gencor's deconvolution of its kernel: a delta changes little.
    assert abs(got["delta"]["gain_db"]) < got["truth"]["gain_db"]
    assert got["broken"]["note"].startswith("failed: ") and "error_ratio" not in got["broken"]
    assert got["zero"]["note"].startswith("failed: ") and "error_ratio" not in got["zero"]
    assert set(outcomes) == {"truth", "delta"}


def test_per_scale_dumps_find_where_the_kernels_part(tmp_path: Path) -> None:
    case = _case()
    k7 = case.kernel[1:8, 1:8]
    wide = np.zeros((7, 7))
    wide[:, 3] = 1 / 7  # vertical: far from the horizontal streak
    peer = [np.full((3, 3), 1 / 9), np.pad(np.full((3, 3), 1 / 9), 1), k7]
    gencor = [np.full((3, 3), 1 / 9), np.pad(np.full((3, 3), 1 / 9), 1), wide]
    dump_case(tmp_path, case, {"hn": Outcome(k7, scales=peer), "gencor": Outcome(wide, scales=gencor)})
    assert (tmp_path / "noisy0.01_shapes.png").stat().st_size > 0
    table = existing_rows(tmp_path, "noisy0.01_shapes_scales", SCALE_COLUMNS)
    assert [r["scale"] for r in table] == [0, 1, 2] and table[0]["similarity"] == pytest.approx(1.0)
    rows = [{"photo": case.photo, "program": "hn", "similarity": 0.9}, {"photo": case.photo, "program": "gencor", "similarity": 0.3}]
    text = scale_summary(tmp_path, rows)
    line = next(s for s in text.splitlines() if s.startswith("| noisy0.01/shapes |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:8] == ["noisy0.01/shapes", "gencor", "hn", "0.300", "0.900", "3/3", "3", "2 (7/7)"]
    assert cells[9:11] == ["2 (7/7)", "7/7"]  # behind the peer from the last scale on; same support
    assert "gencor against hn: 1 cases" in text


def test_debug_kernels_are_read_per_scale_coarse_to_fine(tmp_path: Path) -> None:
    for i, (size, value) in enumerate([(3, 1.0), (3, 2.0), (5, 1.0), (5, 3.0), (9, 1.0)], start=1):
        k = np.zeros((size, size), np.float32)
        k[size // 2, size // 2] = value
        k[0, 0] = 1.0
        tifffile.imwrite(tmp_path / f"k_{i:03d}.tiff", k)
    got = debug_scales(tmp_path)
    assert [k.shape[0] for k in got] == [3, 5, 9]
    assert got[0][1, 1] == pytest.approx(2 / 3) and got[1][2, 2] == pytest.approx(3 / 4)


def test_a_run_writes_its_table_and_a_partial_run_merges_into_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    import gencor.bench.peers as peers

    photos = tmp_path / "data" / "test" / "Set12"
    photos.mkdir(parents=True)
    for name, seed in (("a", 1), ("b", 2)):
        Image.fromarray(np.uint8(np.round(255 * shapes_image(240, seed=seed)))).save(photos / f"{name}.png")
    monkeypatch.setitem(peers.VARIANTS, "delta", peers.Variant("estimator", lambda y, n, s: np.pad(np.ones((1, 1)), n // 2), "a stand-in"))
    common = dict(data=tmp_path / "data", names=["delta"], peers=None, scratch=tmp_path / "scratch", header="# h", jobs=1, rolled=1, dump=None, quiet=True)
    out = tmp_path / "out"
    rows = peers.run_peers(sets=["noisy0.01"], out_dir=out, limit=None, only=None, **common)  # type: ignore[arg-type]
    assert [r["photo"] for r in rows] == ["noisy0.01/Set12/a", "noisy0.01/Set12/b"]
    first = existing_rows(out, "peers", COLUMNS)
    again = peers.run_peers(sets=["noisy0.01"], out_dir=out, limit=None, only=["Set12/b"], **common)  # type: ignore[arg-type]
    assert [r["photo"] for r in again] == ["noisy0.01/Set12/b"]
    merged = existing_rows(out, "peers", COLUMNS)
    assert [r["photo"] for r in merged] == [r["photo"] for r in first] and merged[0] == first[0]
    peers.run_peers(sets=["noisy0.01"], out_dir=out, limit=1, only=None, **common)  # type: ignore[arg-type]
    assert len(existing_rows(out, "peers_first1", COLUMNS)) == 1 and existing_rows(out, "peers", COLUMNS) == merged
    assert "noisy0.01 2 of 2" in (out / "peers.md").read_text()


def test_a_rerun_of_fewer_programs_keeps_the_other_programs_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    import gencor.bench.peers as peers

    photos = tmp_path / "data" / "test" / "Set12"
    photos.mkdir(parents=True)
    for name, seed in (("a", 1), ("b", 2)):
        Image.fromarray(np.uint8(np.round(255 * shapes_image(240, seed=seed)))).save(photos / f"{name}.png")
    delta = peers.Variant("estimator", lambda y, n, s: np.pad(np.ones((1, 1)), n // 2), "a delta")
    box = peers.Variant("estimator", lambda y, n, s: np.full((n, n), 1.0 / n**2), "a box")
    plotted: list[dict[str, np.ndarray]] = []
    monkeypatch.setattr(peers, "cdf_plot", lambda curves, path, **kw: plotted.append(curves))
    monkeypatch.setitem(peers.VARIANTS, "A", delta)
    monkeypatch.setitem(peers.VARIANTS, "B", delta)
    common = dict(data=tmp_path / "data", sets=["noisy0.01"], peers=None, scratch=tmp_path / "scratch", header="# h", jobs=1, limit=None,
                  only=None, rolled=1, dump=None, quiet=True)  # fmt: skip
    out = tmp_path / "out"
    first = peers.run_peers(out_dir=out, names=["A", "B"], **common)  # type: ignore[arg-type]
    monkeypatch.setitem(peers.VARIANTS, "B", box)  # run 2: only B, which now returns another kernel
    second = peers.run_peers(out_dir=out, names=["B"], **common)  # type: ignore[arg-type]
    assert [(r["photo"], r["program"]) for r in second] == [("noisy0.01/Set12/a", "B"), ("noisy0.01/Set12/b", "B")]
    table = existing_rows(out, "peers", COLUMNS)
    assert [(r["photo"], r["program"]) for r in table] == [(p, q) for p in ("noisy0.01/Set12/a", "noisy0.01/Set12/b") for q in ("A", "B")]
    want = {**{(r["photo"], "A"): r for r in first if r["program"] == "A"}, **{(r["photo"], "B"): r for r in second}}
    for row in table:
        ref = want[(row["photo"], row["program"])]
        assert row["similarity"] == pytest.approx(ref["similarity"]) and row["error_ratio"] == pytest.approx(ref["error_ratio"])
    old_b = [r["similarity"] for r in first if r["program"] == "B"]
    assert all(abs(r["similarity"] - s) > 0.05 for r, s in zip(second, old_b, strict=True))  # B's rows really changed
    # The summary and the CDF plot are recomputed from the merged rows: A's from run 1, B's from run 2.
    cells = {line.split("|")[2].strip(): line.split("|") for line in (out / "peers.md").read_text().splitlines() if line.startswith("| noisy0.01 |")}
    for program, rows in (("A", [r for r in first if r["program"] == "A"]), ("B", second)):
        assert float(cells[program][5]) == pytest.approx(np.mean([r["similarity"] for r in rows]), abs=1e-3)
        assert int(cells[program][4]) == 2
        np.testing.assert_allclose(plotted[-1][program], [r["error_ratio"] for r in rows])


def test_speed_bench_times_the_peer_with_stand_in_programs(tmp_path: Path) -> None:
    """``gencor bench speed --ipol-src``: the peer's two programs run in turn, single-threaded, on
    the photo as PNG; a failing program is a one-line error naming the photo."""
    from PIL import Image

    from gencor.bench.speed import time_peer

    log = tmp_path / "calls.txt"
    estimate, deconv = tmp_path / "estimate-kernel", tmp_path / "deconv"
    estimate.write_text(f'#!/bin/sh\necho "estimate $1 $OMP_NUM_THREADS" >> {log}\ncp "$2" "$3"\n')
    deconv.write_text(f'#!/bin/sh\necho "deconv" >> {log}\ncp "$1" "$3"\n')
    for program in (estimate, deconv):
        program.chmod(0o755)
    photo = tmp_path / "photo.jpg"
    Image.fromarray((255 * shapes_image(32)).astype(np.uint8)).save(photo)
    seconds = time_peer((estimate, deconv), photo, repeats=2, size=31)
    assert seconds > 0
    assert log.read_text().split("\n")[:-1] == ["estimate 31 1", "deconv"] * 2
    deconv.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    with pytest.raises(RuntimeError, match=r"photo\.jpg \(3\): broken"):
        time_peer((estimate, deconv), photo, repeats=1)
